"""Bit packing: codewords to bytes, MSB first, tiles aligned.

Each byte is filled from its most significant bit, bytes in increasing
address order, so a standard MSB-first bit reader decodes the stream (as in
H.264 and JPEG). Every tile starts at a byte offset that is a multiple of
``align``; after its last codeword the tile is padded with zero bits to a
byte boundary (its *length*), then with zero bytes to a multiple of
``align`` (its *region*). The hardware packer emits ``8 * align``-bit words,
so tile regions are whole DRAM words.
"""
import torch

MAX_LENGTH = 32  # longest codeword the packer takes (spans at most two 32-bit words)


def pack(codes, lengths, tile, n_tiles, align):
    """Pack codewords into the payload.

    Parameters
    ----------
    codes, lengths : int64 tensors
        Codeword values and bit lengths in stream order (``codes <
        2**lengths``, ``lengths <= MAX_LENGTH``).
    tile : int64 tensor
        Tile index of each codeword, non-decreasing.
    n_tiles, align : int

    Returns
    -------
    payload : uint8 tensor
    offsets : int64 tensor of n_tiles + 1 region starts (the last is the
        payload length)
    tile_len : int64 tensor of n_tiles lengths in bytes (without the zero
        bytes of alignment)
    tile_bits : int64 tensor of n_tiles lengths in bits
    """
    if lengths.numel() and int(lengths.max()) > MAX_LENGTH:
        raise ValueError(f"codeword longer than {MAX_LENGTH} bits")
    tile_bits = torch.zeros(n_tiles, dtype=torch.int64).index_add_(0, tile, lengths)
    tile_len = (tile_bits + 7) >> 3
    region = (tile_len + align - 1) // align * align
    offsets = torch.zeros(n_tiles + 1, dtype=torch.int64)
    offsets[1:] = torch.cumsum(region, 0)
    before = torch.cumsum(lengths, 0) - lengths
    # first bit of a tile's region minus the bits of the tiles before it
    shift = offsets[:-1] * 8 - (torch.cumsum(tile_bits, 0) - tile_bits)
    start = before + shift[tile]
    total = int(offsets[-1])
    # OR each codeword into the two 32-bit words it can touch (disjoint
    # bits, so adding is OR-ing), then write the words big-endian. A 63-bit
    # window keeps every shift inside int64.
    words = torch.zeros(total // 4 + 2, dtype=torch.int64)
    w = codes << (63 - (start & 31) - lengths)
    words.index_add_(0, start >> 5, w >> 31)
    words.index_add_(0, (start >> 5) + 1, (w & 0x7FFFFFFF) << 1)
    shifts = torch.tensor([24, 16, 8, 0])
    out = ((words[:, None] >> shifts) & 0xFF).reshape(-1)[:total]
    return out.to(torch.uint8), offsets, tile_len, tile_bits


class BitReader:
    """Random-access MSB-first reads over a payload, vectorised.

    ``read(pos, n)`` returns the ``n <= 49`` bits starting at bit ``pos``
    (zeros past the end); ``leading_zeros(pos)`` counts zero bits from
    ``pos``, up to 32.
    """

    def __init__(self, payload):
        data = payload.to(torch.int64)
        self.nbits = data.numel() * 8
        padded = torch.cat([data, data.new_zeros(7)])
        win = torch.zeros(data.numel() + 1, dtype=torch.int64)
        for i in range(7):
            win += padded[i:i + data.numel() + 1] << (48 - 8 * i)
        self.window = win  # the 56 bits from each byte on

    def read(self, pos, n):
        pos = pos.clamp(0, self.nbits)
        w = self.window[pos >> 3]
        return (w >> (56 - (pos & 7) - n)) & ((1 << n) - 1)

    def leading_zeros(self, pos):
        w = self.read(pos, 32)
        return 32 - torch.frexp(w.double())[1].to(torch.int64)
