"""hw.predict.Predictor (behind hw.tiling.Tiler) against golden.predict."""

import pytest
from amaranth import Module

from golden import Config
from hw.predict import Predictor
from hw.tiling import Tiler
from hw.bench import value_items
from hw.testbench import For, Ice40, level_items, stream_through


def predict(x, config, dtype, gaps=0.0, stalls=0.0, lossy=True, platform=None):
    m = Module()
    m.submodules.tiler = tiler = Tiler(dtype, config.tile_blocks)
    m.submodules.pred = pred = Predictor(dtype, config.rounding, config.qtable, lossy)
    from amaranth.lib import wiring
    wiring.connect(m, tiler.o, pred.i)
    items = value_items(x)
    dut = m if platform is None else For(m, platform)
    return stream_through(dut, tiler.i, items, pred.o, len(items), gaps, stalls, 0,
                          deadline=10 * len(items) + 100)


@pytest.mark.parametrize("step, lossy", [(1, True), (3, True), (8, True), (1, False)],
                         ids=["step1", "step3", "step8", "lossless-build"])
def test_real_tensor(real_acts, step, lossy):
    """Levels, context orders and framing on a real ReLU6 map; only the
    positions inside the tensor are compared (the padding is not coded).
    The lossless-only build is the five-stage pipeline."""
    config = Config(qtable=step, rounding=8 if step != 8 else 5)
    x = real_acts["b10.dw"][:3, :11, :11]
    got = predict(x, config, "uint8", gaps=0.2, stalls=0.2, lossy=lossy)
    # the run mode's flags only where it can be on (lossless)
    check(got, level_items(x, config), ("value", "k") + (("flat", "same") if step == 1 else ()))


def check(got, want, fields):
    """Framing of every item, and ``fields`` of the items inside the tensor."""
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g["present"], g["last"], g["index"]) == (w["present"], w["last"], w["index"])
        if w["present"]:
            assert [g[f] for f in fields] == [w[f] for f in fields], (g, w)


def test_int8_extremes():
    """Signed input at the range ends, lossy: the clamp of the
    reconstruction matters."""
    import torch
    x = torch.tensor([-128, 127] * 32, dtype=torch.int8).reshape(1, 8, 8)
    x[0, ::2] = x[0, ::2].flip(-1)
    config = Config(qtable=7)
    got = predict(x, config, "int8")
    want = level_items(x, config)
    assert [(g["value"], g["k"]) for g in got] == [(w["value"], w["k"]) for w in want]


@pytest.mark.parametrize("dtype, tap", [("uint8", "b10.dw"), ("int8", "b3.out")])
def test_lossless_build_ice40(real_acts, dtype, tap):
    """The iCE40's lossless-only build (fewer registers: the neighbours,
    the prediction and the level in two stages) gives the same levels."""
    x = real_acts[tap][:2, :9, :13]
    config = Config()
    got = predict(x, config, dtype, gaps=0.3, stalls=0.3, lossy=False, platform=Ice40())
    check(got, level_items(x, config), ("value", "k", "flat", "same"))


def test_lossless_build_int8(real_acts):
    """The pipelined lossless-only build on signed values: a block output
    of the real network (int8 at its own scale), with the range ends
    planted."""
    import torch
    x = real_acts["b3.out"][:2, :9, :13].clone()
    x[0, 0, :4] = torch.tensor([-128, 127, -128, 127], dtype=torch.int8)
    config = Config()
    got = predict(x, config, "int8", gaps=0.3, stalls=0.3, lossy=False)
    check(got, level_items(x, config), ("value", "k", "flat", "same"))
