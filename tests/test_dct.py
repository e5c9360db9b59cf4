import math

import pytest
import torch

from golden import dct


def dct_matrix():
    c = torch.zeros(8, 8, dtype=torch.float64)
    for k in range(8):
        for n in range(8):
            c[k, n] = math.cos(math.pi * (2 * n + 1) * k / 16) * (math.sqrt(1 / 8) if k == 0 else 0.5)
    return c


def test_program_is_multiplierless_dyadic():
    for op in dct.PROGRAM:
        assert op[0] in ("sb", "lift", "neg")
        if op[0] == "lift":
            assert -256 < op[3] < 256  # P / 256 with |P/256| < 1
    assert sorted(dct.OUTPUT_REG) == list(range(8))


def test_scaled_dct_ii():
    # the transform is linear up to rounding: check it on large impulses
    big = 1 << 12
    x = (torch.eye(8, dtype=torch.int32) * big)
    X = dct.forward_1d(x).double() / big  # row n = response to impulse n
    want = torch.tensor(dct.GAINS, dtype=torch.float64)[:, None] * dct_matrix()
    assert (X.T - want).abs().max() < 0.003
    assert math.isclose(math.prod(dct.GAINS), 1.0)


@pytest.mark.parametrize("transform", ["dct1d", "dct2d"])
@pytest.mark.parametrize("lo,hi", [(-128, 128), (0, 256)])
def test_exactly_invertible(transform, lo, hi):
    g = torch.Generator().manual_seed(1)
    x = torch.randint(lo, hi, (20000, 8, 8), generator=g, dtype=torch.int32)
    x[:8] = lo
    x[8:16] = hi - 1
    X = dct.forward(x, transform)
    assert torch.equal(dct.inverse(X, transform), x)


def test_dc_is_block_mean_floor():
    x = torch.randint(0, 256, (1000, 8), dtype=torch.int32)
    X = dct.forward_1d(x)
    # three levels of floor((a+b)/2), each losing less than 1/2 at its level
    d = X[:, 0].double() - x.double().mean(1)
    assert (d <= 0).all() and (d > -1.75).all()


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("transform", ["dct1d", "dct2d"])
def test_bounds_hold(transform, dtype):
    lo, hi = dct.input_range(dtype)
    blo, bhi, _ = dct.coefficient_bounds(transform, dtype)
    blo, bhi = torch.tensor(blo), torch.tensor(bhi)
    g = torch.Generator().manual_seed(2)
    # extreme blocks (every pixel at an end of the range) reach the bounds
    x = torch.where(torch.rand(50000, 8, 8, generator=g) < 0.5, lo, hi).to(torch.int32)
    X = dct.forward(x, transform)
    assert (X >= blo).all() and (X <= bhi).all()
    w = dct.widths(transform, dtype)["coef"]
    assert X.abs().max() > (1 << (w - 2)), "width is not tight"


def test_documented_widths():
    # docs/format.md states these widths
    assert dct.widths("dct1d", "uint8") == {"coef": 11, "forward_peak": 11, "inverse_peak": 13}
    assert dct.widths("dct2d", "int8") == {"coef": 13, "forward_peak": 13, "inverse_peak": 17}
    assert dct.widths("none", "int8")["coef"] == 8


def test_inverse_of_saturated_coefficients_fits_inverse_peak():
    w = dct.widths("dct2d", "int8")
    c = 1 << (w["coef"] - 1)
    g = torch.Generator().manual_seed(3)
    X = torch.where(torch.rand(20000, 8, 8, generator=g) < 0.5, -c, c - 1).to(torch.int32)
    y = dct.inverse(X, "dct2d")
    assert y.abs().max() < (1 << (w["inverse_peak"] - 1))
