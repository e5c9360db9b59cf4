"""Helpers for Amaranth simulations of stream components: a source and a
sink that obey the stream rules, with random gaps and back-pressure."""
import random

from amaranth.sim import Simulator


def run(dut, *benches, deadline=None):
    """Simulate ``dut`` with its sync domain at 1 GHz (1 ns per clock) and
    the given async testbenches. ``deadline`` in clocks guards against a
    hang (the run fails instead of spinning)."""
    sim = Simulator(dut)
    sim.add_clock(1e-9)
    for b in benches:
        sim.add_testbench(b)
    if deadline is None:
        sim.run()
    else:
        sim.run_until(deadline * 1e-9)
    return sim


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


def _plain(v):
    """Sampled payloads: ints stay ints, struct views become dicts."""
    if isinstance(v, int):
        return v
    return {name: _plain(getattr(v, name)) for name, _ in v.shape()}


def level_items(x, config):
    """The level stream of tensor ``x`` under ``config`` as the hardware
    sees it (hw.expgolomb.level_layout), from the golden analysis."""
    import torch
    from golden import codec
    lv, _, korder, _ = codec.analyse(x, config)
    nb = lv.shape[0]
    present = codec.present_mask(tuple(x.shape), config)
    if present is None:
        present = torch.ones(nb, 64, dtype=torch.bool)
    if korder is None:
        korder = torch.zeros(nb, 64, dtype=torch.int64)
    lvl, pl, kl = lv.tolist(), present.tolist(), korder.tolist()
    items = []
    for b in range(nb):
        end = (b + 1) % config.tile_blocks == 0 or b == nb - 1
        for i in range(64):
            items.append({"value": lvl[b][i], "index": i, "k": kl[b][i],
                          "present": int(pl[b][i]), "last": int(end and i == 63)})
    return items


def golden_codewords(x, config):
    """Expected non-empty encoder items (code, length, last-of-tile), from
    the golden symbols; in run mode a run and its level form one item."""
    import torch
    from golden import codec, expgolomb
    u, k, blk, nb = codec._symbols(x, config)
    code, length = expgolomb.codewords(u, k)
    code, length = code.tolist(), length.tolist()
    if blk is None:
        blk = torch.arange(nb).repeat_interleave(64)
    blk = blk.tolist()
    tile = [b // config.tile_blocks for b in blk]
    out = []
    j = 0
    while j < len(code):
        if config.runs and u[j] != 0:  # a run and its level
            c, n = (code[j] << length[j + 1]) | code[j + 1], length[j] + length[j + 1]
            j += 2
        else:
            c, n = code[j], length[j]
            j += 1
        out.append([c, n, 0])
        if j == len(code) or tile[j] != tile[j - 1]:
            out[-1][2] = 1
    return [tuple(o) for o in out]


def compress(x, config, dtype, word_width=32, gaps=0.0, stalls=0.0, seed=0, lossy=True):
    """Run hw.compressor.Compressor on tensor ``x``; returns (words,
    lengths, expected words, expected lengths, cycles from the first value
    offered to the last word taken)."""
    import random
    from golden import codec
    from hw.bench import payload_words, value_items
    from hw.compressor import Compressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    want_words = payload_words(enc.payload, word_width)
    want_lengths = list(enc.tile_lengths)
    dut = Compressor(config, dtype, word_width, lossy=lossy)
    items = value_items(x)
    got = {}

    async def source(ctx):
        await send(ctx, dut.i, items, random.Random(seed), gaps)

    async def words_sink(ctx):
        got["words"] = await receive(ctx, dut.o, len(want_words), random.Random(seed + 1), stalls)

    async def length_sink(ctx):
        got["lengths"] = await receive(ctx, dut.lengths, len(want_lengths),
                                       random.Random(seed + 2), stalls)

    async def clock(ctx):
        n = 0
        while "words" not in got:
            await ctx.tick()
            n += 1
        got["cycles"] = n

    run(dut, source, words_sink, length_sink, clock, deadline=30 * len(items) + 500)
    return got.get("words"), got.get("lengths"), want_words, want_lengths, got.get("cycles")


def decompress(words, lengths, x, config, dtype, word_width=32, gaps=0.0, stalls=0.0, seed=0,
               lossy=True, count=None):
    """Run hw.decompressor.Decompressor on ``words`` / ``lengths`` with the
    shape of ``x``; returns (values, errors, cycles from the first word
    offered to the last value taken). ``errors`` lists (cause, tile) of
    every error strobe."""
    import random
    from hw.bench import set_shape
    from hw.decompressor import Decompressor
    dut = Decompressor(config, dtype, word_width, lossy=lossy)
    count = count if count is not None else expected_len(x)
    got = {"errors": []}

    async def words_src(ctx):
        await send(ctx, dut.words, words, random.Random(seed), gaps)

    async def lengths_src(ctx):
        await send(ctx, dut.lengths, lengths, random.Random(seed + 3), gaps)

    async def sink(ctx):
        got["values"] = await receive(ctx, dut.o, count, random.Random(seed + 1), stalls)

    async def monitor(ctx):
        set_shape(ctx, dut.shape, x)
        n = 0
        async for _, _, err, cause, tile in ctx.tick().sample(dut.error, dut.cause,
                                                                dut.error_tile):
            if err:
                got["errors"].append((cause, tile))
            n += 1
            if "values" in got:
                got["cycles"] = n
                return

    run(dut, words_src, lengths_src, sink, monitor, deadline=40 * count + 2000)
    return got.get("values"), got["errors"], got.get("cycles")


def expected_len(x):
    from golden import tiling
    return tiling.n_blocks(tiling.as_nchw(tuple(x.shape))) * 64
