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
        ctx.set(dut.i.valid, 1)
        cycle = 0
        for item in items:
            ctx.set(dut.i.payload, item)
            while True:
                _, _, ready = await ctx.tick().sample(dut.i.ready)
                cycle += 1
                if ready:
                    taken.append(cycle)
                    break
        ctx.set(dut.i.valid, 0)

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
        rows.append((transform, "on" if runs else "off", "adaptive" if adaptive else "0",
                     r["values"], r["cycles"] / r["values"], r["latency"], r["drain"]))
    print(f"Compressor, lanes 1, {a.word_width}-bit words, no stalls; tensor: "
          f"efficientnet-lite0 {a.layer} (astronaut), top-left crop of the first {a.channels} "
          f"channels, uint8 "
          f"{tuple(x.shape)}, lossless")
    head = ("transform", "runs", "k", "values", "cycles/value", "latency to first word",
            "last value to last word")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.4f} | {r[5]} | {r[6]} |")
    return 0
