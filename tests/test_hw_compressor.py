"""hw.compressor.Compressor against python -m golden encode --raw."""
import pytest
import torch

from golden import Config
from hw.bench import measure
from hw.testbench import compress

CONFIGS = {
    "pred-default": Config(),
    "pred-lossy-step3": Config(qtable=3, tile_blocks=3),
    "pred-k2": Config(runs=False, adaptive=False, ktable=2, tile_blocks=2),
    "pred-values": Config(runs=False, tile_blocks=3),
    "pred-runs-k1": Config(runs=True, adaptive=False, ktable=1, tile_blocks=2),
    "none-adaptive": Config(transform="none", adaptive=True, tile_blocks=2),
    "none-step5": Config(transform="none", qtable=5, rounding=4, adaptive=False, ktable=1),
    "none-zigzag": Config(transform="none", scan="zigzag", adaptive=False),
    "dct1d-step2": Config(transform="dct1d", qtable=2, adaptive=True, tile_blocks=3),
    "dct1d-column-runs": Config(transform="dct1d", scan="column", qtable=3, runs=True,
                                krun=1, adaptive=False, ktable=1),
    "dct2d-lossless": Config(transform="dct2d", adaptive=True, tile_blocks=2),
    "dct2d-runs": Config(transform="dct2d", qtable=6, rounding=5, runs=True, adaptive=True,
                         krun=2, tile_blocks=3),
}


def random_tensor(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    if dtype == "int8":
        return torch.randint(-128, 128, shape, generator=g).to(torch.int8)
    smooth = torch.randint(0, 256, shape, generator=g) * (torch.rand(shape, generator=g) < 0.5)
    return smooth.to(torch.uint8)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_random_with_stalls(name, dtype):
    """Every mode and both element types, random gaps and back-pressure."""
    x = random_tensor(dtype, (2, 9, 12), len(name))
    words, lengths, want_words, want_lengths, _ = compress(
        x, CONFIGS[name], dtype, gaps=0.2, stalls=0.2)
    assert lengths == want_lengths
    assert words == want_words


@pytest.mark.parametrize("tap,name,word_width", [
    ("b1.expand", "pred-default", 32), ("b1.expand", "pred-default", 64),
    ("b10.dw", "dct2d-runs", 32), ("b3.out", "pred-lossy-step3", 32),
])
def test_real_tensor(real_acts, tap, name, word_width):
    """Real EfficientNet-Lite0 activations (a dense and a sparse ReLU6 map,
    a signed block output)."""
    x = real_acts[tap][:2, :24, :24]
    dtype = "int8" if x.dtype == torch.int8 else "uint8"
    words, lengths, want_words, want_lengths, _ = compress(x, CONFIGS[name], dtype, word_width)
    assert lengths == want_lengths
    assert words == want_words


@pytest.mark.parametrize("name", ["pred-default", "pred-k2", "none-zigzag", "dct2d-lossless"])
def test_lossless_only_build(name):
    """Without the step table the streams are the same as with a table of
    ones."""
    x = random_tensor("int8", (2, 9, 12), 7)
    words, lengths, want_words, want_lengths, _ = compress(
        x, CONFIGS[name], "int8", gaps=0.2, stalls=0.2, lossy=False)
    assert (words, lengths) == (want_words, want_lengths)


def test_lossless_only_needs_a_lossless_table():
    from hw.compressor import Compressor
    with pytest.raises(ValueError, match="table of ones"):
        Compressor(Config(qtable=2), lossy=False)


def worst_case_inputs():
    g = torch.Generator().manual_seed(9)
    noise = torch.randint(-128, 128, (3, 16, 16), generator=g).to(torch.int8)
    checker = torch.full((3, 16, 16), 127, dtype=torch.int8)
    checker[:, ::2, 1::2] = -128
    checker[:, 1::2, ::2] = -128
    zeros = torch.zeros(3, 16, 16, dtype=torch.int8)
    return {"noise": noise, "checker": checker, "zeros": zeros}


@pytest.mark.parametrize("config,word_width", [
    (Config(), 32),                   # default (pred's runs: waits on the next level), 19 bits
    (Config(runs=False), 32),                                          # pred's value mode
    (Config(transform="none", runs=True, adaptive=False), 32),         # long zero runs
    (Config(transform="dct2d", runs=True, adaptive=True, krun=0), 64),  # 40-bit items
])
def test_one_value_per_clock(config, word_width):
    """No gaps, no back-pressure: every value is taken on consecutive
    cycles, including the longest codewords and all-zero blocks."""
    for name, x in worst_case_inputs().items():
        r = measure(x, config, "int8", word_width)
        assert r["cycles"] == r["values"], (name, r)


@pytest.mark.parametrize("config", [Config(runs=False), Config(),
                                    Config(transform="dct2d", runs=True, qtable=4)],
                         ids=["pred-values", "pred-runs", "dct2d-runs"])
def test_reset_mid_tile(config):
    """A synchronous reset in the middle of a tile returns every block to
    idle: the next tensor's stream is exact."""
    from amaranth import ClockDomain, Module
    from hw.compressor import Compressor
    from golden import codec
    from hw.bench import payload_words, value_items
    from hw.testbench import receive, run, send
    x = random_tensor("uint8", (1, 16, 16), 4)
    junk = random_tensor("uint8", (1, 16, 16), 5)
    want = payload_words(codec.encode(x, config).payload, 32)
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut = Compressor(config, "uint8", 32)
    got = {}

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.lengths.ready, 1)
        await send(ctx, dut.i, value_items(junk)[:100])  # 1.5 blocks, words in flight
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)
        ctx.set(dut.o.ready, 0)
        ctx.set(dut.lengths.ready, 0)
        await ctx.tick()
        assert not ctx.get(dut.o.valid)
        assert not ctx.get(dut.lengths.valid)
        got["reset"] = True
        await send(ctx, dut.i, value_items(x))

    async def sink(ctx):
        while "reset" not in got:  # words of the junk are not checked
            await ctx.delay(1e-9)
        ctx.set(dut.lengths.ready, 1)
        got["words"] = await receive(ctx, dut.o, len(want))

    run(m, bench, sink, deadline=5000)
    assert got["words"] == want
