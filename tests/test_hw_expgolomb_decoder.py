"""hw.expgolomb.ExpGolombDecoder (behind a BitUnpacker) against the golden
levels: the decoder's output is the levels in scan order (the
reconstruction for pred)."""
import random

import pytest

from golden import codec
from hw.bench import payload_words, shape_item
from hw.testbench import receive, run, send
from test_hw_compressor import CONFIGS, random_tensor


@pytest.mark.parametrize("name", ["none-zigzag", "dct1d-column-runs", "dct2d-runs",
                                  "none-adaptive", "pred-lossy-step3"])
def test_levels_in_scan_order(name):
    from amaranth import Module
    from amaranth.lib import stream, wiring
    from hw.bitpack import BitUnpacker
    from hw.decompressor import join
    from hw.expgolomb import ExpGolombDecoder
    from hw.tiling import TileWalker
    config = CONFIGS[name].replace(align=4)
    x = random_tensor("int8", (2, 10, 12), 5)
    enc = codec.encode(x, config)
    lv, _, _, rec = codec.analyse(x, config)
    want = (rec.reshape(-1, 64) if rec is not None else lv).reshape(-1).tolist()
    width = codec.coef_width(config.transform, "int8")
    m = Module()
    m.submodules.dec = dec = ExpGolombDecoder(config, "int8", width, 32)
    m.submodules.unp = unp = BitUnpacker(32, dec.window)
    wiring.connect(m, unp.o, dec.bits)
    m.submodules.walker = walker = TileWalker(config.tile_blocks)
    lengths_in = stream.Signature(32).flip().create()
    join(m, lengths_in, walker.o, dec.tiles)
    got = {}

    async def words(ctx):
        await send(ctx, unp.words, payload_words(enc.payload, 32), random.Random(1), 0.2)

    async def lengths(ctx):
        await send(ctx, walker.i, [shape_item(x)])
        await send(ctx, lengths_in, enc.tile_lengths)

    async def sink(ctx):
        got["out"] = await receive(ctx, dec.o, len(want), random.Random(2), 0.2)

    run(m, words, lengths, sink, deadline=20 * len(want))
    present = codec.present_mask(tuple(x.shape), config)
    keep = present.reshape(-1).tolist() if present is not None else [True] * len(want)
    assert [o["value"] for o, k in zip(got["out"], keep) if k] == \
        [v for v, k in zip(want, keep) if k]
    assert [o["index"] for o in got["out"]] == [j % 64 for j in range(len(want))]


def test_leading_zeros_tree():
    """The tree count equals the definition on every single-bit word, the
    zero word and random words (58 bits: the pred window)."""
    import random

    from amaranth import Module, Signal
    from amaranth.sim import Simulator

    from hw.expgolomb import leading_zeros
    n = 58
    m = Module()
    bits = Signal(n)
    z = leading_zeros(m, bits, "z")
    rng = random.Random(5)
    words = [0] + [1 << j for j in range(n)] + [rng.getrandbits(n) >> rng.randrange(n)
                                                for _ in range(300)]
    sim = Simulator(m)

    async def bench(ctx):
        for w in words:
            ctx.set(bits, w)
            assert ctx.get(z) == n - w.bit_length(), hex(w)

    sim.add_testbench(bench)
    sim.run()
