"""Eight lanes (hw.lanes): the Compressor and Decompressor with lanes=8
against the golden stream, split by tile over the lanes."""
import random

import pytest
import torch
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from golden import Config, codec
from hw.bench import (expected_values, lane_streams, measure, measure_decompressor, rows,
                      same_values, shape_item, value_items)
from hw.lanes import hold, skid
from hw.testbench import (compress, corrupt, decompress, loop, receive, run, send,
                          write_table)
from test_hw_compressor import CONFIGS, random_tensor, worst_case_inputs

# (configuration, element type, tile size): short tiles so that every lane
# works on a small tensor; 18 blocks make a partial last tile of 4 and 5
LANE_CASES = [("pred-default", "uint8", 1), ("pred-lossy-step3", "int8", 4),
              ("none-adaptive", "uint8", 2), ("dct1d-column-runs", "int8", 1),
              ("dct2d-runs", "uint8", 5)]


def lane_stream(x, config, word_width=32):
    enc = codec.encode(x, config.replace(align=word_width // 8))
    return lane_streams(enc, word_width, 8)


def test_lane_streams_cover_the_payload():
    """The per-lane split is the golden payload, tile by tile: lane l holds
    tiles l, l + 8, ... (the spec the hardware tests below rely on)."""
    x = random_tensor("uint8", (3, 20, 24), 1)
    enc = codec.encode(x, Config(tile_blocks=2))
    words, lengths = lane_streams(enc, 32, 8)
    assert [len(n) for n in lengths] == [2, 2, 2, 2, 2, 2, 1, 1]  # 27 blocks, 14 tiles
    assert [n for t in range(14) for n in [lengths[t % 8][t // 8]]] == enc.tile_lengths
    taken, back = [0] * 8, b""
    for t, n in enumerate(enc.tile_lengths):
        lane, nw = t % 8, -(-n // 4)
        back += b"".join(w.to_bytes(4, "little") for w in words[lane][taken[lane]:][:nw])
        taken[lane] += nw
    assert back == enc.payload and taken == [len(w) for w in words]


@pytest.mark.parametrize("name,dtype,tile_blocks", LANE_CASES)
def test_compressor_with_stalls(name, dtype, tile_blocks):
    """Rows in with gaps, every lane's words and lengths out with
    back-pressure: each lane writes exactly its tiles of the golden stream
    (lanes with different tile counts, a partial last tile)."""
    x = random_tensor(dtype, (3, 20, 13), len(name))
    config = CONFIGS[name].replace(tile_blocks=tile_blocks)
    words, lengths, want_words, want_lengths, _ = compress(
        x, config, dtype, gaps=0.2, stalls=0.2, lanes=8)
    assert lengths == want_lengths
    assert words == want_words


@pytest.mark.parametrize("name,dtype,tile_blocks", LANE_CASES)
def test_decompressor_with_stalls(name, dtype, tile_blocks):
    """Every lane's words and lengths with gaps, back-pressure on the rows:
    the golden reconstruction, in block order."""
    x = random_tensor(dtype, (3, 19, 11), len(name))
    config = CONFIGS[name].replace(tile_blocks=tile_blocks)
    words, lengths = lane_stream(x, config)
    got, errors, _ = decompress(words, lengths, x, config, dtype, gaps=0.2, stalls=0.2, lanes=8)
    assert errors == []
    assert same_values(got, rows(expected_values(x, config))) is None


def test_real_tensor(real_acts):
    """A real EfficientNet-Lite0 map (sparse ReLU6, partial blocks) through
    both 8-lane tops, 64-bit words: the compressor's lanes are the golden
    stream, the decompressor gives the golden reconstruction."""
    x = real_acts["b10.dw"][:3, :21, :19].contiguous()
    config = CONFIGS["dct2d-runs"].replace(tile_blocks=2)
    words, lengths, want_words, want_lengths, _ = compress(x, config, "uint8", 64, lanes=8)
    assert (words, lengths) == (want_words, want_lengths)
    got, errors, _ = decompress(words, lengths, x, config, "uint8", 64, stalls=0.1, lanes=8)
    assert errors == []
    assert same_values(got, rows(expected_values(x, config))) is None


@pytest.mark.parametrize("config", [
    Config(tile_blocks=1),
    Config(transform="none", runs=True, adaptive=False, tile_blocks=2),
    Config(transform="dct2d", runs=True, adaptive=True, krun=0, tile_blocks=1),
], ids=["pred", "none-runs", "dct2d-runs"])
def test_eight_values_per_clock(config):
    """No gaps, no back-pressure: the compressor takes a row (8 values)
    every clock; the decompressor, once its first tile is decoded, gives a
    row every clock (a longer tensor costs exactly its extra rows)."""
    word_width = 64
    for name, x in worst_case_inputs().items():
        r = measure(x, config, "int8", word_width, lanes=8)
        assert r["cycles"] * 8 == r["values"], (name, r)
    short = worst_case_inputs()["noise"]
    long = torch.cat([short, short.flip(1)])
    a = measure_decompressor(short, config, "int8", word_width, lanes=8)
    b = measure_decompressor(long, config, "int8", word_width, lanes=8)
    assert (b["cycles"] - a["cycles"]) * 8 == b["values"] - a["values"], (a, b)
    # the one-off cost is the first tile: decoded at one value per clock
    tile_rows = 8 * config.tile_blocks
    assert a["cycles"] <= a["values"] // 8 + 7 * tile_rows, a


def test_compressor_decompressor_loop():
    """Each lane's words through a FIFO into the matching decompressor
    lane, lossless: the input comes back, in order."""
    x = random_tensor("uint8", (5, 13, 10), 3)
    n_rows = len(value_items(x)) // 8
    items, out = loop(x, Config(tile_blocks=1), 8, deadline=40 * n_rows * 8)
    assert out == items


@pytest.mark.parametrize("how", ["flip", "truncate", "garbage"])
def test_corrupt_tile(how):
    """Damage tile 9 (lane 1's second tile): lane 1 flags it with the
    tile's number in the tensor, every other tile is exact and the output
    keeps its size."""
    config = Config(tile_blocks=1)
    x = random_tensor("uint8", (3, 16, 16), 8)  # 12 tiles
    enc = codec.encode(x, config)
    words, lengths = lane_streams(enc, 32, 8)
    words[1], lengths[1] = corrupt(words[1], lengths[1], 32, 1, how, random.Random(5))
    got, errors, _ = decompress(words, lengths, x, config, "uint8", stalls=0.1, lanes=8)
    want = rows(expected_values(x, config))
    assert len(got) == len(want)
    good = [r for r in range(len(want)) if r // 8 != 9]
    assert same_values([got[r] for r in good], [want[r] for r in good]) is None
    if how == "flip" and not errors:
        assert same_values(got[72:80], want[72:80]) is not None
    else:
        assert [t for _, t in errors] == [9]


def test_reset_and_table_change_between_tensors():
    """Eight-lane decompressor: a reset in the middle of a tensor leaves
    nothing; then a step table written between two tensors applies to the
    second only."""
    from amaranth import ClockDomain, Module
    from hw.decompressor import Decompressor
    config = Config(qtable=3, tile_blocks=1)
    other = config.replace(qtable=5)
    junk = random_tensor("uint8", (2, 16, 16), 4)
    x = random_tensor("uint8", (2, 16, 16), 5)
    y = random_tensor("uint8", (1, 24, 16), 6)
    jw, jl = lane_stream(junk, config)
    xw, xl = lane_stream(x, config)
    yw, yl = lane_stream(y, other)
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut = Decompressor(config, "uint8", lanes=8)
    got = {}

    async def feed(ctx, words, lengths):
        async def one(port, items):
            for it in items:
                ctx.set(port.valid, 1)
                ctx.set(port.payload, it)
                await ctx.tick().until(port.ready)
            ctx.set(port.valid, 0)
        for n in range(8):  # all lanes' lengths first (small), then words lane by lane
            await one(dut.lengths[n], lengths[n])
        pending = [list(w) for w in words]
        while any(pending):
            for n in range(8):
                ctx.set(dut.words[n].valid, bool(pending[n]))
                if pending[n]:
                    ctx.set(dut.words[n].payload, pending[n][0])
            sampled = await ctx.tick().sample(*[dut.words[n].ready for n in range(8)])
            for n in range(8):
                if pending[n] and sampled[2 + n]:
                    pending[n].pop(0)
        for n in range(8):
            ctx.set(dut.words[n].valid, 0)

    async def bench(ctx):
        ctx.set(dut.o.ready, 1)
        await send(ctx, dut.shape, [shape_item(junk)])
        lane0 = dut.words[0]
        ctx.set(dut.lengths[0].valid, 1)
        ctx.set(dut.lengths[0].payload, jl[0][0])
        ctx.set(lane0.valid, 1)
        for w in jw[0][:4]:  # part of tile 0, then reset
            ctx.set(lane0.payload, w)
            await ctx.tick().until(lane0.ready)
        ctx.set(lane0.valid, 0)
        ctx.set(dut.lengths[0].valid, 0)
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)
        ctx.set(dut.o.ready, 0)
        await ctx.tick()
        assert not ctx.get(dut.o.valid) and not ctx.get(dut.error)
        got["reset"] = True
        await send(ctx, dut.shape, [shape_item(x)])
        await feed(ctx, xw, xl)
        while not got.get("x"):
            await ctx.tick()
        await write_table(ctx, dut.table, [5] * 64)
        await send(ctx, dut.shape, [shape_item(y)])
        await feed(ctx, yw, yl)

    async def sink(ctx):
        while "reset" not in got:
            await ctx.delay(1e-9)
        n = len(value_items(x)) // 8
        got["x"] = await receive(ctx, dut.o, n, random.Random(1), 0.2)
        got["y"] = await receive(ctx, dut.o, len(value_items(y)) // 8, random.Random(2), 0.2)

    run(m, bench, sink, deadline=20000)
    assert same_values(got["x"], rows(expected_values(x, config))) is None
    assert same_values(got["y"], rows(expected_values(y, other))) is None


def test_compressor_reset_mid_tile():
    """Eight-lane compressor: a reset with rows in the lane FIFOs and words
    in flight leaves nothing; the next tensor's lanes are exact."""
    from amaranth import ClockDomain, Module
    from hw.compressor import Compressor
    config = Config(tile_blocks=1)
    junk = random_tensor("uint8", (2, 16, 16), 4)
    x = random_tensor("uint8", (3, 16, 16), 5)
    want, want_lengths = lane_stream(x, config)
    m = Module()
    m.domains.sync = cd = ClockDomain()
    m.submodules.dut = dut = Compressor(config, "uint8", lanes=8)
    got = {"words": [None] * 8}

    async def bench(ctx):
        for n in range(8):
            ctx.set(dut.o[n].ready, 1)
            ctx.set(dut.lengths[n].ready, 1)
        await send(ctx, dut.i, rows(value_items(junk))[:21])  # 2.6 tiles
        for _ in range(30):  # words in flight
            await ctx.tick()
        ctx.set(cd.rst, 1)
        await ctx.tick()
        ctx.set(cd.rst, 0)
        for n in range(8):
            ctx.set(dut.o[n].ready, 0)
            ctx.set(dut.lengths[n].ready, 0)
        await ctx.tick()
        assert not any(ctx.get(dut.o[n].valid) or ctx.get(dut.lengths[n].valid)
                       for n in range(8))
        got["reset"] = True
        await send(ctx, dut.i, rows(value_items(x)))

    def sink(n):
        async def take(ctx):
            while "reset" not in got:
                await ctx.delay(1e-9)
            got["words"][n] = await receive(ctx, dut.o[n], len(want[n]), random.Random(n), 0.2)
        return take

    async def lengths(ctx):
        while "reset" not in got:
            await ctx.delay(1e-9)
        got["lengths"] = [await receive(ctx, dut.lengths[n], len(want_lengths[n]))
                          for n in range(8)]

    run(m, bench, lengths, *[sink(n) for n in range(8)], deadline=10000)
    assert got["words"] == want
    assert got["lengths"] == want_lengths


def test_compressor_table_change_between_tensors():
    """Eight-lane compressor: steps written after the first tensor's words
    are out apply to the second tensor on every lane."""
    from hw.compressor import Compressor
    config = Config(qtable=3, tile_blocks=1)
    other = config.replace(qtable=6)
    x = random_tensor("uint8", (2, 16, 16), 7)
    y = random_tensor("uint8", (3, 8, 16), 8)
    xw, xl = lane_stream(x, config)
    yw, yl = lane_stream(y, other)
    dut = Compressor(config, "uint8", lanes=8)
    got = {"words": [None] * 8}

    async def source(ctx):
        await send(ctx, dut.i, rows(value_items(x)), random.Random(1), 0.2)
        while any(w is None for w in got["words"]):
            await ctx.tick()
        await write_table(ctx, dut.table, [6] * 64)
        await send(ctx, dut.i, rows(value_items(y)), random.Random(2), 0.2)

    def sink(n):
        async def take(ctx):
            got["words"][n] = await receive(ctx, dut.o[n], len(xw[n]), random.Random(n), 0.2)
            got[n] = await receive(ctx, dut.o[n], len(yw[n]), random.Random(n), 0.2)
        return take

    async def lengths(ctx):
        got["lengths"] = [await receive(ctx, dut.lengths[n], len(xl[n]) + len(yl[n]))
                          for n in range(8)]

    run(dut, source, lengths, *[sink(n) for n in range(8)], deadline=20000)
    assert got["words"] == xw
    assert [got[n] for n in range(8)] == yw
    assert got["lengths"] == [a + b for a, b in zip(xl, yl)]


def lane_values(tensors, tile_blocks):
    """Each lane's values (hw.tiling.value_layout items) for ``tensors``
    sent back to back: lane l takes tiles l, l + 8, ... of every tensor."""
    tile = 64 * tile_blocks
    lanes = [[] for _ in range(8)]
    for x in tensors:
        vals = value_items(x)
        for t in range(0, len(vals), tile):
            lanes[t // tile % 8] += vals[t:t + tile]
    return lanes


def test_spread_then_gather_is_the_identity():
    """hw.lanes on its own: Spread's lane l carries tiles l, l + 8, ... of
    each tensor, and Gather puts the lanes back in tile order; tensors of 3,
    8 and 11 tiles back to back, with gaps and back-pressure everywhere."""
    from hw.lanes import Gather, Spread
    tile_blocks = 2
    tensors = [random_tensor("int8", s, i) for i, s in
               enumerate([(1, 8, 48), (1, 32, 32), (11, 8, 16)])]
    items = [r for x in tensors for r in rows(value_items(x))]
    tile_rows = 8 * tile_blocks
    want_lane = lane_values(tensors, tile_blocks)
    m = Module()
    m.submodules.spread = spread = Spread("int8", tile_blocks, 8)
    m.submodules.gather = gather = Gather("int8", tile_blocks, 8)
    got = {}

    def lane(n):  # the spread's lane n into the gather's, checked on the way
        async def move(ctx):
            rng = random.Random(n)
            for want in want_lane[n]:
                (value,) = await receive(ctx, spread.o[n], 1, rng, 0.3)
                assert value == want, n
                await send(ctx, gather.i[n], [value], rng, 0.3)
        return move

    async def source(ctx):
        await send(ctx, spread.i, items, random.Random(10), 0.2)

    async def sink(ctx):
        got["rows"] = await receive(ctx, gather.o, len(items), random.Random(11), 0.3)

    assert len(items) == (3 + 8 + 11) * tile_rows
    run(m, source, sink, *[lane(n) for n in range(8)], deadline=40 * len(items) * 8)
    assert got["rows"] == items


class _Slice(wiring.Component):
    """hw.lanes.skid or hw.lanes.hold between two 12-bit streams."""
    i: In(stream.Signature(12))
    o: Out(stream.Signature(12))

    def __init__(self, kind):
        self.kind = kind
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        self.kind(m, "slice", self.i, self.o)
        return m


@pytest.mark.parametrize("kind, every", [(skid, 1), (hold, 2)], ids=["skid", "hold"])
@pytest.mark.parametrize("gaps, stalls", [(0.0, 0.0), (0.5, 0.5), (0.1, 0.7), (0.7, 0.1)])
def test_slice_order_rate_and_registered_handshakes(kind, every, gaps, stalls):
    """hw.lanes.skid and hw.lanes.hold: every item once and in order
    (payload held while stalled); unhindered one per clock (skid) or every
    other clock (hold), each a clock after it entered; and neither
    ``i.ready`` nor ``o.valid`` / ``o.payload`` follows ``i.valid`` or
    ``o.ready`` within a clock."""
    rng = random.Random(int(gaps * 10 + stalls * 100))
    items = [rng.randrange(1 << 12) for _ in range(400)]
    dut = _Slice(kind)
    got, t_in, t_out = {}, [], []

    async def source(ctx):
        srng = random.Random(3)
        t = 0
        for item in items:
            while gaps and srng.random() < gaps:
                ctx.set(dut.i.valid, 0)
                await ctx.tick()
                t += 1
            ctx.set(dut.i.valid, 1)
            ctx.set(dut.i.payload, item)
            while True:
                # flip the other side's inputs: the outputs must not move
                seen = [ctx.get(s) for s in (dut.i.ready, dut.o.valid, dut.o.payload)]
                for v, r in [(0, 0), (0, 1), (1, 0), (1, 1)]:
                    ctx.set(dut.i.valid, v)
                    ctx.set(dut.o.ready, r)
                    assert [ctx.get(s) for s in (dut.i.ready, dut.o.valid,
                                                 dut.o.payload)] == seen
                ctx.set(dut.i.valid, 1)
                # restore the sink's choice for this clock
                ctx.set(dut.o.ready, got.get("ready", 0))
                taken = ctx.get(dut.i.ready)
                await ctx.tick()
                t += 1
                if taken:
                    t_in.append(t)
                    break
        ctx.set(dut.i.valid, 0)

    async def sink(ctx):
        srng = random.Random(4)
        out, held, t = [], None, 0
        while len(out) < len(items):
            ready = int(not (stalls and srng.random() < stalls))
            got["ready"] = ready
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            t += 1
            if valid:
                assert held in (None, payload), "payload changed before transfer"
                if ready:
                    out.append(payload)
                    t_out.append(t)
                    held = None
                else:
                    held = payload
        ctx.set(dut.o.ready, 0)
        got["out"] = out

    run(dut, source, sink, deadline=30 * len(items))
    assert got["out"] == items
    if not gaps and not stalls:
        assert [b - a for a, b in zip(t_in, t_out)] == [1] * len(items)
        assert t_out == list(range(t_out[0], t_out[0] + every * len(items), every))


def test_spread_waits_for_a_slow_lane():
    """Rows arrive every clock while lane 1 takes a value only every 30
    clocks, so the input meets lane 1's FIFO still holding its previous
    tile as it moves on to it, and waits there while the other lanes run
    dry: every lane still gets exactly its tiles' values."""
    from hw.lanes import Spread
    tile_blocks = 2
    x = random_tensor("int8", (1, 8, 8 * 8 * 2 * 3), 5)   # 24 tiles of two blocks
    items = rows(value_items(x))
    want = lane_values([x], tile_blocks)
    dut = Spread("int8", tile_blocks, 8)
    got = {}

    def lane(n):
        async def take(ctx):
            out = []
            while len(out) < len(want[n]):
                if n == 1:
                    for _ in range(29):
                        ctx.set(dut.o[n].ready, 0)
                        await ctx.tick()
                out += await receive(ctx, dut.o[n], 1)
            got[n] = out
        return take

    async def source(ctx):
        await send(ctx, dut.i, items)

    run(dut, source, *[lane(n) for n in range(8)], deadline=40 * 8 * len(items))
    for n in range(8):
        assert got[n] == want[n], n
