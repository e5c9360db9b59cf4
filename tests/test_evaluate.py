"""The rate/accuracy evaluation: exact rates and metrics against their
definitions, and the eval command end to end on a few inputs."""
import json
import math

import torch

import golden
from golden import evaluate as E


def test_baselines_by_definition():
    q = torch.tensor([[[0, 0, 1, 2], [3, 0, 255, 0]]], dtype=torch.uint8)
    b = E.baseline_bits(q)
    assert b["raw 8-bit"] == 64
    assert b["zero-value compression"] == 8 + 8 * 4
    # ue(v) lengths of 0,0,1,2,3,0,255,0: 1,1,3,3,5,1,17,1
    assert b["exp-Golomb k=0"] == 32
    # zeros 1 bit; non-zeros 1 + EG4(v - 1): v-1 = 0,1,2 -> 5 bits, 254 -> 13 bits
    assert b["sparse exp-Golomb"] == 4 + 3 * 6 + 14
    p = torch.tensor([4, 1, 1, 1, 1]) / 8
    assert math.isclose(b["entropy of 8-bit values"], float(-(p * p.log2()).sum() * 8))
    s = torch.tensor([[[-1, 0], [2, -128]]], dtype=torch.int8)
    # se(v) of -1, 0, 2, -128: 2, 0, 3, 256 -> lengths 3, 1, 5, 17
    assert E.baseline_bits(s)["exp-Golomb k=0"] == 26


def test_fmcodec_method_counts_one_stream_per_image():
    g = torch.Generator().manual_seed(3)
    q = torch.randint(0, 40, (3, 5, 12, 20), generator=g).to(torch.uint8)
    for cfg in (golden.Config(), golden.Config(transform="pred", qtable=3),
                golden.Config(transform="none", runs=True, adaptive=False, qtable=2),
                # 15 blocks per image, tiles of 4: the adaptive state restarts per image
                golden.Config(transform="dct2d", runs=True, adaptive=True, tile_blocks=4),
                golden.Config(transform="dct1d", runs=False, adaptive=True, tile_blocks=7)):
        recon, st = E.Fmcodec(cfg).code("t", "relu6", q)
        assert st["bits"] == sum(8 * len(golden.encode(q[i], cfg).container()) for i in range(3))
        assert torch.equal(recon, golden.reconstruct(q, cfg))


def test_agreement_metrics():
    ref = torch.tensor([[3.0, 1.0, 0.0, 0, 0, 0], [0.0, 2.0, 1.0, 0, 0, 0]])
    out = torch.tensor([[3.0, 1.0, 0.0, 0, 0, 0], [0.0, 1.0, 2.0, 0, 0, 0]])
    m = E.agreement(ref, out)
    assert m["top1_agreement"] == 0.5 and m["top5_agreement"] == 1.0
    assert E.agreement(ref, ref)["kl_mean"] == 0.0
    assert m["kl_mean"] > 0


def test_eval_command_report(tmp_path):
    from golden.__main__ import main
    path = tmp_path / "r.json"
    assert main(["eval", "--inputs", "2", "--json", str(path), "--plot", str(tmp_path / "r.png"),
                 "--transform", "pred", "--k", "adaptive", "--quiet", "--pca-step", "8"]) == 0
    r = json.loads(path.read_text())
    for key in ("config", "n_inputs", "bits_per_value", "compression_ratio", "top1_agreement",
                "top5_agreement", "kl_mean", "layers", "baselines"):
        assert key in r
    assert r["n_inputs"] == 2 and r["top1_agreement"] == 1.0 and r["kl_mean"] == 0.0
    assert len(r["layers"]) == 49
    assert {"name", "shape", "bits_per_value", "psnr_db"} <= set(r["layers"][0])
    assert r["layers"][0]["psnr_db"] is None  # lossless
    assert math.isclose(r["compression_ratio"], 8 / r["bits_per_value"])
    assert r["baselines"]["raw 8-bit"]["bits_per_value"] == 8.0
    assert "top1_agreement" in r["baselines"]["pca step 8.0"]
    assert (tmp_path / "r.png").stat().st_size > 10000
