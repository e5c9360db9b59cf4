"""Helpers for Amaranth simulations of stream components: a source and a
sink that obey the stream rules, with random gaps and back-pressure."""
import random

from amaranth import Elaboratable, Fragment


class Ice40:
    """What :func:`hw.predict.on_ice40` asks of a platform, to simulate a
    block's iCE40 form (:class:`For`)."""
    device = "iCE40UP5K"


class For(Elaboratable):
    """``dut`` elaborated for ``platform`` (the simulator elaborates for
    none)."""

    def __init__(self, dut, platform):
        self.dut, self.platform = dut, platform

    def elaborate(self, platform):
        return Fragment.get(self.dut, self.platform)


def run(dut, *benches, deadline=None):
    """:func:`hw.bench.simulate` with the testbenches as arguments."""
    from hw.bench import simulate
    return simulate(dut, benches, deadline)


async def send(ctx, port, items, rng=None, gaps=0.0):
    """Drive ``items`` (payload values or dicts) into a stream ``port``,
    with an idle cycle before an item at probability ``gaps``."""
    rng = rng or random.Random(0)
    for item in items:
        while gaps and rng.random() < gaps:
            ctx.set(port.valid, 0)
            await ctx.tick()
        ctx.set(port.valid, 1)
        ctx.set(port.payload, item)
        await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def receive(ctx, port, count, rng=None, stalls=0.0):
    """Take ``count`` items from a stream ``port`` (ready low at probability
    ``stalls``). While valid is high and the item is not taken, the payload
    must hold (the stream rules). Returns the payloads (ints, or dicts for
    struct payloads)."""
    rng = rng or random.Random(1)
    out = []
    held = None
    while len(out) < count:
        ready = not (stalls and rng.random() < stalls)
        ctx.set(port.ready, ready)
        _, _, valid, payload = await ctx.tick().sample(port.valid, port.payload)
        if valid:
            value = _plain(payload)
            if held is not None:
                assert value == held, f"payload changed before transfer: {held} -> {value}"
            if ready:
                out.append(value)
                held = None
            else:
                held = value
        else:
            assert held is None, "valid dropped before transfer"
    ctx.set(port.ready, 0)
    return out


def stream_through(dut, src, items, dst, count, gaps=0.0, stalls=0.0, seed=0, deadline=None):
    """Simulate ``dut`` with ``items`` sent into stream ``src`` (gaps drawn
    from seed ``seed``) and ``count`` items taken from stream ``dst``
    (back-pressure from seed ``seed + 1``); returns what came out."""
    got = {}

    async def source(ctx):
        await send(ctx, src, items, random.Random(seed), gaps)

    async def sink(ctx):
        got["out"] = await receive(ctx, dst, count, random.Random(seed + 1), stalls)

    run(dut, source, sink, deadline=deadline)
    return got["out"]


async def write_table(ctx, port, steps):
    """Write ``steps`` (64, raster order) through a step-table port
    (hw.quantizer.TableSignature), one per clock."""
    for p, step in enumerate(steps):
        ctx.set(port.addr, p)
        ctx.set(port.data, step)
        ctx.set(port.en, 1)
        await ctx.tick()
    ctx.set(port.en, 0)


def _plain(v):
    """Sampled payloads: ints stay ints, struct views become dicts."""
    from amaranth.lib import data
    if isinstance(v, int):
        return v
    layout = v.shape()
    if isinstance(layout, data.ArrayLayout):
        return [_plain(v[i]) for i in range(layout.length)]
    return {name: _plain(getattr(v, name)) for name, _ in layout}


def level_items(x, config):
    """The level stream of tensor ``x`` under ``config`` as the hardware
    sees it (hw.expgolomb.level_layout), from the golden analysis."""
    import torch
    from golden import codec
    from golden import predict
    lv, _, korder, rec = codec.analyse(x, config)
    nb = lv.shape[0]
    present = codec.present_mask(tuple(x.shape), config)
    if present is None:
        present = torch.ones(nb, 64, dtype=torch.bool)
    if korder is None:
        korder = torch.zeros(nb, 64, dtype=torch.int64)
    if rec is not None:  # pred: the run mode's context flags
        g = rec.to(torch.int64)
        a, b, d = predict.neighbour_planes(g)
        flat = (predict.activity(a, b, d) == 0).reshape(-1, 64)
        same = (g == a).reshape(-1, 64)
    else:
        flat = same = torch.zeros(nb, 64, dtype=torch.bool)
    lvl, pl, kl = lv.tolist(), present.tolist(), korder.tolist()
    fl, sl = flat.tolist(), same.tolist()
    items = []
    for b in range(nb):
        end = (b + 1) % config.tile_blocks == 0 or b == nb - 1
        for i in range(64):
            items.append({"value": lvl[b][i], "index": i, "k": kl[b][i],
                          "present": int(pl[b][i]), "last": int(end and i == 63),
                          "flat": int(fl[b][i]), "same": int(sl[b][i])})
    return items


def golden_codewords(x, config):
    """Expected non-empty encoder items (code, length, last-of-tile), from
    the golden symbols; in the zero-run mode a run and its level form one
    item (``pred``'s run mode has one codeword per item)."""
    import torch
    from golden import codec, expgolomb
    lv, signed, korder, rec = codec.analyse(x, config)
    nb = lv.shape[0]
    present = codec.present_mask(tuple(x.shape), config)
    u, k, blk = codec.stream_symbols(lv, signed, config, korder, rec, present)
    code, length = expgolomb.codewords(u, k)
    code, length = code.tolist(), length.tolist()
    if blk is None:
        blk = torch.arange(nb).repeat_interleave(64)
    blk = blk.tolist()
    tile = [b // config.tile_blocks for b in blk]
    out = []
    j = 0
    while j < len(code):
        if config.zero_runs and u[j] != 0:  # with the next
            c, n = (code[j] << length[j + 1]) | code[j + 1], length[j] + length[j + 1]
            j += 2
        else:
            c, n = code[j], length[j]
            j += 1
        out.append([c, n, 0])
        if j == len(code) or tile[j] != tile[j - 1]:
            out[-1][2] = 1
    return [tuple(o) for o in out]


def compress(x, config, dtype, word_width=32, gaps=0.0, stalls=0.0, seed=0, lossy=True,
             lanes=1):
    """Run hw.compressor.Compressor on tensor ``x``; returns (words,
    lengths, expected words, expected lengths, cycles from the first value
    offered to the last word taken). With 8 lanes, words and lengths are
    lists per lane."""
    import random
    from golden import codec
    from hw.bench import beats, lane_streams, per_lane, value_items
    from hw.compressor import Compressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    dut = Compressor(config, dtype, word_width, lanes=lanes, lossy=lossy)
    items = beats(value_items(x), lanes)
    want_words, want_lengths = lane_streams(enc, word_width, lanes)
    outs = list(zip(per_lane(dut.o, lanes), per_lane(dut.lengths, lanes), want_words,
                    want_lengths))
    got = {"words": [None] * len(outs), "lengths": [None] * len(outs)}

    async def source(ctx):
        await send(ctx, dut.i, items, random.Random(seed), gaps)

    def sinks(n, port, lengths_port, words, lengths):
        async def words_sink(ctx):
            got["words"][n] = await receive(ctx, port, len(words), random.Random(seed + 1 + n),
                                            stalls)

        async def length_sink(ctx):
            got["lengths"][n] = await receive(ctx, lengths_port, len(lengths),
                                              random.Random(seed + 100 + n), stalls)
        return [words_sink, length_sink]

    async def clock(ctx):
        n = 0
        while any(w is None for w in got["words"]):
            await ctx.tick()
            n += 1
        got["cycles"] = n

    benches = [b for n, o in enumerate(outs) for b in sinks(n, *o)]
    run(dut, source, clock, *benches, deadline=30 * len(items) * 8 // lanes + 2000)
    w, ln = got["words"], got["lengths"]
    if lanes == 1:
        w, ln, want_words, want_lengths = w[0], ln[0], want_words[0], want_lengths[0]
    return w, ln, want_words, want_lengths, got.get("cycles")


def decompress(words, lengths, x, config, dtype, word_width=32, gaps=0.0, stalls=0.0, seed=0,
               lossy=True, count=None, lanes=1, tile_range=(0, 0), ranges=True,
               interleaved=False):
    """Run hw.decompressor.Decompressor on ``words`` / ``lengths`` (lists
    per lane with 8 lanes) with the shape of ``x``; returns (values or
    rows, errors, cycles from the first word offered to the last value
    taken). ``errors`` lists (cause, tile) of every error strobe.
    ``tile_range`` (first, count) asks for those tiles only (one lane,
    ``ranges``); ``ranges=False`` builds the whole-tensor decompressor.
    ``x`` may be a list of tensors, decoded back to back (a shape each;
    ``words`` and ``lengths`` are then all of theirs, in order);
    ``interleaved`` builds it of :class:`hw.interleaved.InterleavedLane`
    (lossless-only: ``lossy`` is then ignored)."""
    import random
    from hw.bench import per_lane, shape_item
    from hw.decompressor import Decompressor
    dut = Decompressor(config, dtype, word_width, lanes=lanes, lossy=lossy and not interleaved,
                       ranges=ranges, interleaved=interleaved)
    xs = x if isinstance(x, list) else [x]
    if count is None:
        count = sum(map(expected_len, xs)) // (1 if lanes == 1 else 8)
    got = {"errors": []}
    if lanes == 1:
        words, lengths = [words], [lengths]
    ports = list(zip(per_lane(dut.words, lanes), per_lane(dut.lengths, lanes)))

    def sources(n, words_port, lengths_port):
        async def words_src(ctx):
            await send(ctx, words_port, words[n], random.Random(seed + 10 * n), gaps)

        async def lengths_src(ctx):
            await send(ctx, lengths_port, lengths[n], random.Random(seed + 10 * n + 3), gaps)
        return [words_src, lengths_src]

    async def shape_src(ctx):
        await send(ctx, dut.shape, [shape_item(t, *tile_range) for t in xs])

    async def sink(ctx):
        got["values"] = await receive(ctx, dut.o, count, random.Random(seed + 1), stalls)

    async def monitor(ctx):
        n = 0
        async for _, _, err, cause, tile in ctx.tick().sample(dut.error, dut.cause,
                                                                dut.error_tile):
            for lane in range(lanes):
                if (err >> lane) & 1:
                    got["errors"].append((cause, tile) if lanes == 1 else
                                         (cause[lane], tile[lane]))
            n += 1
            if "values" in got:
                got["cycles"] = n
                return

    benches = [b for n, p in enumerate(ports) for b in sources(n, *p)]
    run(dut, shape_src, sink, monitor, *benches, deadline=40 * count * (1 if lanes == 1 else 8)
        + 2000)
    return got.get("values"), got["errors"], got.get("cycles")


def loop(x, config, lanes, deadline):
    """The Compressor's words and lengths (each lane's) into the
    Decompressor through a FIFO of a tile's words (as DRAM holds them: the
    decompressor needs a tile's length before its words, the compressor
    gives it after them), lossless; inputs with 20% gaps, outputs with
    30% stalls. Returns (the beats sent, the beats out)."""
    from amaranth import Module
    from amaranth.lib import fifo, wiring

    from hw.bench import beats, per_lane, shape_item, value_items
    from hw.compressor import Compressor
    from hw.decompressor import Decompressor
    m = Module()
    m.submodules.comp = comp = Compressor(config, "uint8", lanes=lanes)
    m.submodules.dec = dec = Decompressor(config, "uint8", lanes=lanes)
    for n, (o, ln, w, dl) in enumerate(zip(per_lane(comp.o, lanes), per_lane(comp.lengths, lanes),
                                           per_lane(dec.words, lanes),
                                           per_lane(dec.lengths, lanes))):
        m.submodules[f"words{n}"] = words = fifo.SyncFIFOBuffered(width=32, depth=128)
        wiring.connect(m, o, words.w_stream)
        wiring.connect(m, words.r_stream, w)
        wiring.connect(m, ln, dl)
    items = beats(value_items(x), lanes)
    got = {}

    async def source(ctx):
        await send(ctx, dec.shape, [shape_item(x)])
        await send(ctx, comp.i, items, random.Random(1), 0.2)

    async def sink(ctx):
        got["out"] = await receive(ctx, dec.o, len(items), random.Random(2), 0.3)

    run(m, source, sink, deadline=deadline)
    return items, got["out"]


def expected_len(x):
    from golden import tiling
    return tiling.n_blocks(tiling.as_nchw(tuple(x.shape))) * 64


def corrupt(words, lengths, word_width, tile, how, rng):
    """The stream with tile ``tile``'s region damaged."""
    nb = word_width // 8
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + -(-n // nb))
    region = words[starts[tile]:starts[tile + 1]]
    lengths = list(lengths)
    if how == "flip":
        bit = rng.randrange(8 * lengths[tile])
        byte = bit // 8
        region = list(region)
        region[byte // nb] ^= 1 << (8 * (byte % nb) + 7 - bit % 8)
    elif how == "truncate":
        region = region[:-1]
        lengths[tile] -= nb
    elif how == "pad":
        region = region + [0]
        lengths[tile] += nb
    elif how == "garbage":
        region = [rng.getrandbits(word_width) for _ in region]
    elif how == "zeros":
        region = [0] * len(region)
    elif how == "padbit":
        # the region's last bit set: padding, unless its last codeword
        # ends there
        last = lengths[tile] - 1
        region = list(region)
        region[last // nb] |= 1 << (8 * (last % nb))
    return words[:starts[tile]] + region + words[starts[tile + 1]:], lengths
