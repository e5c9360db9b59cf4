"""Random and mutated streams: the decoder raises only FormatError, fast."""
import random
import time

import pytest
import torch

import golden
from golden import FormatError, codec, container


def valid_streams():
    g = torch.Generator().manual_seed(5)
    x = torch.randint(0, 256, (2, 13, 11), generator=g).to(torch.uint8)
    x[0, :6] = 0
    for transform in ("none", "dct2d"):
        for runs in (False, True):
            for adaptive in (False, True):
                cfg = golden.Config(transform=transform, runs=runs, adaptive=adaptive,
                                    qtable=1 if runs else 3, tile_blocks=2)
                yield x, cfg, golden.encode(x, cfg)
    for adaptive in (False, True):
        cfg = golden.Config(transform="pred", adaptive=adaptive, qtable=3, tile_blocks=2)
        yield x, cfg, golden.encode(x, cfg)
    cfg = golden.Config(runs=True, tile_blocks=2)
    yield x, cfg, golden.encode(x, cfg)


def decode_or_error(fn):
    t0 = time.perf_counter()
    try:
        out = fn()
    except FormatError as e:
        assert e.offset >= 0 and str(e).startswith("byte offset ")
        out = None
    assert time.perf_counter() - t0 < 5
    return out


def test_random_bytes():
    rnd = random.Random(1)
    for n in [0, 1, 3, 4, 10, 100, 1000]:
        for _ in range(20):
            data = bytes(rnd.randrange(256) for _ in range(n))
            if rnd.random() < 0.5:
                data = container.MAGIC + data
            decode_or_error(lambda: golden.decode(data))


def test_mutated_containers():
    rnd = random.Random(2)
    for x, cfg, enc in valid_streams():
        data = enc.container()
        for _ in range(60):
            m = bytearray(data)
            op = rnd.choice(["flip", "truncate", "extend", "byte"])
            if op == "flip":
                i = rnd.randrange(len(m) * 8)
                m[i // 8] ^= 0x80 >> (i % 8)
            elif op == "truncate":
                m = m[:rnd.randrange(len(m))]
            elif op == "extend":
                m += bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9)))
            else:
                m[rnd.randrange(len(m))] = rnd.randrange(256)
            with pytest.raises(FormatError):
                golden.decode(bytes(m))  # the checksums catch every mutation


def test_mutated_payloads_structural_checks():
    """Without the checksums (the raw decoder), corrupt payloads either raise
    FormatError or decode to a tensor of the right shape, never anything
    else, and within bounded time."""
    rnd = random.Random(3)
    raised = 0
    total = 0
    for x, cfg, enc in valid_streams():
        dtype = "uint8"
        for _ in range(80):
            m = bytearray(enc.payload)
            for _ in range(rnd.randrange(1, 4)):
                i = rnd.randrange(len(m) * 8)
                m[i // 8] ^= 0x80 >> (i % 8)
            if rnd.random() < 0.3:
                m = bytearray(rnd.randrange(256) for _ in range(len(m)))
            total += 1
            out = decode_or_error(lambda: codec.decode_payload(bytes(m), cfg, x.shape, dtype,
                                                               enc.offsets))
            if out is None:
                raised += 1
            else:
                assert out.shape == x.shape and out.dtype == x.dtype
    assert raised > total // 2


def test_error_names_offset_of_truncation():
    x, cfg, enc = next(valid_streams())
    data = enc.container()
    with pytest.raises(FormatError, match="truncated") as e:
        golden.decode(data[:-3])
    assert e.value.offset == len(data) - 3
    with pytest.raises(FormatError, match="bad magic"):
        golden.decode(b"GIF89a" + data[6:])


def test_tile_errors_have_causes():
    # a payload with valid checksums but one tile's region stretched by a
    # word: the structural check must name the tile and the cause
    x = torch.zeros(1, 8, 16, dtype=torch.uint8)
    cfg = golden.Config(transform="none", runs=True, adaptive=False, tile_blocks=1, align=1)
    enc = golden.encode(x, cfg)
    assert enc.payload == bytes([0x80, 0x80])  # one EOB bit per block
    with pytest.raises(FormatError, match="tile 0: tile length"):
        codec.decode_payload(b"\x80\x00\x80", cfg, x.shape, "uint8", [0, 2, 3])
    with pytest.raises(FormatError, match="tile 1: non-zero padding"):
        codec.decode_payload(b"\x80\x81", cfg, x.shape, "uint8", [0, 1, 2])
    with pytest.raises(FormatError, match="tile 0: codeword runs past the end"):
        # six zeros then a 1 needs six more bits: only one is left in the tile
        codec.decode_payload(b"\x02\x80", cfg, x.shape, "uint8", [0, 1, 2])
    with pytest.raises(FormatError, match="tile 0: codeword longer than the maximum"):
        codec.decode_payload(b"\x00\x80", cfg, x.shape, "uint8", [0, 1, 2])
    with pytest.raises(FormatError, match="tile 0: run past the end of the block"):
        # run symbol u = 65 (run 64): 000000 1000010 -> past position 63
        codec.decode_payload(bytes([0b00000010, 0b00010000, 0x80]), cfg, x.shape, "uint8",
                             [0, 2, 3])
