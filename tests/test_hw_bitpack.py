"""hw.bitpack.BitPacker against golden.bitpack.pack."""
import random

import pytest
import torch

from golden import bitpack
from hw.bench import payload_words
from hw.bitpack import BitPacker, BitUnpacker
from hw.testbench import receive, run, send


def golden_words(items, word_width):
    """The packer's expected words (stream bytes, little-endian in a word)
    and tile lengths, from the golden packer."""
    # golden codewords are at most 32 bits: split longer items in two
    codes, lengths, tile, t = [], [], [], 0
    for c, n, last in items:
        parts = [(c >> 20, n - 20), (c & 0xFFFFF, 20)] if n > 32 else [(c, n)]
        for pc, pn in parts:
            codes.append(pc)
            lengths.append(pn)
            tile.append(t)
        t += last
    codes = torch.tensor(codes, dtype=torch.int64)
    lengths = torch.tensor(lengths, dtype=torch.int64)
    payload, _, tlen, _ = bitpack.pack(codes, lengths, torch.tensor(tile), t, word_width // 8)
    return payload_words(payload.numpy().tobytes(), word_width), tlen.tolist()


def random_items(rng, n_tiles, max_length, long_bias=0.0):
    items = []
    for _ in range(n_tiles):
        for j in range(rng.randrange(1, 40)):
            n = max_length if rng.random() < long_bias else rng.randrange(0, max_length + 1)
            items.append([rng.randrange(1 << n) if n else 0, n, 0])
        if items[-1][1] == 0:
            items[-1][1], items[-1][0] = 1, 1  # a tile has at least one bit
        items[-1][2] = 1
    return [tuple(i) for i in items]


def simulate(items, max_length, word_width, gaps=0.0, stalls=0.0, seed=0, sliced=False):
    words, tlen = golden_words(items, word_width)
    dut = BitPacker(max_length, word_width, sliced=sliced)
    got = {}

    async def source(ctx):
        await send(ctx, dut.i, [{"code": c, "length": n, "last": l} for c, n, l in items],
                   random.Random(seed), gaps)

    async def words_sink(ctx):
        got["words"] = await receive(ctx, dut.o, len(words), random.Random(seed + 1), stalls)

    async def length_sink(ctx):
        got["lengths"] = await receive(ctx, dut.lengths, len(tlen), random.Random(seed + 2),
                                       stalls)

    run(dut, source, words_sink, length_sink, deadline=20 * len(items) + 200)
    assert got.get("words") == words
    assert got.get("lengths") == tlen


@pytest.mark.parametrize("sliced", [False, True])
@pytest.mark.parametrize("word_width", [32, 64])
@pytest.mark.parametrize("max_length", [19, 40])
def test_random_codewords_with_stalls(word_width, max_length, sliced):
    rng = random.Random(word_width * 100 + max_length)
    items = random_items(rng, 12, max_length, long_bias=0.3)
    simulate(items, max_length, word_width, gaps=0.3, stalls=0.3, seed=max_length,
             sliced=sliced)


@pytest.mark.parametrize("sliced", [False, True])
def test_one_codeword_per_clock(sliced):
    """With items of at most word_width bits and no stalls, one per clock:
    N items leave the last word within N + 4 cycles (three of latency,
    plus one), N + 5 with the slice (four of latency)."""
    max_length, word_width = 19, 32
    rng = random.Random(5)
    items = random_items(rng, 30, max_length, long_bias=1.0)
    dut = BitPacker(max_length, word_width, sliced=sliced)
    words, _ = golden_words(items, word_width)
    cycles = {}

    async def source(ctx):
        await send(ctx, dut.i, [{"code": c, "length": n, "last": l} for c, n, l in items])
        cycles["in"] = ctx.get(dut.i.valid)  # 0: all taken

    async def sink(ctx):
        got = []
        t = 0
        ctx.set(dut.o.ready, 1)
        ctx.set(dut.lengths.ready, 1)
        while len(got) < len(words):
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            t += 1
            if valid:
                got.append(payload)
        cycles["out"] = t
        assert got == words

    run(dut, source, sink, deadline=10 * len(items))
    assert cycles["out"] <= len(items) + 4 + sliced, (cycles, len(items))


def test_items_longer_than_a_word_stall_cleanly():
    """40-bit items on 32-bit words: the packer drains one word per clock,
    so it takes items at 32/40 of the clock, and every bit arrives."""
    n_items = 200
    items = [((1 << 39) | i, 40, int(i == n_items - 1)) for i in range(n_items)]
    words, _ = golden_words(items, 32)
    dut = BitPacker(40, 32)
    out = {}

    async def source(ctx):
        ctx.set(dut.i.valid, 1)
        cycles = 0
        for c, n, last in items:
            ctx.set(dut.i.payload, {"code": c, "length": n, "last": last})
            while True:
                _, _, ready = await ctx.tick().sample(dut.i.ready)
                cycles += 1
                if ready:
                    break
        ctx.set(dut.i.valid, 0)
        out["cycles"] = cycles

    async def sink(ctx):
        ctx.set(dut.lengths.ready, 1)
        out["words"] = await receive(ctx, dut.o, len(words))

    run(dut, source, sink, deadline=2000)
    assert out["words"] == words
    # 8000 bits leave as 250 words, one per clock: the input waits
    assert 250 - 3 <= out["cycles"] <= 250 + 3, out


def unpack(word_width, window, seed, gaps, max_take):
    rng = random.Random(seed)
    items = random_items(rng, 10, 19)
    words, tlen = golden_words(items, word_width)
    # the stream's bits: every word, MSB-first byte order
    bits = "".join(format(b, "08b") for w in words
                   for b in w.to_bytes(word_width // 8, "little"))
    dut = BitUnpacker(word_width, window)
    stats = {"waits": 0}

    async def words_src(ctx):
        await send(ctx, dut.words, words, random.Random(seed + 1), gaps)

    async def reader(ctx):
        pos = 0
        while pos < len(bits):
            count, win = ctx.get(dut.o.count), ctx.get(dut.o.bits)
            have = min(count, window)
            want = bits[pos:pos + have]
            got = format(win, f"0{window}b")
            assert got[:len(want)] == want, (pos, got, want)
            take = min(have, rng.randint(0, max_take))
            if have < min(window, len(bits) - pos):
                stats["waits"] += 1
            ctx.set(dut.o.consume, take)
            await ctx.tick()
            ctx.set(dut.o.consume, 0)
            pos += take
        stats["done"] = True

    run(dut, words_src, reader, deadline=200 * len(words) + 500)
    assert stats.get("done")
    return stats


@pytest.mark.parametrize("word_width", [32, 64])
def test_unpacker_window_follows_the_stream(word_width):
    """Random word gaps and random consumption (up to the whole window):
    the window always starts with the stream's next bits, as many as
    ``count`` says."""
    unpack(word_width, 40, word_width, 0.3, 40)


@pytest.mark.parametrize("word_width", [32, 64])
def test_unpacker_refills_without_bubbles(word_width):
    """Words always ready, a reader taking up to a word per cycle: once
    the window has filled (the first word or two) it never waits."""
    stats = unpack(word_width, 40, 2, 0.0, word_width)
    assert stats["waits"] <= (2 if word_width == 32 else 1), stats
