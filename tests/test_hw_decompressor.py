"""hw.decompressor.Decompressor against the golden reconstruction."""
import random

import pytest
import torch

from golden import Config, FormatError, codec
from hw.bench import (expected_values, measure_decompressor, payload_words, same_values,
                      shape_item, value_items)
from hw.testbench import corrupt, decompress, loop, receive, run, send, write_table
from test_hw_compressor import CONFIGS, random_tensor, worst_case_inputs


def stream(x, config, word_width=32):
    enc = codec.encode(x, config.replace(align=word_width // 8))
    return enc, payload_words(enc.payload, word_width), list(enc.tile_lengths)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("dtype", ["uint8", "int8"])
def test_random_with_stalls(name, dtype):
    """Every mode and both element types, random gaps on words and lengths
    and random back-pressure: the golden reconstruction, exactly. uint8
    goes through the whole-tensor build (the decoder walks the tiles),
    int8 through the TileWalker's."""
    x = random_tensor(dtype, (2, 11, 13), len(name))
    _, words, lengths = stream(x, CONFIGS[name])
    got, errors, _ = decompress(words, lengths, x, CONFIGS[name], dtype, gaps=0.2, stalls=0.2,
                                ranges=dtype == "int8")
    assert errors == []
    assert same_values(got, expected_values(x, CONFIGS[name])) is None


@pytest.mark.parametrize("tap,name,word_width", [
    ("b1.expand", "pred-default", 32), ("b1.expand", "pred-default", 64),
    ("b10.dw", "dct2d-runs", 64), ("b3.out", "pred-lossy-step3", 32),
    ("b3.out", "dct1d-column-runs", 32),
])
def test_real_tensor(real_acts, tap, name, word_width):
    """Real EfficientNet-Lite0 activations (dense and sparse ReLU6 maps, a
    signed block output), cropped to 2 x 21 x 19 so blocks are partial."""
    x = real_acts[tap][:2, :21, :19].contiguous()
    dtype = "int8" if x.dtype == torch.int8 else "uint8"
    _, words, lengths = stream(x, CONFIGS[name], word_width)
    got, errors, _ = decompress(words, lengths, x, CONFIGS[name], dtype, word_width,
                                gaps=0.1, stalls=0.1)
    assert errors == []
    assert same_values(got, expected_values(x, CONFIGS[name])) is None


@pytest.mark.parametrize("name", ["pred-default", "pred-k2", "none-zigzag", "dct2d-lossless"])
def test_lossless_only_build(name):
    x = random_tensor("int8", (2, 9, 12), 7)
    _, words, lengths = stream(x, CONFIGS[name])
    got, errors, _ = decompress(words, lengths, x, CONFIGS[name], "int8", gaps=0.2,
                                stalls=0.2, lossy=False)
    assert errors == []
    assert same_values(got, expected_values(x, CONFIGS[name])) is None


@pytest.mark.parametrize("config", [
    Config(runs=False, tile_blocks=1),
    Config(transform="none", adaptive=True, tile_blocks=2),
    Config(transform="dct2d", runs=True, adaptive=True, krun=0, tile_blocks=1),
    Config(runs=True, tile_blocks=1),
], ids=["pred-values", "none", "dct2d-runs", "pred-runs"])
@pytest.mark.parametrize("word_width", [32, 64])
def test_one_value_per_clock(config, word_width):
    """Words and lengths always offered, no back-pressure: values leave on
    consecutive cycles, across tile boundaries (one or two blocks per
    tile), on noise, the +127/-128 checkerboard (longest codewords) and
    zeros; the whole-tensor build on 32-bit words, the TileWalker's on 64."""
    for name, x in worst_case_inputs().items():
        r = measure_decompressor(x, config, "int8", word_width, ranges=word_width == 64)
        assert r["cycles"] == r["values"], (name, r)


def test_compressor_decompressor_loop():
    """The Compressor's words and lengths into the Decompressor, lossless
    with step 1, back-pressure at the end: the input comes back. The
    decompressor needs a tile's length before its words and the compressor
    gives it after them, so the words pass through a FIFO that holds a
    tile (as DRAM does in the real system)."""
    g = torch.Generator().manual_seed(3)
    x = torch.randint(0, 256, (3, 13, 10), generator=g).to(torch.uint8)
    items, out = loop(x, Config(tile_blocks=2), 1, deadline=20 * len(value_items(x)))
    assert out == items


@pytest.mark.parametrize("name", ["pred-k2", "pred-default", "none-adaptive", "dct2d-runs",
                                  "dct1d-step2"])
@pytest.mark.parametrize("how", ["flip", "truncate", "pad", "garbage"])
def test_corrupt_tile(name, how):
    """A damaged tile raises the error flag with its number (or, for a bit
    flip that still decodes, gives values the testbench sees differ); the
    other tiles, the next one included, are exact; the output keeps its
    size and the run ends within a cycle bound (no hang)."""
    config = CONFIGS[name].replace(tile_blocks=1)
    x = random_tensor("uint8", (1, 16, 24), 11)   # 6 blocks, 6 tiles
    want = expected_values(x, config)
    _, words, lengths = stream(x, config)
    _, _, clean_cycles = decompress(words, lengths, x, config, "uint8")
    for trial in range(2):
        rng = random.Random(100 * trial + len(how))
        tile = rng.randrange(5)
        bad_words, bad_lengths = corrupt(words, lengths, 32, tile, how, rng)
        got, errors, cycles = decompress(bad_words, bad_lengths, x, config, "uint8")
        assert got is not None and len(got) == len(want), (tile, errors)
        assert cycles <= clean_cycles + 32, (cycles, clean_cycles)
        assert {t for _, t in errors} <= {tile}, (tile, errors)
        span = range(64 * tile, 64 * (tile + 1))
        for i in range(len(want)):
            if i not in span:
                assert same_values(got[i:i + 1], want[i:i + 1]) is None, (tile, i, errors)
        if how != "flip":
            assert errors, (tile, how)
        else:
            assert errors or same_values(got[span.start:span.stop],
                                         want[span.start:span.stop]) is not None
        assert all(1 <= c <= 6 for c, _ in errors)


@pytest.mark.parametrize("name", ["pred-k2", "pred-default", "none-adaptive", "dct2d-runs"])
def test_zero_region_is_too_many_zeros(name):
    """A tile whose region is all zero bits is error 1 (too many leading
    zeros; docs/format.md section 8) for that tile alone: the decoder
    counts zeros over the window's top bits only, as many as a valid
    codeword can start with, and a longer prefix must still fail so, not
    as a wait or as a codeword past the region."""
    config = CONFIGS[name].replace(tile_blocks=1)
    x = random_tensor("uint8", (1, 16, 24), 12)   # 6 blocks, 6 tiles
    want = expected_values(x, config)
    _, words, lengths = stream(x, config)
    tile = 3
    bad_words, bad_lengths = corrupt(words, lengths, 32, tile, "zeros", random.Random(0))
    got, errors, _ = decompress(bad_words, bad_lengths, x, config, "uint8")
    assert errors == [(1, tile)]
    span = range(64 * tile, 64 * (tile + 1))
    keep = [i for i in range(len(want)) if i not in span]
    assert same_values([got[i] for i in keep], [want[i] for i in keep]) is None


def test_pred_run_stopping_outside_the_tensor():
    """pred's run mode: a run whose interrupt would be a padding column is
    error 4 in the hardware as in the golden model (one 8 x 3 block: the
    corner's flat number 3, ``00100``, stops the run at column 3)."""
    config = Config(runs=True, tile_blocks=1, align=4)
    x = torch.zeros(1, 8, 3, dtype=torch.uint8)
    payload = bytes([0b00100000, 0, 0, 0])
    with pytest.raises(FormatError, match="tile 0: run past the end of the block"):
        codec.decode_payload(payload, config, x.shape, "uint8", [0, 4])
    got, errors, _ = decompress(payload_words(payload, 32), [1], x, config, "uint8")
    assert errors == [(4, 0)]
    # number 2 (011) stops it at column 2, inside; the interrupt 1 (its own
    # number 1 at order 0: 010), then a run to the row's end (1) in each
    # of the other seven rows
    y = x.clone()
    y[0, 0, 2] = 1
    payload = bytes([0b01101011, 0b11111000, 0, 0])
    assert torch.equal(codec.decode_payload(payload, config, x.shape, "uint8", [0, 4]), y)
    assert codec.encode(y, config).payload == payload


def _bench_two(config, first, second, between, ranges=True):
    """Decode tensor ``first`` then ``second`` (same shape) through one
    Decompressor with a Module-level reset; ``between(ctx, dut, cd)`` runs
    once ``first``'s words are being decoded (after its first 40 values).
    Returns the values of ``second``."""
    from amaranth import ClockDomain, Module
    from hw.decompressor import Decompressor
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut = Decompressor(config, "uint8", 32, ranges=ranges)
    got = {}

    async def bench(ctx):
        ctx.set(dut.shape.valid, 1)
        ctx.set(dut.shape.payload, shape_item(first[0]))
        ctx.set(dut.words.valid, 1)
        ctx.set(dut.lengths.valid, 1)
        ctx.set(dut.lengths.payload, first[2][0])
        ctx.set(dut.o.ready, 1)
        seen, w = 0, 0
        while seen < 40:  # feed the first tensor's first tile
            ctx.set(dut.words.payload, first[1][w])
            _, _, wr, lr, ov = await ctx.tick().sample(dut.words.ready, dut.lengths.ready,
                                                      dut.o.valid)
            w += wr
            if lr:
                ctx.set(dut.lengths.valid, 0)
            seen += ov
        ctx.set(dut.words.valid, 0)
        await between(ctx, dut, cd)
        got["ready"] = True
        ctx.set(dut.shape.payload, shape_item(second[0]))
        await send(ctx, dut.lengths, second[2])

    async def words_src(ctx):
        while "ready" not in got:
            await ctx.delay(1e-9)
        await send(ctx, dut.words, second[1])

    async def sink(ctx):
        while "ready" not in got:
            await ctx.delay(1e-9)
        got["values"] = await receive(ctx, dut.o, len(value_items(second[0])))

    run(m, bench, words_src, sink, deadline=20000)
    return got.get("values")


@pytest.mark.parametrize("config,ranges", [(Config(tile_blocks=2), True),
                                           (Config(tile_blocks=2), False),
                                           (Config(transform="dct2d", runs=True, qtable=4), True)],
                         ids=["pred", "pred-whole", "dct2d-runs"])
def test_reset_mid_tile(config, ranges):
    """A synchronous reset in the middle of a tile returns every block to
    idle (no value, no error left over); the next tensor is exact (in the
    whole-tensor build, the decoder takes the next shape)."""
    x = random_tensor("uint8", (1, 16, 16), 4)
    junk = random_tensor("uint8", (1, 16, 16), 5)
    _, jw, jl = stream(junk, config)
    _, xw, xl = stream(x, config)

    async def reset(ctx, dut, cd):
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        assert not ctx.get(dut.o.valid)
        assert not ctx.get(dut.error)

    got = _bench_two(config, (junk, jw, jl), (x, xw, xl), reset, ranges)
    assert same_values(got, expected_values(x, config)) is None


@pytest.mark.parametrize("config", [Config(qtable=3), Config(transform="dct2d", qtable=3)],
                         ids=["pred", "dct2d"])
def test_table_change_between_tiles(config):
    """Steps written while a tensor's only tile decodes apply from the next
    tile on: the first tensor (step 3) and the second (step 7) are both
    exact."""
    x = random_tensor("uint8", (1, 16, 16), 4)
    y = random_tensor("uint8", (1, 16, 16), 6)
    other = config.replace(qtable=7)
    _, xw, xl = stream(x, config)
    _, yw, yl = stream(y, other)
    want_x = expected_values(x, config)
    from amaranth import Module
    from hw.decompressor import Decompressor
    m = Module()
    m.submodules.dut = dut = Decompressor(config, "uint8", 32)
    got = {}

    async def feed(ctx):
        await send(ctx, dut.shape, [shape_item(x), shape_item(y)])

    async def lengths(ctx):
        await send(ctx, dut.lengths, xl + yl)

    async def words(ctx):
        await send(ctx, dut.words, xw + yw)

    async def table(ctx):
        while True:  # wait until the first tensor is under way
            _, _, valid = await ctx.tick().sample(dut.o.valid)
            if valid:
                break
        await write_table(ctx, dut.table, [7] * 64)
        got["written"] = True

    async def sink(ctx):
        got["values"] = await receive(ctx, dut.o, 2 * len(want_x), random.Random(4), 0.5)

    run(m, feed, lengths, words, table, sink, deadline=20000)
    assert got.get("written")
    n = len(want_x)
    assert same_values(got["values"][:n], want_x) is None
    assert same_values(got["values"][n:], expected_values(y, other)) is None


@pytest.mark.parametrize("config", [Config(qtable=3, tile_blocks=2),
                                    Config(transform="dct2d", runs=True, qtable=2,
                                           tile_blocks=3)])
def test_tile_range(config):
    """A shape with a tile range and only those tiles' words and lengths
    (random access): the golden values of those tiles, ``last`` on the
    range's last value; ranges at the start, middle, end, and one tile."""
    x = random_tensor("uint8", (3, 19, 30), 21)
    enc = codec.encode(x, config.replace(align=4))
    tiles = len(enc.tile_lengths)
    for first, count in [(0, 2), (3, 1), (tiles - 2, 2), (1, tiles - 3), (tiles - 1, 1)]:
        words = payload_words(enc.payload[enc.offsets[first]:enc.offsets[first + count]], 32)
        lengths = enc.tile_lengths[first:first + count]
        want = expected_values(x, config, first, count)
        got, errors, _ = decompress(words, lengths, x, config, "uint8", 32, 0.2, 0.2, first,
                                    count=len(want), tile_range=(first, count))
        assert errors == []
        assert same_values(got, want) is None, (first, count)
        assert [v["last"] for v in got].count(1) == 1 and got[-1]["last"] == 1


@pytest.mark.parametrize("how", ["garbage", "truncate"])
def test_whole_tensors_back_to_back(how):
    """The whole-tensor build (``ranges=False``: the decoder walks each
    tensor's tiles itself) takes one shape per tensor: three tensors of
    different shapes back to back, the first one's last tile damaged, with
    gaps on words and lengths and back-pressure. The damaged tile alone is
    wrong and flagged, the next tensor starts at its own first tile, and
    each tensor's last value carries ``last``."""
    config = Config(runs=True, tile_blocks=2)
    xs = [random_tensor("uint8", s, 30 + i) for i, s in enumerate([(1, 16, 24), (2, 9, 5),
                                                                     (1, 8, 8)])]
    streams = [stream(x, config) for x in xs]
    words, lengths = [], []
    for i, (_, w, n) in enumerate(streams):
        if i == 0:   # its 3 tiles: 2 blocks, 2 blocks, 2 blocks
            w, n = corrupt(w, n, 32, len(n) - 1, how, random.Random(7))
        words += w
        lengths += n
    wants = [expected_values(x, config) for x in xs]
    out, errors, _ = decompress(words, lengths, xs, config, "uint8", gaps=0.3, stalls=0.3,
                                ranges=False)
    assert len(errors) == 1 and errors[0][1] == 2, errors
    at = 0
    for i, want in enumerate(wants):
        part = out[at:at + len(want)]
        at += len(want)
        assert [v["last"] for v in part] == [0] * (len(want) - 1) + [1], i
        if i == 0:   # the damaged tile is the tensor's last 128 values
            assert same_values(part[:-128], want[:-128]) is None
        else:
            assert same_values(part, want) is None, i
