"""hw.predict.Predictor (behind hw.tiling.Tiler) against golden.predict."""

import pytest
from amaranth import Module

from golden import Config
from hw.predict import Predictor
from hw.tiling import Tiler
from hw.bench import value_items
from hw.testbench import level_items, stream_through


def predict(x, config, dtype, gaps=0.0, stalls=0.0):
    m = Module()
    m.submodules.tiler = tiler = Tiler(dtype, config.tile_blocks)
    m.submodules.pred = pred = Predictor(dtype, config.rounding, config.qtable)
    from amaranth.lib import wiring
    wiring.connect(m, tiler.o, pred.i)
    items = value_items(x)
    return stream_through(m, tiler.i, items, pred.o, len(items), gaps, stalls, 0,
                          deadline=10 * len(items) + 100)


@pytest.mark.parametrize("step", [1, 3, 8])
def test_real_tensor(real_acts, step):
    """Levels, context orders and framing on a real ReLU6 map; only the
    positions inside the tensor are compared (the padding is not coded)."""
    config = Config(qtable=step, rounding=8 if step != 8 else 5)
    x = real_acts["b10.dw"][:3, :11, :11]
    got = predict(x, config, "uint8", gaps=0.2, stalls=0.2)
    want = level_items(x, config)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g["present"], g["last"], g["index"]) == (w["present"], w["last"], w["index"])
        if w["present"]:
            assert (g["value"], g["k"]) == (w["value"], w["k"]), (g, w)
            if step == 1:  # the run mode's flags (lossless only)
                assert (g["flat"], g["same"]) == (w["flat"], w["same"]), (g, w)


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
