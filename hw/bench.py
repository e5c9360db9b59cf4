"""Cycle counts of the gateware in simulation (``python -m hw bench``)."""
from amaranth.sim import Simulator

from golden import codec, tiling
from golden.config import Config


def value_items(x):
    """Compressor input items for tensor ``x`` (hw.tiling.value_layout)."""
    blocks = tiling.to_blocks(x).reshape(-1).tolist()
    present = tiling.present(tuple(x.shape)).reshape(-1).tolist()
    items = [{"data": v, "present": int(p), "last": 0} for v, p in zip(blocks, present)]
    items[-1]["last"] = 1
    return items


def payload_words(payload, word_width):
    """Golden payload bytes as the hardware's words (little-endian)."""
    nb = word_width // 8
    return [int.from_bytes(payload[i:i + nb], "little") for i in range(0, len(payload), nb)]


def set_shape(ctx, port, x):
    """Drive a ``shape`` port (:data:`hw.expgolomb.ShapeSignature`) with
    the shape of tensor ``x``."""
    n, c, h, w = tiling.as_nchw(tuple(x.shape))
    for field, v in (("planes", n * c), ("height", h), ("width", w)):
        ctx.set(getattr(port, field), v)


async def offer(ctx, port, items):
    """Offer ``items`` on stream ``port`` back to back (valid always high);
    returns the cycle (from 1) at which each was taken."""
    ctx.set(port.valid, 1)
    cycle, taken = 0, []
    for item in items:
        ctx.set(port.payload, item)
        while True:
            _, _, ready = await ctx.tick().sample(port.ready)
            cycle += 1
            if ready:
                taken.append(cycle)
                break
    ctx.set(port.valid, 0)
    return taken


def expected_values(x, config):
    """The decompressor's output for the stream of ``x``: the golden
    reconstruction's values (None on block padding), ``present`` and
    ``last``, in block order."""
    items = value_items(codec.reconstruct(x, config))
    return [{"data": it["data"] if it["present"] else None, "present": it["present"],
             "last": it["last"]} for it in items]


def same_values(got, want):
    """Index of the first output that differs from ``want`` (padding values
    are free), or None."""
    if len(got) != len(want):
        return min(len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        if g["present"] != w["present"] or g["last"] != w["last"] or \
                (w["data"] is not None and g["data"] != w["data"]):
            return i
    return None


def measure(x, config, dtype, word_width=32):
    """Run the Compressor on ``x`` with no gaps and no back-pressure.

    Returns a dict: ``values``; ``cycles`` from the first value taken to
    the last (equal to ``values`` at one value per clock); ``latency``
    from the first value taken to the first word valid; ``drain`` from the
    last value taken to the last word. Raises AssertionError when the words
    differ from the golden stream.
    """
    from .compressor import Compressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    want = payload_words(enc.payload, word_width)
    dut = Compressor(config, dtype, word_width)
    items = value_items(x)
    taken, words, marks = [], [], {}

    async def source(ctx):
        taken.extend(await offer(ctx, dut.i, items))

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.lengths.ready, 1)
        cycle = 0
        while len(words) < len(want):
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            cycle += 1
            if valid:
                words.append(payload)
                marks.setdefault("first", cycle)
                marks["last"] = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run_until((50 * len(items) + 1000) * 1e-9)
    assert words == want, "hardware words differ from the golden stream"
    return {"values": len(items), "cycles": taken[-1] - taken[0] + 1,
            "latency": marks["first"] - taken[0], "drain": marks["last"] - taken[-1]}


def measure_decompressor(x, config, dtype, word_width=32):
    """Run the Decompressor on the golden stream of ``x`` with words and
    lengths always offered and no back-pressure.

    Returns a dict: ``values``; ``cycles`` from the first value out to the
    last (equal to ``values`` at one value per clock); ``latency`` from
    the first word taken to the first value. Raises AssertionError when
    the values differ from the golden reconstruction.
    """
    from .decompressor import Decompressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    words = payload_words(enc.payload, word_width)
    want = expected_values(x, config)
    dut = Decompressor(config, dtype, word_width)
    got, marks = [], {}

    async def words_src(ctx):
        marks["first_word"] = (await offer(ctx, dut.words, words))[0]

    async def lengths_src(ctx):
        set_shape(ctx, dut.shape, x)
        await offer(ctx, dut.lengths, enc.tile_lengths)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        cycle = 0
        while len(got) < len(want):
            _, _, valid, p = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            cycle += 1
            if valid:
                got.append({"data": p.data, "present": p.present, "last": p.last})
                marks.setdefault("first", cycle)
                marks["last"] = cycle

    sim = Simulator(dut)
    sim.add_clock(1e-9)
    for bench in (words_src, lengths_src, sink):
        sim.add_testbench(bench)
    sim.run_until((50 * len(want) + 1000) * 1e-9)
    bad = same_values(got, want)
    assert bad is None, f"hardware values differ from the golden reconstruction at {bad}"
    return {"values": len(want), "cycles": marks["last"] - marks["first"] + 1,
            "latency": marks["first"] - marks["first_word"]}


MODES = [("none", False, False), ("none", True, True), ("dct1d", False, True),
         ("dct2d", False, True), ("dct2d", True, True), ("pred", False, False),
         ("pred", False, True)]


def main(a):
    from golden import network
    x = network.activation(a.layer)[:a.channels, :a.size, :a.size].contiguous()
    rows = []
    for transform, runs, adaptive in MODES:
        cfg = Config(transform=transform, runs=runs, adaptive=adaptive)
        r = measure(x, cfg, "uint8", a.word_width)
        d = measure_decompressor(x, cfg, "uint8", a.word_width)
        rows.append((transform, "on" if runs else "off", "adaptive" if adaptive else "0",
                     r["values"], r["cycles"] / r["values"], r["latency"], r["drain"],
                     d["cycles"] / d["values"], d["latency"]))
    print(f"Compressor and Decompressor, lanes 1, {a.word_width}-bit words, no stalls; "
          f"tensor: efficientnet-lite0 {a.layer} (astronaut), top-left crop of the first "
          f"{a.channels} channels, uint8 {tuple(x.shape)}, lossless")
    head = ("transform", "runs", "k", "values", "compressor cycles/value",
            "latency to first word", "last value to last word", "decompressor cycles/value",
            "first word to first value")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.4f} | {r[5]} | {r[6]} | "
              f"{r[7]:.4f} | {r[8]} |")
    return 0
