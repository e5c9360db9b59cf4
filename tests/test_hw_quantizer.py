"""hw.quantizer against golden.quantizer: the reciprocal division for every
dividend and step, and the Quantizer with a step-table change between
tiles."""
import random

import pytest
import torch

from golden import quantizer as gq
from hw.quantizer import Quantizer, dividend_width, reciprocals, recip_shift
from hw.testbench import receive, run, send, stream_through, write_table


@pytest.mark.parametrize("value_width", [9, 11, 13])
def test_reciprocal_division_is_exact(value_width):
    nw = dividend_width(value_width)
    n = torch.arange(1 << nw, dtype=torch.int64)
    for s, m in enumerate(reciprocals(nw)):
        if s:
            assert torch.equal((n * m) >> recip_shift(nw), n // s), s


def coef_items(values, tile_blocks):
    items = []
    for j, v in enumerate(values):
        b, i = divmod(j, 64)
        items.append({"value": v, "index": i, "pos": i, "present": 1,
                      "first": int(i == 0 and b % tile_blocks == 0),
                      "last": int(i == 63 and (b + 1) % tile_blocks == 0)})
    return items


def test_table_change_between_tiles():
    """A table written while the first tile streams applies from the next
    tile on, whole; values at the ends of the range, random stalls."""
    width, rounding, tile_blocks = 13, 5, 2
    rng = random.Random(3)
    first = [rng.randrange(1, 256) for _ in range(64)]
    second = [rng.randrange(1, 256) for _ in range(64)]
    lim = 1 << (width - 1)
    values = [rng.choice([-lim, lim - 1, 0, rng.randrange(-lim, lim)]) for _ in range(64 * 4)]
    dut = Quantizer(width, rounding, first)
    got = {}

    async def source(ctx):
        await send(ctx, dut.i, coef_items(values, tile_blocks), rng, 0.2)

    async def writer(ctx):
        await ctx.tick().repeat(20)  # inside the first tile
        await write_table(ctx, dut.table, second)

    async def sink(ctx):
        got["out"] = await receive(ctx, dut.o, len(values), random.Random(4), 0.2)

    run(dut, source, writer, sink, deadline=5000)
    want = []
    for t, table in enumerate([first, second]):
        c = torch.tensor(values[t * 128:(t + 1) * 128]).reshape(2, 8, 8)
        want += gq.quantize(c, table, rounding).reshape(-1).tolist()
    assert [o["value"] for o in got["out"]] == want
    assert [o["last"] for o in got["out"]] == [it["last"] for it in coef_items(values, 2)]


@pytest.mark.parametrize("width", [9, 13])
def test_dequantizer_matches_golden(width):
    """Dequantizer against golden.quantizer.dequantize: random steps,
    levels across the range (saturating products included), stalls."""
    from hw.quantizer import Dequantizer
    rng = random.Random(width)
    table = [rng.randrange(1, 256) for _ in range(64)]
    lim = 1 << (width - 1)
    levels = [rng.choice([rng.randrange(-lim, lim), rng.randrange(-4, 5), -lim, lim - 1])
              for _ in range(3 * 64)]
    want = gq.dequantize(torch.tensor(levels).reshape(-1, 8, 8), table, width).reshape(-1)
    dut = Dequantizer(width, table)
    items = coef_items(levels, 1)
    out = stream_through(dut, dut.i, items, dut.o, len(items), 0.3, 0.3, 1,
                         deadline=20 * len(items))
    assert [o["value"] for o in out] == want.tolist()
    assert [(o["pos"], o["first"], o["last"]) for o in out] == \
        [(i["pos"], i["first"], i["last"]) for i in items]
