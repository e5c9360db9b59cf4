"""hw.tiling.Tiler: positions, tile framing and the error flag."""
from hw.tiling import Tiler
from hwsim import receive, run, send


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
