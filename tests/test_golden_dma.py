"""golden.dma: the DRAM layout, bursts and traffic the DMA engines follow."""
import pytest
import torch

from golden import Config, codec
from golden import dma


def test_bursts_split_at_16_beats_and_4k():
    assert dma.bursts(0x0F00, 8 * 40, 8) == [(0x0F00, 16), (0x0F80, 16), (0x1000, 8)]
    assert dma.bursts(0x0FF8, 8 * 3, 8) == [(0x0FF8, 1), (0x1000, 2)]
    assert dma.bursts(0x2000, 4 * 17, 4) == [(0x2000, 16), (0x2040, 1)]
    assert dma.bursts(0x100, 0, 8) == []


@pytest.mark.parametrize("addr,size,nb", [(0, 8 * 1000, 8), (0xFE8, 4 * 333, 4), (0x7FF0, 8 * 77, 8)])
def test_bursts_cover_every_word_once_and_never_cross_a_page(addr, size, nb):
    got = dma.bursts(addr, size, nb)
    a = addr
    for start, beats in got:
        assert start == a and 1 <= beats <= 16
        assert start // 4096 == (start + beats * nb - 1) // 4096
        a += beats * nb
    assert a == addr + size


def test_bursts_reject_unaligned():
    with pytest.raises(ValueError, match="whole 8-byte words"):
        dma.bursts(0x104, 16, 8)


def test_index_and_writes_follow_the_container():
    x = torch.randint(0, 256, (2, 20, 30), generator=torch.Generator().manual_seed(3)).to(torch.uint8)
    enc = codec.encode(x, Config(tile_blocks=3, align=8))
    tiles = len(enc.tile_lengths)
    idx = dma.index_bytes(enc)
    assert len(idx) == 8 * tiles
    assert dma.parse_index(idx, tiles) == list(zip(enc.offsets[:-1], enc.tile_lengths))
    writes = dma.data_writes(enc, 0x1000)
    assert [a for a, _ in writes] == [0x1000 + o for o in enc.offsets[:-1]]
    assert b"".join(w for _, w in writes) == b"".join(
        enc.payload[o:o + n] for o, n in zip(enc.offsets, enc.tile_lengths))
    data, index = dma.write_bursts(enc, 0x1000, 0x8000, 8)
    assert sum(b for _, b in data) * 8 == enc.offsets[-1]
    assert sum(b for _, b in index) * 8 == 8 * tiles
    with pytest.raises(ValueError, match="needs"):
        dma.parse_index(idx[:-1], tiles)


def test_data_bursts_do_not_span_tiles():
    x = torch.randint(0, 256, (3, 19, 21), generator=torch.Generator().manual_seed(1)).to(torch.uint8)
    enc = codec.encode(x, Config(tile_blocks=2, align=8))
    data, _ = dma.write_bursts(enc, 0, 0x10000, 8)
    starts = set(enc.offsets)
    for a, beats in data:
        tile_end = min(o for o in starts if o > a)
        assert a + 8 * beats <= tile_end


def test_traffic_counts():
    x = torch.zeros(1, 64, 64, dtype=torch.uint8)
    enc = codec.encode(x, Config(align=8))
    t = dma.traffic(enc, 8)
    assert t["values"] == 4096 and t["raw_bytes"] == 4096 and t["raw_bursts"] == 32
    assert t["bytes"] == t["data_bytes"] + t["index_bytes"]
    assert t["index_bytes"] == 8 * len(enc.tile_lengths)
    assert t["reduction"] == 4096 / t["bytes"]
    with pytest.raises(ValueError, match="align = 4"):
        dma.write_bursts(enc, 0, 0, 4)


def test_traffic_table_totals():
    x = torch.randint(0, 256, (4, 16, 16), generator=torch.Generator().manual_seed(5)).to(torch.uint8)
    t = dma.traffic(codec.encode(x, Config(align=8)), 8)
    lines = dma.traffic_table([("a", (4, 16, 16), t), ("b", (4, 16, 16), t)], 8)
    assert lines[2].startswith(f"| a | 4x16x16 | 1,024 | {t['bytes']:,} (")
    assert lines[-1] == (f"| **all** | | 2,048 | {2 * t['bytes']:,} ({2 * t['data_bytes']:,} + "
                         f"{2 * t['index_bytes']:,}) | {2 * t['bursts']} | 2,048 / 16 | "
                         f"{2048 / (2 * t['bytes']):.2f}x |")
