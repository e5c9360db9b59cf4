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

WINDOW = 40  # bits a codeword may span (offset in byte + length)


def pack(codes, lengths, tile, n_tiles, align):
    """Pack codewords into the payload.

    Parameters
    ----------
    codes, lengths : int64 tensors
        Codeword values and bit lengths in stream order (``codes <
        2**lengths``, ``lengths <= 33``).
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
    if lengths.numel() and int(lengths.max()) > WINDOW - 7:
        raise ValueError("codeword longer than 33 bits")
    tile_bits = torch.zeros(n_tiles, dtype=torch.int64).index_add_(0, tile, lengths)
    tile_len = (tile_bits + 7) >> 3
    region = (tile_len + align - 1) // align * align
    offsets = torch.zeros(n_tiles + 1, dtype=torch.int64)
    offsets[1:] = torch.cumsum(region, 0)
    before = torch.cumsum(lengths, 0) - lengths
    tile_first = torch.cumsum(tile_bits, 0) - tile_bits
    start = offsets[tile] * 8 + before - tile_first[tile]
    total = int(offsets[-1])
    buf = torch.zeros(total + WINDOW // 8, dtype=torch.int64)
    b0 = start >> 3
    v = codes << (WINDOW - (start & 7) - lengths)
    # codewords occupy disjoint bits, so adding the bytes is OR-ing them
    for i in range(WINDOW // 8):
        buf.index_add_(0, b0 + i, (v >> (WINDOW - 8 - 8 * i)) & 0xFF)
    return buf[:total].to(torch.uint8), offsets, tile_len, tile_bits


class BitReader:
    """Random-access MSB-first reads over a payload, vectorised.

    ``next_one[i]`` is the index of the first 1 bit at or after bit ``i``
    (``nbits`` if there is none), so the leading zeros of a codeword are one
    look-up; ``read(pos, n)`` returns ``n <= 49`` bits starting at ``pos``.
    """

    def __init__(self, payload):
        data = payload.to(torch.int64)
        self.nbits = data.numel() * 8
        shifts = torch.arange(7, -1, -1)
        bits = ((data[:, None] >> shifts) & 1).reshape(-1)
        idx = torch.where(bits == 1, torch.arange(self.nbits), self.nbits)
        idx = torch.cat([idx, torch.tensor([self.nbits])]).to(torch.int32)
        self.next_one = torch.flip(torch.cummin(torch.flip(idx, (0,)), 0).values, (0,))
        padded = torch.cat([data, data.new_zeros(7)])
        win = torch.zeros(data.numel() + 1, dtype=torch.int64)
        for i in range(7):
            win += padded[i:i + data.numel() + 1] << (48 - 8 * i)
        self.window = win  # 56 bits from each byte

    def first_one(self, pos):
        return self.next_one[pos.clamp(0, self.nbits)].to(torch.int64)

    def read(self, pos, n):
        pos = pos.clamp(0, self.nbits)
        w = self.window[pos >> 3]
        return (w >> (56 - (pos & 7) - n)) & ((1 << n) - 1)
