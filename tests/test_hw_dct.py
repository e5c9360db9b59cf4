"""hw.dct against golden.dct: the serial forward transform and the comb
inverse."""

import pytest
import torch
from amaranth import Module, Signal, signed
from amaranth.sim import Simulator

from golden import dct
from hw.dct import Transform1D, csd, transform_1d
from hw.testbench import stream_through


def test_csd_digits_sum_to_the_constant():
    for op in dct.PROGRAM:
        if op[0] == "lift":
            p = op[3]
            assert sum(d << s for d, s in csd(p)) == p
            shifts = [s for _, s in csd(p)]
            assert all(b - a >= 2 for a, b in zip(shifts, shifts[1:]))


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_forward_rows_with_stalls(dtype):
    lo, hi = dct.input_range(dtype)
    g = torch.Generator().manual_seed(3)
    x = torch.randint(lo, hi + 1, (30, 8), generator=g)
    x[0], x[1] = lo, hi
    x[2, ::2], x[2, 1::2] = lo, hi
    width = dct.widths("dct2d", dtype)["forward_peak"]
    dut = Transform1D(9 if dtype == "uint8" else 8, width)
    items = [{"value": v, "present": 1, "first": int(j % 16 == 0), "last": int(j % 16 == 15)}
             for j, v in enumerate(x.reshape(-1).tolist())]
    out = stream_through(dut, dut.i, items, dut.o, len(items), 0.3, 0.3, 0,
                         deadline=20 * len(items))
    assert [o["value"] for o in out] == dct.forward_1d(x).reshape(-1).tolist()
    assert [o["first"] for o in out] == [it["first"] for it in items]
    assert [o["last"] for o in out] == [it["last"] for it in items]


def test_inverse_is_the_golden_inverse():
    """The comb inverse (for the decompressor) on saturated coefficients of
    the widest mode, and on the forward transform of random rows."""
    width = dct.widths("dct2d", "int8")
    cw, peak = width["coef"], width["inverse_peak"]
    m = Module()
    coefs = [Signal(signed(cw), name=f"c{k}") for k in range(8)]
    outs = transform_1d(m, coefs, peak, inverse=True)
    g = torch.Generator().manual_seed(5)
    lim = 1 << (cw - 1)
    X = torch.randint(-lim, lim, (40, 8), generator=g)
    X[0], X[1] = -lim, lim - 1
    X[2:10] = dct.forward_1d(torch.randint(-128, 128, (8, 8), generator=g))
    want = dct.inverse_1d(X).tolist()
    got = []

    async def bench(ctx):
        for row in X.tolist():
            for s, v in zip(coefs, row):
                ctx.set(s, v)
            await ctx.delay(1e-9)
            got.append([ctx.get(o) for o in outs])

    sim = Simulator(m)  # comb only: no clock
    sim.add_testbench(bench)
    sim.run()
    assert got == want
