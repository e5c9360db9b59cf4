"""The stream of transform none / step 1 / k 0 / no runs on int8 is exactly
the se(v) codewords in raster order, read by an independent implementation
(the bitstring package)."""
import bitstring
import numpy as np
import torch

import golden
from golden import tiling


def test_raw_stream_is_se_codewords(tmp_path):
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, (3, 16, 24)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    from golden.__main__ import main
    assert main(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.raw"),
                 "--transform", "none", "--qstep", "1", "--k", "0", "--no-runs", "--raw",
                 "--align", "1", "--tile-blocks", "65535"]) == 0
    raw = (tmp_path / "x.raw").read_bytes()
    s = bitstring.ConstBitStream(raw)
    blocks = tiling.to_blocks(torch.from_numpy(x))  # raster order within each block
    got = [s.read("se") for _ in range(blocks.numel())]
    assert got == blocks.reshape(-1).tolist()
    assert len(raw) * 8 - s.pos < 8           # only the final byte's padding is left
    assert not s.read(len(raw) * 8 - s.pos).any(1)


def test_ue_for_uint8_none():
    x = torch.tensor(np.random.default_rng(8).integers(0, 256, (1, 8, 8)).astype(np.uint8))
    cfg = golden.Config(transform="none", qtable=1, ktable=0, adaptive=False, runs=False,
                        align=1)
    s = bitstring.ConstBitStream(golden.encode(x, cfg).payload)
    assert [s.read("ue") for _ in range(64)] == x.reshape(-1).tolist()
