"""hw.tiling.Tiler: positions, tile framing and the error flag."""
from hw.tiling import Tiler
from hw.testbench import receive, run, send, stream_through


def frame(n_values, tile_blocks, last_at):
    dut = Tiler("uint8", tile_blocks)
    items = [{"data": j & 0xFF, "present": 1, "last": int(j in last_at)} for j in range(n_values)]
    got = {}

    async def source(ctx):
        await send(ctx, dut.i, items)
        await ctx.tick()
        got["error"] = ctx.get(dut.error)

    async def sink(ctx):
        got["out"] = await receive(ctx, dut.o, n_values)

    run(dut, source, sink, deadline=10 * n_values + 50)
    return got


def test_tiles_end_at_tile_blocks_and_at_the_tensor_end():
    # 5 blocks, tiles of 2 blocks: tiles of 2, 2, 1; a second tensor of 1 block
    got = frame(64 * 6, 2, {64 * 5 - 1, 64 * 6 - 1})
    out = got["out"]
    assert [o["pos"] for o in out] == list(range(64)) * 6
    firsts = [j for j, o in enumerate(out) if o["first"]]
    lasts = [j for j, o in enumerate(out) if o["last"]]
    assert firsts == [0, 128, 256, 320]
    assert lasts == [127, 255, 319, 383]
    assert got["error"] == 0


def test_last_inside_a_block_raises_error():
    got = frame(128, 16, {100})
    assert got["error"] == 1
    assert [j for j, o in enumerate(got["out"]) if o["last"]] == []


def golden_places(shape, tile_blocks, first=0, count=0):
    """Each tile's place from golden.tiling's block order: its number, first
    block (plane, block row, block column) and the tensor's extents; for
    ``count`` tiles from ``first`` (0: to the end), the last one ``final``
    when ``count`` is given."""
    from golden import tiling
    n, c, h, w = tiling.as_nchw(shape)
    _, _, bh, bw = tiling.block_grid(shape)
    out = []
    for t, b in enumerate(range(0, tiling.n_blocks(shape), tile_blocks)):
        out.append({"tile": t, "plane": b // (bh * bw), "brow": b // bw % bh, "bcol": b % bw,
                    "planes": n * c - 1, "bh": bh - 1, "bw": bw - 1,
                    "rows_last": (h - 1) % 8, "cols_last": (w - 1) % 8, "final": 0})
    out = out[first:first + count if count else None]
    if count and out:
        out[-1]["final"] = 1
    return out


def test_walker_places_match_the_golden_block_order():
    """TileWalker on tensors back to back (narrow, flat, one block, many
    planes), with gaps and back-pressure: every tile's place is where
    golden.tiling puts its first block."""
    from hw.bench import shape_item
    from hw.tiling import TileWalker
    import torch
    shapes = [(3, 17, 9), (1, 5, 70), (1, 8, 8), (2, 3, 40, 3), (7, 8, 16)]
    for tile_blocks in (1, 3, 16):
        dut = TileWalker(tile_blocks)
        want = [p for s in shapes for p in golden_places(s, tile_blocks)]
        out = stream_through(dut, dut.i, [shape_item(torch.zeros(s)) for s in shapes], dut.o,
                             len(want), 0.3, 0.3, 1, deadline=100 * len(want) + 200)
        assert out == want, tile_blocks


def test_walker_tile_ranges():
    """Shapes with a tile range: the places of those tiles only, the last
    ``final`` when the range ends early; a range past the tensor gives
    nothing, and the next shape is walked normally."""
    from hw.bench import shape_item
    from hw.tiling import TileWalker
    import torch
    shape = (3, 17, 30)          # 3 x 3 x 4 = 36 blocks
    reqs = [(0, 0), (5, 1), (2, 4), (11, 0), (9, 3), (40, 2), (0, 2)]
    for tile_blocks in (1, 3):
        dut = TileWalker(tile_blocks)
        want = [p for f, n in reqs for p in golden_places(shape, tile_blocks, f, n)]
        items = [shape_item(torch.zeros(shape), f, n) for f, n in reqs]
        out = stream_through(dut, dut.i, items, dut.o, len(want), 0.3, 0.3, 1,
                             deadline=100 * len(want) + 2000)
        assert out == want, tile_blocks


def test_walker_without_ranges_walks_whole_tensors():
    """``ranges=False``: a shape's tile range is ignored, every tile of
    every tensor comes out, as golden.tiling places them."""
    from hw.bench import shape_item
    from hw.tiling import TileWalker
    import torch
    shapes = [(3, 17, 30), (1, 5, 70), (2, 3, 40, 3)]
    for tile_blocks in (1, 3, 16):
        dut = TileWalker(tile_blocks, ranges=False)
        want = [p for s in shapes for p in golden_places(s, tile_blocks)]
        items = [shape_item(torch.zeros(s), 2, 1) for s in shapes]
        out = stream_through(dut, dut.i, items, dut.o, len(want), 0.3, 0.3, 1,
                             deadline=100 * len(want) + 200)
        assert out == want, tile_blocks
