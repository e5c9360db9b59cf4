"""The golden codec on real activations of the pretrained network."""
import pytest
import torch

import golden
from golden import codec

MODES = [golden.Config(transform=t, runs=r, adaptive=a)
         for t in ("none", "dct1d", "dct2d") for r in (False, True) for a in (False, True)]
MODES += [golden.Config(transform="pred", adaptive=a, runs=r) for a in (False, True)
          for r in (False, True)]


@pytest.mark.parametrize("cfg", MODES, ids=lambda c: f"{c.transform}-runs{int(c.runs)}-ad{int(c.adaptive)}")
def test_lossless_and_fast_length_on_real_tensors(real_acts, cfg):
    for name, x in real_acts.items():
        enc = golden.encode(x, cfg)
        data = enc.container()
        assert torch.equal(golden.decode(data), x), name
        assert golden.stream_bits(x, cfg) == 8 * len(data), name


def test_lossy_real_tensor_matches_fast_path(real_acts):
    cfg = golden.Config(transform="dct2d", qtable=tuple(2 + (p // 8 + p % 8) for p in range(64)),
                        rounding=6, runs=True)
    for name, x in real_acts.items():
        y = golden.decode(golden.encode(x, cfg).container())
        assert torch.equal(y, codec.reconstruct(x, cfg)), name


def test_pred_near_lossless_error_on_real_tensors(real_acts):
    cfg = golden.Config(transform="pred", qtable=3)
    for name, x in real_acts.items():
        y = golden.decode(golden.encode(x, cfg).container())
        assert torch.equal(y, codec.reconstruct(x, cfg)), name
        assert (y.int() - x.int()).abs().max() <= 1, name


def test_real_tensor_is_real(real_acts):
    # the fixture really comes from the network: ReLU6 maps have zeros and
    # saturated values, the block output is signed
    x = real_acts["b1.expand"]
    assert x.shape == (96, 112, 112) and x.dtype == torch.uint8
    assert (x == 0).any() and (x == 255).any()
    assert real_acts["b3.out"].min() < 0 < real_acts["b3.out"].max()
