"""Bit packer and unpacker: variable-length codewords to W-bit words and
back to a bit window (twin of :mod:`golden.bitpack`)."""
from amaranth import Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2


def byte_swap(v):
    """Reverse the bytes of ``v``: a word in the stream's MSB-first order
    to the AXI byte order (stream byte i in bits 8i+7..8i), and back."""
    return Cat(*[v[i:i + 8] for i in reversed(range(0, len(v), 8))])


def codeword_layout(max_length):
    """Payload of a codeword stream: ``code`` (right-aligned, its
    ``length`` low bits are sent MSB first; the bits above them must be
    zero), ``length`` (0 sends nothing) and ``last`` (this item ends the
    tile)."""
    return data.StructLayout({
        "code": max_length,
        "length": range(max_length + 1),
        "last": 1,
    })


class BitPacker(wiring.Component):
    """Packs codewords MSB first into ``word_width``-bit words.

    The bytes of the stream are those of :func:`golden.bitpack.pack` with
    ``align = word_width // 8``: each tile is padded with zero bits to a
    word boundary. A word carries stream byte ``i`` (of the word) in bits
    ``8 i + 7 .. 8 i`` (the AXI byte order), so words written to ascending
    addresses of a little-endian memory give the stream's bytes.

    Parameters
    ----------
    max_length : int
        Longest ``length`` of an input item.
    word_width : {32, 64}

    Attributes
    ----------
    i : In(stream.Signature(codeword_layout(max_length)))
        Codewords. An item with ``last`` closes its tile.
    o : Out(stream.Signature(word_width))
        Words.
    lengths : Out(stream.Signature(32))
        One item per tile: the tile's length in bytes without the word
        padding (the ``tile_len`` of the golden model), valid one cycle
        after the tile's last codeword is taken.

    Latency and throughput
    ----------------------
    A word is valid the cycle after the codeword that completes it is
    taken. The packer takes one codeword per clock while its items average
    at most ``word_width`` bits; it holds at most ``word_width + max_length``
    bits rounded up to whole words, and stalls ``i`` (never loses a bit)
    while that buffer cannot take a ``max_length`` item. An item with
    ``last`` waits while the previous tile's length has not been taken.
    """

    def __init__(self, max_length, word_width=32):
        if word_width not in (32, 64):
            raise ValueError("word_width must be 32 or 64")
        if not 1 <= max_length <= 64:
            raise ValueError("max_length must be 1..64")
        self.max_length = max_length
        self.word_width = word_width
        self.capacity = -(-(word_width + max_length) // word_width) * word_width
        super().__init__({
            "i": In(stream.Signature(codeword_layout(max_length))),
            "o": Out(stream.Signature(word_width)),
            "lengths": Out(stream.Signature(32)),
        })

    def elaborate(self, platform):
        m = Module()
        W, C, L = self.word_width, self.capacity, self.max_length
        acc = Signal(C)              # buffered bits, MSB aligned
        n = Signal(range(C + 1))     # how many
        bits = Signal(32)            # bits of the current tile so far

        emit = Signal()
        m.d.comb += [
            self.o.valid.eq(n >= W),
            emit.eq(self.o.valid & self.o.ready),
        ]
        m.d.comb += self.o.payload.eq(byte_swap(acc[C - W:]))

        acc_left = Signal(C)
        n_left = Signal(range(C + 1))
        m.d.comb += [
            acc_left.eq(Mux(emit, acc << W, acc)),
            n_left.eq(Mux(emit, n - W, n)),
        ]
        item = self.i.payload
        length_free = ~self.lengths.valid | self.lengths.ready
        m.d.comb += self.i.ready.eq((n_left + L <= C) & (~item.last | length_free))

        with m.If(self.lengths.valid & self.lengths.ready):
            m.d.sync += self.lengths.valid.eq(0)

        take = self.i.valid & self.i.ready
        with m.If(take):
            # the code's first bit lands just after the n_left buffered bits
            shift = Signal(range(C + 1))
            end = Signal(range(C + L + 1))
            m.d.comb += [
                shift.eq(C - n_left - item.length),
                end.eq(n_left + item.length),
            ]
            placed = (item.code << shift)[:C]
            m.d.sync += acc.eq(acc_left | placed)
            with m.If(item.last):
                # zero bits up to the word boundary close the tile
                m.d.sync += [
                    n.eq((end + W - 1) & ~(W - 1)),
                    bits.eq(0),
                    self.lengths.valid.eq(1),
                    self.lengths.payload.eq((bits + item.length + 7) >> 3),
                ]
            with m.Else():
                m.d.sync += [n.eq(end), bits.eq(bits + item.length)]
        with m.Else():
            m.d.sync += [acc.eq(acc_left), n.eq(n_left)]
        return m


class BitUnpacker(wiring.Component):
    """Presents the next ``window`` bits of the current tile, MSB first.

    A tile opens when its length (bytes, as ``BitPacker.lengths`` gives it)
    is taken; its region is the following ``ceil(length / (W / 8))`` words.
    Each cycle the reader may drop ``consume`` bits (at most ``count``);
    ``close`` ends the tile: the rest of its region is discarded, words
    included, and the next length is taken.

    Parameters
    ----------
    word_width : {32, 64}
    window : int
        Bits presented at once (the most a reader drops per cycle).

    Attributes
    ----------
    words : In(stream.Signature(word_width))
        Stream words in AXI byte order (stream byte i in bits 8i+7..8i).
    lengths : In(stream.Signature(32))
    bits : Out(window)
        The next bits of the region, first bit in the MSB.
    count : Out(range(window + word_width + 1))
        How many buffered bits ``bits`` starts with (all of them are valid
        when ``count >= window``).
    left : Out(32)
        Bits of the tile not consumed yet (``8 * length`` at the start).
    open : Out(1)
        A tile is open.
    consume : In(range(window + 1))
    close : In(1)

    Latency and throughput
    ----------------------
    A word taken at cycle t is in ``bits`` at t + 1. One word per clock
    comes in whenever the buffer has room after this cycle's ``consume``,
    so a reader that drops at most ``word_width`` bits per cycle never
    waits once the window has filled. Closing takes one cycle per word
    left in the region.
    """

    def __init__(self, word_width=32, window=40):
        self.word_width = word_width
        self.window = window
        self.capacity = window + word_width
        super().__init__({
            "words": In(stream.Signature(word_width)),
            "lengths": In(stream.Signature(32)),
            "bits": Out(window),
            "count": Out(range(self.capacity + 1)),
            "left": Out(32),
            "open": Out(1),
            "consume": In(range(window + 1)),
            "close": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        W, B, N = self.word_width, self.capacity, self.window
        buf = Signal(B)                       # MSB aligned
        words_left = Signal(32)
        draining = Signal()
        m.d.comb += self.bits.eq(buf[B - N:])
        word = byte_swap(self.words.payload)

        with m.If(~self.open & ~draining):
            m.d.comb += self.lengths.ready.eq(1)
            with m.If(self.lengths.valid):
                nbytes = self.lengths.payload
                m.d.sync += [
                    self.open.eq(1),
                    self.left.eq(nbytes << 3),
                    words_left.eq((nbytes + (W // 8 - 1)) >> exact_log2(W // 8)),
                    self.count.eq(0),
                    buf.eq(0),
                ]
        with m.Elif(draining):
            # discard the rest of the closed tile's region
            with m.If(words_left == 0):
                m.d.sync += draining.eq(0)
            with m.Else():
                m.d.comb += self.words.ready.eq(1)
                with m.If(self.words.valid):
                    m.d.sync += words_left.eq(words_left - 1)
        with m.Elif(self.close):
            m.d.sync += [self.open.eq(0), draining.eq(1), self.count.eq(0), buf.eq(0)]
        with m.Else():
            kept = Signal(range(B + 1))
            shifted = Signal(B)
            m.d.comb += [
                kept.eq(self.count - self.consume),
                shifted.eq(buf << self.consume),
            ]
            room = (kept + W <= B) & (words_left != 0)
            m.d.comb += self.words.ready.eq(room)
            take = room & self.words.valid
            placed = (word << (B - W)) >> kept
            m.d.sync += [
                buf.eq(Mux(take, shifted | placed[:B], shifted)),
                self.count.eq(Mux(take, kept + W, kept)),
                self.left.eq(self.left - self.consume),
            ]
            with m.If(take):
                m.d.sync += words_left.eq(words_left - 1)
        return m
