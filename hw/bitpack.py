"""Bit packer and unpacker: variable-length codewords to W-bit words and
back to a bit window (twin of :mod:`golden.bitpack`)."""
from amaranth import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from .lanes import skid


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

    Three stages, so that no loop holds more than a small adder: *place*
    keeps only the fill of the current word (``log2(word_width)`` bits)
    and gives each codeword, aligned to the left, its offset in that word
    (the fill before it) and the number of words it completes (with the
    padding, for a tile's last); *shift* moves the codeword right by its
    offset; *merge* ORs it into the buffered words and sends them out,
    one per clock, taking the next codeword while at most one whole word
    waits.

    Parameters
    ----------
    max_length : int
        Longest ``length`` of an input item.
    word_width : {32, 64}
    max_tile_bits : int or None
        The most bits a tile can hold (sizes the tile's bit counter;
        None: 32 bits).
    sliced : bool
        A register slice (:func:`hw.lanes.skid`) between *place* and
        *shift*: the input's ``ready`` then follows flip-flops of the
        place stage only, not the merge's word count; one clock more.

    Attributes
    ----------
    i : In(stream.Signature(codeword_layout(max_length)))
        Codewords. An item with ``last`` closes its tile. The code's bits
        above ``length`` must be zero.
    o : Out(stream.Signature(word_width))
        Words.
    lengths : Out(stream.Signature(32))
        One item per tile: the tile's length in bytes without the word
        padding (the ``tile_len`` of the golden model), valid one cycle
        after the tile's last codeword is taken (its words may follow).

    Latency and throughput
    ----------------------
    A word is valid three cycles (four ``sliced``) after the codeword
    that completes it is taken. The packer takes one codeword per clock
    while each completes at most one word (with ``o`` taken every clock;
    a codeword completing two words, such as a tile's last with its
    padding, is absorbed when the next completes none). Codewords longer
    than a word stall ``i`` (never losing a bit) while the words drain.
    An item with ``last`` waits while the previous tile's length has not
    been taken.
    """

    def __init__(self, max_length, word_width=32, max_tile_bits=None, sliced=False):
        if word_width not in (32, 64):
            raise ValueError("word_width must be 32 or 64")
        if not 1 <= max_length <= 64:
            raise ValueError("max_length must be 1..64")
        self.max_length = max_length
        self.word_width = word_width
        # the words a codeword can touch, from the partial word on
        self.reach = -(-(word_width - 1 + max_length) // word_width)
        self.max_tile_bits = max_tile_bits
        self.sliced = sliced
        super().__init__({
            "i": In(stream.Signature(codeword_layout(max_length))),
            "o": Out(stream.Signature(word_width)),
            "lengths": Out(stream.Signature(32)),
        })

    def elaborate(self, platform):
        m = Module()
        W, L, R = self.word_width, self.max_length, self.reach
        lw = exact_log2(W)
        X = R * W                    # a placed codeword, from the partial word's MSB
        item = self.i.payload

        # -- place: the fill of the current word; shift and words ----------
        fill = Signal(lw)
        # bits of the current tile so far, plus 7 (its bytes rounded up are
        # then one adder from the item's length)
        bits7 = Signal(32 if self.max_tile_bits is None else range(self.max_tile_bits + 8),
                       init=7)
        placed = stream.Signature(data.StructLayout({
            "code": L,               # the codeword, its first bit in the MSB
            "fill": lw,              # the bits before it in its first word
            "words": range(R + 1),   # the words the codeword completes,
            "pad": 1,                # one more with a tile's padding
        })).create(path=("placed",))
        p_valid = placed.valid
        p_code, p_fill = placed.payload.code, placed.payload.fill
        p_words, p_pad = placed.payload.words, placed.payload.pad
        p_ready = Signal()
        length_free = ~self.lengths.valid | self.lengths.ready
        m.d.comb += self.i.ready.eq(p_ready & (~item.last | length_free))
        with m.If(self.lengths.valid & self.lengths.ready):
            m.d.sync += self.lengths.valid.eq(0)
        end = Signal(range(W + L))
        align = Signal(range(L + 1))
        m.d.comb += align.eq(L - item.length)
        m.d.comb += end.eq(fill + item.length)
        with m.If(p_ready):
            m.d.sync += p_valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            # aligned to the left here, so the shift stage moves it by the
            # fill only (a shorter shifter than by the end's X - end)
            m.d.sync += [p_valid.eq(1), p_code.eq((item.code << align)[:L]),
                         p_fill.eq(fill)]
            with m.If(item.last):
                # zero bits up to the word boundary close the tile
                # (the rounding up a flag: no second adder after the end's)
                m.d.sync += [
                    p_words.eq(end >> lw),
                    p_pad.eq(end[:lw] != 0),
                    fill.eq(0),
                    bits7.eq(7),
                    self.lengths.valid.eq(1),
                    self.lengths.payload.eq((bits7 + item.length) >> 3),
                ]
            with m.Else():
                m.d.sync += [p_words.eq(end >> lw), p_pad.eq(0), fill.eq(end[:lw]),
                             bits7.eq(bits7 + item.length)]

        # -- shift: the codeword at its offset -----------------------------
        q_valid = Signal()
        q_placed = Signal(X)
        q_words = Signal(range(R + 1))
        q_ready = Signal()
        shifted = placed
        if self.sliced:
            shifted = stream.Signature(placed.payload.shape()).create(path=("placed_slice",))
            skid(m, "placed", placed, shifted)
        s = shifted.payload
        m.d.comb += [p_ready.eq(~p_valid | placed.ready), shifted.ready.eq(q_ready)]
        with m.If(q_ready):
            m.d.sync += [q_valid.eq(shifted.valid), q_words.eq(s.words + s.pad),
                         q_placed.eq(Cat(Const(0, X - L), s.code) >> s.fill)]

        # -- merge: whole words out, the partial word kept -----------------
        ext = Signal(X + W)          # whole words from the MSB, then the partial one
        k = Signal(range(R + 2))     # whole words in ext
        # tests of k kept as flip-flops: the load (k - emit <= 1) is on
        # the ready path back through every stage before it
        k_some, k_few, k_two = Signal(), Signal(init=1), Signal()  # k != 0, k <= 1, k == 2
        m.d.comb += [self.o.valid.eq(k_some), self.o.payload.eq(byte_swap(ext[X:]))]
        emit = self.o.valid & self.o.ready
        k1 = Signal.like(k)
        m.d.comb += k1.eq(k - emit)
        load = Signal()
        m.d.comb += [load.eq(q_valid & (k_few | (k_two & self.o.ready))),
                     q_ready.eq(~q_valid | load)]
        kept = Mux(emit, ext << W, ext)[:X + W]
        # the partial word is word 0, or word 1 behind a whole word still waiting
        at = Mux(k1 == 1, Cat(q_placed, Const(0, W)), Cat(Const(0, W), q_placed))
        k_next = Signal.like(k)
        m.d.comb += k_next.eq(k1 + Mux(load, q_words, 0))
        m.d.sync += [ext.eq(kept | Mux(load, at, 0)), k.eq(k_next), k_some.eq(k_next != 0),
                     k_few.eq(k_next <= 1), k_two.eq(k_next == 2)]
        return m


def unpacker_capacity(window, word_width):
    """Bits a :class:`BitUnpacker` holds: the smallest power-of-two
    number of words with room for ``window + 2 * word_width`` bits."""
    words = 1
    while words * word_width < window + 2 * word_width:
        words *= 2
    return words * word_width


def window_signature(window, capacity):
    """A bit window seen from its producer: ``bits`` (the next ``window``
    bits, first in the MSB; bits past ``count`` are unspecified),
    ``count`` (how many bits are buffered, up to ``capacity``) and
    ``consume`` (the reader drops that many of them this cycle, at most
    ``min(count, window)``)."""
    return wiring.Signature({
        "bits": Out(window),
        "count": Out(range(capacity + 1)),
        "consume": In(range(window + 1)),
    })


def rotate_window(m, ring, amount, window, bits=None, wrap=True, name="rotate"):
    """The top ``window`` bits of ``ring`` rotated left by ``amount``: a
    rotation by halves from the largest, each stage keeping only the bits
    the smaller ones can still reach (fewer muxes than a full barrel), and
    each stage one multiplexer of whole vectors into its own signal (fast
    to simulate; an expression reused by the next stage would be copied
    into the Verilog at every use).

    ``bits`` (default: all of ``amount``'s) are the stages to build, so
    that a pipeline register can sit between two calls: the first on the
    high bits, the second, with ``wrap=False`` (its input is no longer
    the whole ring), on the rest."""
    n = len(ring)
    v = ring
    for i in sorted(range(len(amount)) if bits is None else bits, reverse=True):
        step = 1 << i
        keep = min(n, window + step - 1)
        # the whole ring wraps around
        src = Cat(v, v) if wrap and len(v) == n else v
        top = len(src)
        stage = Signal(keep, name=f"{name}{i}")
        m.d.comb += stage.eq(Mux(amount[i], src[top - keep - step:top - step],
                                 v[len(v) - keep:]))
        v = stage
    return v


class BitUnpacker(wiring.Component):
    """Turns a stream of words back into a bit window, MSB first.

    The words sit in a ring of :func:`unpacker_capacity` bits; the window
    is the ring read from a bit pointer, so a ``consume`` only moves the
    pointer and a word only fills its slot (one rotator, no shifting of
    the buffer). The unpacker knows nothing of tiles: the reader (the
    Exp-Golomb decoder) counts each tile's region and drops its padding.

    Parameters
    ----------
    word_width : {32, 64}
    window : int
        Bits presented at once (the most a reader drops per cycle).

    Attributes
    ----------
    words : In(stream.Signature(word_width))
        Stream words in AXI byte order (stream byte i in bits 8i+7..8i).
    o : Out(window_signature(window, unpacker_capacity(window, word_width)))

    Latency and throughput
    ----------------------
    A word taken at cycle t is in ``o.bits`` at t + 1. A word comes in
    every cycle that starts with room for it (at most ``capacity -
    word_width`` bits buffered, at least ``window + word_width``): the
    decision does not wait for the reader's ``consume``, which keeps the
    decoder's long path out of ``words.ready``. A reader that drops at
    most ``word_width`` bits per cycle on average finds ``window`` bits
    buffered whenever it last dropped at most ``word_width + 1``.
    """

    def __init__(self, word_width=32, window=40):
        self.word_width = word_width
        self.window = window
        self.capacity = unpacker_capacity(window, word_width)
        super().__init__({
            "words": In(stream.Signature(word_width)),
            "o": Out(window_signature(window, self.capacity)),
        })

    def elaborate(self, platform):
        m = Module()
        W, B, N = self.word_width, self.capacity, self.window
        slots = B // W
        ring = [Signal(W, name=f"slot{s}") for s in range(slots)]
        head = Signal(range(B))               # ring bit of the next stream bit
        tail = Signal(range(max(2, slots)))   # the slot the next word fills
        count = self.o.count
        room = count <= B - W
        m.d.comb += self.words.ready.eq(room)
        take = room & self.words.valid
        with m.If(take):
            with m.Switch(tail):
                for s in range(slots):
                    with m.Case(s):
                        m.d.sync += ring[s].eq(self.words.payload)
            m.d.sync += tail.eq(tail + 1)
        # the ring in stream order from its MSB: slot 0 on top, each word's
        # stream byte 0 in its top byte
        ring_msb = Signal(B)
        m.d.comb += ring_msb.eq(Cat(*[byte_swap(r) for r in reversed(ring)]))
        m.d.comb += self.o.bits.eq(rotate_window(m, ring_msb, head, N))
        m.d.sync += [
            head.eq(head + self.o.consume),
            count.eq(count - self.o.consume + Mux(take, W, 0)),
        ]
        return m
