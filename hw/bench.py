"""Cycle counts of the gateware in simulation (``python -m hw bench``)."""
import threading

from amaranth.sim import Simulator

from golden import codec, tiling
from golden.config import Config


def simulate(dut, benches, deadline=None):
    """Simulate ``dut`` with its sync domain at 1 GHz (1 ns per clock) and
    the async testbenches ``benches`` until they have all returned. Past
    ``deadline`` clocks (if given) a background watchdog raises
    AssertionError, so a hang fails instead of spinning."""
    sim = Simulator(dut)
    sim.add_clock(1e-9)
    for b in benches:
        sim.add_testbench(b)
    if deadline is not None:
        async def watchdog(ctx):
            for _ in range(deadline):
                await ctx.tick()
            raise AssertionError(f"the testbenches did not finish within {deadline} clocks")
        sim.add_testbench(watchdog, background=True)
    run_shallow(sim.run)
    return sim


def run_shallow(fn):
    """Call ``fn`` at the bottom of a fresh thread's stack and re-raise
    what it raises. CPython 3.11 frees a frame-stack chunk whenever the
    frame at its start returns (gh-142183, fixed in 3.13): a simulator loop
    that keeps crossing a chunk boundary, as deep under pytest, spent most
    of its time in mmap/munmap (8-lane cases 5x slower). A fresh stack puts
    the loop at a fixed, shallow depth."""
    out = []

    def body():
        try:
            fn()
        except BaseException as e:  # noqa: B036 - handed to the caller
            out.append(e)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if out:
        raise out[0]


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


def lane_streams(enc, word_width, lanes=1):
    """Each lane's (words, lengths) for an encoded tensor ``enc`` (encoded
    with ``align = word_width // 8``): lane ``l`` codes tiles ``l, l +
    lanes, ...`` (:mod:`hw.lanes`). One lane gets the whole payload (tile
    regions are whole words and back to back) and every length."""
    words = [[] for _ in range(lanes)]
    lengths = [[] for _ in range(lanes)]
    for t, n in enumerate(enc.tile_lengths):
        region = enc.payload[enc.offsets[t]:enc.offsets[t + 1]]
        words[t % lanes] += payload_words(region, word_width)
        lengths[t % lanes].append(n)
    return words, lengths


def per_lane(port, lanes):
    """A top's port as a list of one port per lane (an array with 8 lanes)."""
    return [port] if lanes == 1 else [port[n] for n in range(lanes)]


def beats(items, lanes):
    """Values as a top with ``lanes`` lanes takes or gives them: as they
    are with one lane, as block rows with 8."""
    return items if lanes == 1 else rows(items)


def rows(items):
    """Values (hw.tiling.value_layout items) as block rows
    (hw.lanes.row_layout items); ``None`` data stays ``None``."""
    out = []
    for r in range(0, len(items), 8):
        row = items[r:r + 8]
        out.append({"data": [it["data"] for it in row],
                    "present": sum(it["present"] << i for i, it in enumerate(row)),
                    "last": row[-1]["last"]})
    return out


def shape_item(x, first=0, count=0):
    """The ``shape`` item (:data:`hw.tiling.ShapeLayout`) of tensor ``x``;
    ``count`` tiles from tile ``first`` (0: to the end)."""
    n, c, h, w = tiling.as_nchw(tuple(x.shape))
    return {"planes": n * c, "height": h, "width": w, "first": first, "count": count}


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


def expected_values(x, config, first=0, count=0):
    """The decompressor's output for the stream of ``x``: the golden
    reconstruction's values (None on block padding), ``present`` and
    ``last``, in block order; for a tile range (``count`` tiles from
    ``first``, 0: to the end), the values of those tiles, ``last`` on the
    range's last value."""
    items = value_items(codec.reconstruct(x, config))
    out = [{"data": it["data"] if it["present"] else None, "present": it["present"],
            "last": it["last"]} for it in items]
    span = 64 * config.tile_blocks
    out = out[first * span:(first + count) * span if count else None]
    if out:
        out[-1]["last"] = 1
    return out


def same_values(got, want):
    """Index of the first output that differs from ``want`` (padding values
    are free), or None. Rows (8 lanes) are compared as their values."""
    got, want = unrow(got), unrow(want)
    if len(got) != len(want):
        return min(len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        if g["present"] != w["present"] or g["last"] != w["last"] or \
                (w["data"] is not None and g["data"] != w["data"]):
            return i
    return None


def unrow(items):
    """Block rows back to values (the inverse of :func:`rows`); values
    stay as they are."""
    if not items or not isinstance(items[0]["data"], list):
        return items
    out = []
    for row in items:
        for i, d in enumerate(row["data"]):
            out.append({"data": d, "present": (row["present"] >> i) & 1,
                        "last": row["last"] if i == len(row["data"]) - 1 else 0})
    return out


def measure(x, config, dtype, word_width=32, lanes=1):
    """Run the Compressor on ``x`` with no gaps and no back-pressure.

    Returns a dict: ``values``; ``cycles`` from the first beat taken to
    the last (``values / lanes`` at one value per clock per lane);
    ``latency`` from the first beat taken to the first word valid;
    ``drain`` from the last beat taken to the last word. Raises
    AssertionError when the words differ from the golden stream.
    """
    from .compressor import Compressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    dut = Compressor(config, dtype, word_width, lanes=lanes)
    items = beats(value_items(x), lanes)
    want, _ = lane_streams(enc, word_width, lanes)
    outs = list(zip(per_lane(dut.o, lanes), per_lane(dut.lengths, lanes)))
    taken, words, marks = [], [[] for _ in outs], {}

    async def source(ctx):
        taken.extend(await offer(ctx, dut.i, items))

    async def sink(ctx):
        for o, ln in outs:
            ctx.set(o.ready, 1)
            ctx.set(ln.ready, 1)
        cycle = 0
        while any(len(w) < len(v) for w, v in zip(words, want)):
            sampled = await ctx.tick().sample(*[p for o, _ in outs for p in (o.valid, o.payload)])
            cycle += 1
            for n in range(len(outs)):
                valid, payload = sampled[2 + 2 * n], sampled[3 + 2 * n]
                if valid:
                    words[n].append(payload)
                    marks.setdefault("first", cycle)
                    marks["last"] = cycle

    simulate(dut, [source, sink], 50 * len(items) * 8 // lanes + 1000)
    assert words == want, "hardware words differ from the golden stream"
    return {"values": len(items) * (8 if lanes > 1 else 1), "cycles": taken[-1] - taken[0] + 1,
            "latency": marks["first"] - taken[0], "drain": marks["last"] - taken[-1]}


def measure_decompressor(x, config, dtype, word_width=32, lanes=1, ranges=True,
                         interleaved=False):
    """Run the Decompressor on the golden stream of ``x`` with words and
    lengths always offered (every lane's) and no back-pressure
    (``ranges=False``: the whole-tensor build; ``interleaved``: the
    lossless-only build of :class:`hw.interleaved.InterleavedLane`).

    Returns a dict: ``values``; ``cycles`` from the first beat out to the
    last (``values / lanes`` at one value per clock per lane);
    ``latency`` from the first word taken to the first beat. Raises
    AssertionError when the values differ from the golden reconstruction.
    """
    from .decompressor import Decompressor
    enc = codec.encode(x, config.replace(align=word_width // 8))
    want = beats(expected_values(x, config), lanes)
    dut = Decompressor(config, dtype, word_width, lanes=lanes, ranges=ranges,
                       lossy=not interleaved, interleaved=interleaved)
    words, lengths = lane_streams(enc, word_width, lanes)
    ins = list(zip(per_lane(dut.words, lanes), per_lane(dut.lengths, lanes)))
    got, marks = [], {"first_word": []}

    def sources(n):
        async def words_src(ctx):
            if words[n]:
                marks["first_word"].append((await offer(ctx, ins[n][0], words[n]))[0])

        async def lengths_src(ctx):
            await offer(ctx, ins[n][1], lengths[n])
        return [words_src, lengths_src]

    async def shape_src(ctx):
        await offer(ctx, dut.shape, [shape_item(x)])

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        cycle = 0
        while len(got) < len(want):
            _, _, valid, p = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            cycle += 1
            if valid:
                got.append({"data": list(p.data) if lanes > 1 else p.data,
                            "present": p.present, "last": p.last})
                marks.setdefault("first", cycle)
                marks["last"] = cycle

    simulate(dut, [shape_src, sink] + [b for n in range(len(ins)) for b in sources(n)],
             50 * len(want) * 8 // lanes + 1000)
    bad = same_values(got, want)
    assert bad is None, f"hardware values differ from the golden reconstruction at {bad}"
    return {"values": len(want) * (8 if lanes > 1 else 1),
            "cycles": marks["last"] - marks["first"] + 1,
            "latency": marks["first"] - min(marks["first_word"])}


MODES = [("none", False, False), ("none", True, True), ("dct1d", False, True),
         ("dct2d", False, True), ("dct2d", True, True), ("pred", False, False),
         ("pred", False, True)]


def main(a):
    from golden import network
    x = network.activation(a.layer)[:a.channels, :a.size, :a.size].contiguous()
    if a.lanes > 1:
        return main_lanes(a, x)
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
    _table(head, [(r[0], r[1], r[2], r[3], f"{r[4]:.4f}", r[5], r[6], f"{r[7]:.4f}", r[8])
                  for r in rows])
    return 0


def main_lanes(a, x):
    """8 lanes: the decompressor's steady rate is measured on the tensor
    and its first half (the difference in cycles over the difference in
    values), apart from the one-off first tile."""
    half = x[:max(1, x.shape[0] // 2)].contiguous()
    rows = []
    for transform, runs, adaptive in MODES:
        cfg = Config(transform=transform, runs=runs, adaptive=adaptive)
        r = measure(x, cfg, "uint8", a.word_width, lanes=a.lanes)
        d = measure_decompressor(x, cfg, "uint8", a.word_width, lanes=a.lanes)
        h = measure_decompressor(half, cfg, "uint8", a.word_width, lanes=a.lanes)
        steady = (d["cycles"] - h["cycles"]) / (d["values"] - h["values"])
        rows.append((transform, "on" if runs else "off", "adaptive" if adaptive else "0",
                     r["values"], f"{r['values'] / r['cycles']:.3f}", r["latency"], r["drain"],
                     f"{d['values'] / d['cycles']:.3f}", f"{1 / steady:.3f}", d["latency"]))
    print(f"Compressor and Decompressor, lanes {a.lanes}, {a.word_width}-bit words, no stalls, "
          f"tiles of 16 blocks; tensor: efficientnet-lite0 {a.layer} (astronaut), top-left "
          f"crop of the first {a.channels} channels, uint8 {tuple(x.shape)}, lossless; steady: "
          f"the tensor minus its first {half.shape[0]} channels")
    head = ("transform", "runs", "k", "values", "compressor values/clock",
            "latency to first word", "last beat to last word", "decompressor values/clock",
            "decompressor steady values/clock", "first word to first row")
    _table(head, rows)
    return 0


def _table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r) + " |")
