"""hw.interleaved.InterleavedDecoder: each slot's values equal the golden
reconstruction of its tiles, and its errors those of the one-tile
decoder (hw.decompressor.Decompressor) on the same damaged stream."""
import random

import pytest

from golden import codec
from golden.errors import FormatError
from golden.config import Config
from hw.bench import expected_values, lane_streams, same_values
from hw.testbench import corrupt, decompress, receive, run, send
from test_hw_compressor import random_tensor
from test_hw_tiling import golden_places


def slot_streams(x, config, slots, words=None, lengths=None):
    """Each slot's words and tile requests: tile ``t`` goes to slot ``t %
    slots`` (as lanes deal them); ``words`` and ``lengths`` (one stream,
    all tiles) replace the clean ones where given."""
    enc = codec.encode(x, config)
    if words is None:
        per_words, per_lengths = lane_streams(enc, 32, slots)
    else:
        per_words, per_lengths = [[] for _ in range(slots)], [[] for _ in range(slots)]
        start = 0
        for t, n in enumerate(lengths):
            region = -(-n // 4)
            per_words[t % slots] += words[start:start + region]
            per_lengths[t % slots].append(n)
            start += region
    places = golden_places(tuple(x.shape), config.tile_blocks)
    tiles = [[{"length": n, "place": places[t]}
              for n, t in zip(per_lengths[s], range(s, len(places), slots))]
             for s in range(slots)]
    return per_words, tiles


def expected_slots(x, config, slots):
    """Each slot's values (hw.bench.expected_values items), its tiles' in order."""
    want = expected_values(x, config)
    span = 64 * config.tile_blocks
    out = [[] for _ in range(slots)]
    for t, s in enumerate(range(0, len(want), span)):
        out[t % slots] += want[s:s + span]
    return out


def in_tile_order(tiles):
    """The slots' requests (``tiles[s]``: slot ``s``'s tiles) as one
    stream tagged by slot, in tile order (tile ``k`` of slot ``k mod
    slots``), as :class:`hw.interleaved.Dealer` offers them."""
    slots = len(tiles)
    return [{"slot": s, "tile": tiles[s][j]}
            for j in range(max(map(len, tiles), default=0)) for s in range(slots)
            if j < len(tiles[s])]


def decode(config, dtype, words, tiles, count, gaps=0.0, stalls=0.0, seed=0):
    """Run the decoder; returns (each slot's output items, the errors as
    (slot, cause, tile), cycles until the last value)."""
    from hw.interleaved import InterleavedDecoder
    dut = InterleavedDecoder(config, dtype)
    got = {"errors": []}

    def words_src(s):
        async def bench(ctx):
            await send(ctx, dut.words[s], words[s], random.Random(seed + 10 * s), gaps)
        return bench

    async def tiles_src(ctx):
        await send(ctx, dut.tiles, in_tile_order(tiles), random.Random(seed + 3), gaps)

    async def sink(ctx):
        got["out"] = await receive(ctx, dut.o, count, random.Random(seed + 1), stalls)

    async def monitor(ctx):
        n = 0
        async for _, _, err, slot, cause, tile in ctx.tick().sample(
                dut.error, dut.error_slot, dut.cause, dut.error_tile):
            if err:
                got["errors"].append((slot, cause, tile))
            n += 1
            if "out" in got:
                got["cycles"] = n
                return

    benches = [words_src(s) for s in range(dut.slots)]
    run(dut, sink, monitor, tiles_src, *benches, deadline=40 * count + 2000)
    per = [[] for _ in range(dut.slots)]
    for o in got.get("out", []):
        per[o["slot"]].append({"data": o["value"], "present": o["present"], "last": o["last"],
                               "first": o["first"], "pos": o["pos"]})
    return per, got["errors"], got.get("cycles")


def check_slots(got, want, tile_values):
    for s, (g, w) in enumerate(zip(got, want)):
        assert same_values(g, w) is None, (s, same_values(g, w))
        assert [o["pos"] for o in g] == [j % 64 for j in range(len(g))]
        assert [j for j, o in enumerate(g) if o["first"]] == list(range(0, len(g), tile_values))


@pytest.mark.parametrize("dtype", ["uint8", "int8"])
@pytest.mark.parametrize("gaps,stalls", [(0.0, 0.0), (0.3, 0.3)])
def test_slots_decode_their_tiles(dtype, gaps, stalls):
    """Random and flat tensors, 16 one-block tiles over the eight slots
    (two each; the blocks of the last block row and column have padding),
    with and without gaps and back-pressure."""
    from hw.interleaved import InterleavedDecoder
    config = Config(tile_blocks=1)
    C = InterleavedDecoder.slots
    x = random_tensor(dtype, (2, 13, 26), 4)
    x[0, :6] = x[0, 0, 0]                         # flat rows: runs in flat contexts
    words, tiles = slot_streams(x, config.replace(align=4), C)
    want = expected_slots(x, config, C)
    got, errors, cycles = decode(config, dtype, words, tiles, sum(map(len, want)),
                                 gaps, stalls)
    assert errors == []
    check_slots(got, want, 64)


def test_real_tensor_one_value_per_clock(real_acts):
    """A real ReLU6 map (b10.dw, 8 channels, 16 tiles of 2 blocks): exact,
    and with every slot fed, one value per clock after the first turn:
    the busiest slot's values times the slots, plus the pipeline's fill
    and the first requests' arrival (one a clock on the shared port: the
    last slot's first tile comes C - 1 clocks after the first's)."""
    from hw.interleaved import InterleavedDecoder
    config = Config(tile_blocks=2)
    C = InterleavedDecoder.slots
    x = real_acts["b10.dw"][:8]
    words, tiles = slot_streams(x, config.replace(align=4), C)
    want = expected_slots(x, config, C)
    count = sum(map(len, want))
    got, errors, cycles = decode(config, "uint8", words, tiles, count)
    assert errors == []
    check_slots(got, want, 128)
    busiest = max(map(len, want))
    assert cycles <= C * busiest + 3 * C, (cycles, C * busiest)


@pytest.mark.parametrize("how", ["flip", "truncate", "pad", "garbage", "zeros", "padbit"])
def test_damaged_tile_as_the_one_tile_decoder(how):
    """A damaged tile gives the error (cause and tile) the one-tile
    decoder gives, in its slot; the values of every other tile are exact,
    and the damaged tile keeps its size. A padding bit set is cause 6
    (non-zero padding) in both."""
    from hw.interleaved import InterleavedDecoder
    from hw.testbench import decompress
    config = Config(tile_blocks=1)
    C = InterleavedDecoder.slots
    x = random_tensor("uint8", (1, 16, 40), 11)   # 10 blocks, 10 tiles
    enc = codec.encode(x, config.replace(align=4))
    all_words, all_lengths = lane_streams(enc, 32, 1)
    want = expected_slots(x, config, C)
    for trial in range(2):
        rng = random.Random(100 * trial + len(how))
        # (a padding bit: a tile whose last bit is padding, not its last
        # codeword's)
        tile = rng.choice([t for t in range(10) if how != "padbit" or
                           corrupt(all_words[0], all_lengths[0], 32, t, how, rng)[0]
                           != all_words[0]])
        bad_words, bad_lengths = corrupt(all_words[0], all_lengths[0], 32, tile, how, rng)
        ref, ref_errors, _ = decompress(bad_words, bad_lengths, x, config, "uint8", lossy=False)
        words, tiles = slot_streams(x, config.replace(align=4), C, bad_words, bad_lengths)
        got, errors, _ = decode(config, "uint8", words, tiles, sum(map(len, want)))
        assert [(t % C, c, t) for c, t in ref_errors] == errors, (tile, how)
        if how != "flip":
            assert errors, (tile, how)
        if how == "padbit":
            assert [c for c, _ in ref_errors] == [6], (tile, ref_errors)
            # and the golden decoder says so of the same bytes
            # (the tiles' regions are whole words, back to back)
            payload = b"".join(w.to_bytes(4, "little") for w in bad_words)
            offsets = [4 * sum(-(-n // 4) for n in bad_lengths[:t]) for t in range(11)]
            with pytest.raises(FormatError, match=f"tile {tile}: {codec.ERRORS[6]}"):
                codec.decode_payload(payload, config.replace(align=4), x.shape, "uint8",
                                     offsets)
        s = tile % C
        for other in range(C):
            if other != s:
                assert same_values(got[other], want[other]) is None
        # the damaged slot: its values equal the one-tile decoder's
        ref_slot = [v for t in range(s, 10, C) for v in ref[64 * t:64 * (t + 1)]]
        assert [(o["data"], o["present"], o["last"]) for o in got[s]] == \
            [(o["data"], o["present"], o["last"]) for o in ref_slot], (tile, how)


def order0(raw):
    """The bits of an order-0 Exp-Golomb codeword whose value field reads
    ``raw`` (golden.codec._codeword: the number is ``raw - 1``)."""
    return "0" * (raw.bit_length() - 1) + format(raw, "b")


def bits_words(bits, count):
    """``count`` 32-bit words of ``bits`` (padded with zeros): bytes in
    stream order, the first byte in a word's low bits, MSB first."""
    bits = bits.ljust(32 * count, "0")[:32 * count]
    data = [int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)]
    return [int.from_bytes(bytes(data[4 * j:4 * j + 4]), "little") for j in range(count)]


@pytest.mark.parametrize("raw", range(508, 516))
def test_level_range_at_its_bounds(raw):
    """A level at the ends of its range, where a number's parity is not
    the codeword's (the base, 1, is odd): the one-tile decoder's error or
    values. Tile 0 starts with value 1 (a flat position, number 8 + 0:
    raw 9), then column 1 in value mode, order 0, prediction 1, its
    number ``raw - 1`` around the range's bounds (509 odd, 512 even for
    levels -256..255); the rest of the tile is the clean stream's bits,
    shifted (they decode to something, or fail, as both decoders agree)."""
    config = Config(tile_blocks=1)
    x = random_tensor("uint8", (1, 8, 16), 3)   # 2 blocks, 2 tiles
    enc = codec.encode(x, config.replace(align=4))
    words, lengths = (s[0] for s in lane_streams(enc, 32, 1))
    n0 = -(-lengths[0] // 4)
    bad = bits_words(order0(9) + order0(raw), n0) + words[n0:]
    ref, ref_errors, _ = decompress(bad, lengths, x, config, "uint8", lossy=False)
    per, tiles = slot_streams(x, config.replace(align=4), 8, bad, lengths)
    got, errors, _ = decode(config, "uint8", per, tiles, 128)
    assert [(t % 8, c, t) for c, t in ref_errors] == errors
    for s in (0, 1):
        assert [(o["data"], o["present"], o["last"]) for o in got[s]] == \
            [(o["data"], o["present"], o["last"]) for o in ref[64 * s:64 * s + 64]], s


def tensors_streams(xs, config, lanes, word_width=32):
    """Each lane's words and lengths for tensors ``xs`` back to back
    (every tensor's tile 0 in lane 0)."""
    words, lengths = [[] for _ in range(lanes)], [[] for _ in range(lanes)]
    for x in xs:
        enc = codec.encode(x, config.replace(align=word_width // 8))
        w, n = lane_streams(enc, word_width, lanes)
        for lane in range(lanes):
            words[lane] += w[lane]
            lengths[lane] += n[lane]
    return (words[0], lengths[0]) if lanes == 1 else (words, lengths)


def test_lane_decompressor_back_to_back(lanes=8):
    """The Decompressor built of InterleavedLanes (eight; one lane in the
    tests below): tensors of 15, 1, 3, 9 and 1 two-block tiles back to
    back (partial last tiles; tensors with fewer tiles than slots or
    lanes, so slots hold several tensors' ends; the last, two planes of a
    partial block each, steps to the next plane inside a tile), words
    and lengths with gaps, the output with back-pressure (the slots' rings
    fill): the golden reconstruction, each tensor's last value or row
    marked, no error. 64-bit words, the eight-lane default."""
    from hw.bench import rows
    config = Config(tile_blocks=2)
    shapes = [(3, 20, 13), (1, 8, 8), (2, 9, 17), (1, 24, 46), (2, 5, 6)]
    xs = [random_tensor("uint8", s, 40 + i) for i, s in enumerate(shapes)]
    words, lengths = tensors_streams(xs, config, lanes, 64)
    got, errors, _ = decompress(words, lengths, xs, config, "uint8", 64, gaps=0.2, stalls=0.3,
                                lanes=lanes, interleaved=True)
    want = [v for x in xs for v in expected_values(x, config)]
    assert errors == []
    assert same_values(got, want if lanes == 1 else rows(want)) is None


@pytest.mark.parametrize("lanes", [1, 8])
def test_lane_decompressor_rate(lanes):
    """Words and lengths always offered, no back-pressure: once its slots
    are full a lane decodes one value per clock, so a tensor twice as long
    costs exactly its extra values (one lane) or rows (eight lanes) in
    cycles."""
    import torch

    from hw.bench import measure_decompressor
    config = Config(tile_blocks=1)
    x = random_tensor("int8", (2, 32, 32), 3)
    a = measure_decompressor(x, config, "int8", lanes=lanes, interleaved=True)
    b = measure_decompressor(torch.cat([x, x.flip(1)]), config, "int8", lanes=lanes,
                             interleaved=True)
    per_beat = 1 if lanes == 1 else 8
    assert (b["cycles"] - a["cycles"]) * per_beat == b["values"] - a["values"], (a, b)


@pytest.mark.parametrize("how", ["truncate", "garbage"])
def test_lane_decompressor_damaged_tile(how):
    """One lane, tiles 3 and 10 damaged: the interleaved decompressor's
    errors and values are the one-tile Decompressor's, exactly."""
    config = Config(tile_blocks=1)
    x = random_tensor("uint8", (2, 16, 32), 9)    # 16 tiles: two per slot
    words, lengths = tensors_streams([x], config, 1)
    rng = random.Random(len(how))
    for tile in (3, 10):
        words, lengths = corrupt(words, lengths, 32, tile, how, rng)
    want, want_errors, _ = decompress(words, lengths, x, config, "uint8", lossy=False)
    got, errors, _ = decompress(words, lengths, x, config, "uint8", gaps=0.2, stalls=0.2,
                                interleaved=True)
    assert {t for _, t in want_errors} == {3, 10}
    assert sorted(errors, key=lambda e: e[1]) == want_errors
    assert got == want


def test_lane_decompressor_refuses_what_it_cannot_decode():
    from hw.decompressor import Decompressor
    with pytest.raises(ValueError, match="lossless-only"):
        Decompressor(Config(), interleaved=True)
    with pytest.raises(ValueError, match="default configuration"):
        Decompressor(Config(transform="dct2d"), lossy=False, interleaved=True)


def test_lane_rings_fill():
    """One lane, an output taken one clock in four: the slots run ahead of
    the reader and their rings (two one-block tiles each) fill, so slots
    pass turns; twelve one-tile tensors put two tensors' ends in a slot's
    ring. Exact values and ``last`` marks all the same."""
    config = Config(tile_blocks=1)
    xs = [random_tensor("uint8", (1, 8, 8), 60 + i) for i in range(12)]
    xs.append(random_tensor("uint8", (1, 24, 64), 59))
    words, lengths = tensors_streams(xs, config, 1)
    got, errors, _ = decompress(words, lengths, xs, config, "uint8", stalls=0.75,
                                interleaved=True)
    want = [v for x in xs for v in expected_values(x, config)]
    assert errors == []
    assert same_values(got, want) is None


def test_lane_tile_ranges():
    """One interleaved lane, shapes with tile ranges and only those tiles'
    words and lengths (random access): the golden values of those tiles,
    ``last`` on the range's last value."""
    from hw.bench import payload_words
    config = Config(tile_blocks=1)
    x = random_tensor("uint8", (2, 16, 24), 23)      # 12 tiles
    enc = codec.encode(x, config)
    for first, count in [(1, 9), (10, 1)]:
        w = payload_words(enc.payload[enc.offsets[first]:enc.offsets[first + count]], 32)
        part, errors, _ = decompress(w, enc.tile_lengths[first:first + count], x, config,
                                     "uint8", gaps=0.2, stalls=0.2, tile_range=(first, count),
                                     count=64 * count, interleaved=True)
        assert errors == []
        assert [v["last"] for v in part].count(1) == 1 and part[-1]["last"] == 1
        assert same_values(part, expected_values(x, config, first, count)) is None


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dealer_gives_each_slot_its_tiles(seed):
    """hw.interleaved.Dealer alone: 60 tiles of 0 to 7 words (empty and
    one-word tiles included), requests and words sent with gaps; the
    request port is the decoder's (a request held per slot, ready while
    the offered slot holds none), and each slot takes its request, then
    that tile's words, then spends a while on it (as the decoder does),
    slots at very different paces, one far slower than the rest: slot s
    gets exactly the requests of tiles s, s + 8, ... in order, and their
    words; nothing lost, nothing overwritten; the request stream obeys
    the stream rules, and a request is offered only to a slot that can
    take it (the dealer counts an offer as taken)."""
    from hw.interleaved import Dealer
    from hw.testbench import _plain
    rng = random.Random(seed)
    C, W = 8, 32
    lengths = [rng.choice([0, 1, 4, 5, 9, 17, 28]) for _ in range(60)]
    tiles = [{"length": n, "place": {"tile": k}} for k, n in enumerate(lengths)]
    words = [[rng.randrange(1 << W) for _ in range(-(-n // 4))] for n in lengths]
    dut = Dealer(C, W, 4)
    got = {}
    held = [None] * C       # each slot's request, as the decoder holds it

    async def port(ctx):
        pending, taken = None, 0
        while taken < len(tiles):
            # the decoder's ready: the offered slot holds no request
            ready = held[ctx.get(dut.slot_tiles.payload.slot)] is None
            ctx.set(dut.slot_tiles.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.slot_tiles.valid,
                                                           dut.slot_tiles.payload)
            assert not valid or ready, "a request offered to a slot that holds one"
            if pending is not None:
                assert valid and _plain(payload) == pending, "request changed before transfer"
            pending = None
            if valid and ready:
                req = _plain(payload)
                held[req["slot"]] = req["tile"]
                taken += 1
            elif valid:
                pending = _plain(payload)
        ctx.set(dut.slot_tiles.ready, 0)

    def slot(s):
        srng = random.Random(100 * seed + s)
        # one slot far slower than the rest: the dealer meets its request
        # still held just as it moves on to it
        pace = srng.choice([0.0, 0.5, 0.9])
        busy = 300 if s == 3 + seed else srng.choice([0, 5, 60])

        async def decoder(ctx):
            got["tiles", s], got["words", s] = [], []
            for _ in range(s, len(tiles), C):
                while held[s] is None or srng.random() < pace:
                    await ctx.tick()
                t, held[s] = held[s], None
                got["tiles", s].append(t)
                got["words", s] += await receive(ctx, dut.slot_words[s],
                                                 -(-t["length"] // 4), srng, pace)
                for _ in range(srng.randrange(busy + 1)):
                    await ctx.tick()
        return decoder

    async def send_tiles(ctx):
        await send(ctx, dut.tiles, tiles, random.Random(seed + 10), 0.3)

    async def send_words(ctx):
        await send(ctx, dut.words, [w for ws in words for w in ws], random.Random(seed + 20), 0.2)

    run(dut, port, send_tiles, send_words, *[slot(s) for s in range(C)], deadline=40000)
    for s in range(C):
        mine = [k for k in range(len(tiles)) if k % C == s]
        assert [t["place"]["tile"] for t in got["tiles", s]] == mine, s
        assert [t["length"] for t in got["tiles", s]] == [lengths[k] for k in mine], s
        assert got["words", s] == [w for k in mine for w in words[k]], s
