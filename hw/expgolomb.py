"""Exp-Golomb encoder: levels to codewords (twin of :mod:`golden.expgolomb`)."""
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import exact_log2

from golden import codec, scan
from golden.config import signed_symbols
from golden.expgolomb import MAX_K, THRESH, max_prefix

from .bitpack import codeword_layout, unpacker_capacity, window_signature
from .quantizer import TableSignature, absolute, coef_layout, select, step_table
from .scan import lookup
from .tiling import PlaceLayout, ShapeLayout, block_extent, first_place, next_block, tensor_end

STATE_WIDTH = 16  # golden.expgolomb: A <= 4 * max(u) + 3 fits 16 unsigned bits


def level_layout(value_width):
    """Payload of a level stream, one value of a block per item in scan
    order: ``value`` (signed level), ``index`` (scan index 0..63),
    ``k`` (order chosen by the transform: ``pred``'s context rule),
    ``present`` (the position lies inside the tensor), ``last`` (the
    last value of a tile), and for ``pred``'s run mode ``flat`` (the
    context's activity is 0) and ``same`` (the value equals its left
    neighbour, 0 where it has none)."""
    return data.StructLayout({
        "value": signed(value_width),
        "index": 6,
        "k": range(MAX_K + 1),
        "present": 1,
        "last": 1,
        "flat": 1,
        "same": 1,
    })


def codeword(m, u, k, name):
    """(code, length) of the order-k Exp-Golomb codeword of ``u``."""
    w = Signal(len(u) + 1, name=f"{name}_w")
    m.d.comb += w.eq(u + (1 << k))
    return codeword_of(m, w, k, name)


def codeword_of(m, w, k, name, top=None):
    """(code, length) of the order-k Exp-Golomb codeword whose value is
    ``w`` (the number plus ``2**k``, formed by the caller). The length is
    ``2 bit_length(w) - 1 - k``, i.e. ``top - 2 leading_zeros(w)`` with
    ``top = 2 len(w) - 1 - k``, which a pipelined caller may give ready
    (one subtraction after the count, not two)."""
    if top is None:
        top = codeword_top(w, k)
    length = Signal(range(2 * len(w) + 1), name=f"{name}_len")
    m.d.comb += length.eq(top - 2 * leading_zeros(m, w, f"{name}_z"))
    return w, length


def codeword_top(w, k):
    """The ``top`` of :func:`codeword_of` for a ``w`` as wide as ``w``."""
    return 2 * len(w) - 1 - k


def state_order(m, a, name):
    """Order of the adaptive rule for state ``a``
    (:func:`golden.expgolomb.order_from_state`), comb."""
    k = Signal(range(MAX_K + 1), name=name)
    for j in range(1, MAX_K + 1):
        with m.If(a >= THRESH[j]):
            m.d.comb += k.eq(j)
    return k


def max_item_length(config, dtype):
    """Longest encoder item: the longest codeword, or in the zero-run mode
    the longest run codeword plus the longest level codeword (``pred``'s
    run mode puts one codeword in an item: its run numbers are flat
    numbers, :func:`golden.codec.max_codeword_length` covers them)."""
    longest = codec.max_codeword_length(config, dtype)
    if config.zero_runs:
        krun = config.krun
        longest += 2 * ((64 + (1 << krun)).bit_length() - 1) - krun + 1
    return longest


class ExpGolombEncoder(wiring.Component):
    """Maps levels to numbers and codes them with Exp-Golomb codewords.

    The configuration is fixed at elaboration: the mapping (se(v) or
    ue(v), :func:`golden.config.signed_symbols`), value or run mode, the
    order per scan index (``ktable`` through the scan, the adaptive state
    rule, or the ``k`` field of the levels for transform ``pred``) and
    ``krun``. In run mode an item carries the run and the level codewords
    of a non-zero value concatenated, or the end-of-block codeword; zero
    values inside a block and, in value mode, positions outside the tensor
    give items of length 0. In ``pred``'s run mode (``flat`` and ``same`` from the
    predictor) a run's number goes in the item of its last value and the
    other values of the run give items of length 0; the value that
    interrupts it carries its own codeword. Knowing which value is a run's
    last takes the next level's ``same``: a value inside a run before
    column 7 waits, untaken, until the next level is offered.

    Parameters
    ----------
    config : golden.config.Config
    dtype : {"uint8", "int8"}
    value_width : int
        Signed width of the levels.

    Attributes
    ----------
    i : In(stream.Signature(level_layout(value_width)))
    o : Out(stream.Signature(codeword_layout(max_length)))
        ``max_length`` is the longest codeword of the configuration
        (:func:`golden.codec.max_codeword_length`), or in the zero-run
        mode the longest run codeword plus the longest level codeword
        (:func:`max_item_length`).

    Latency and throughput
    ----------------------
    Two cycles (a level taken at cycle t gives its codeword valid at
    t + 2), three in ``pred``'s run mode; one level per clock. In
    ``pred``'s run mode a level inside a run (before column 7) moves on
    in the cycle the next level is offered, so back-to-back levels still
    go at one per clock. The
    adaptive states live in a 64-entry memory read one cycle ahead; each
    tile starts from ``ktable``.
    """

    def __init__(self, config, dtype, value_width):
        self.config = config
        self.dtype = dtype
        self.value_width = value_width
        self.signed = signed_symbols(config.transform, dtype)
        self.context_k = config.transform == "pred" and config.adaptive
        order = scan.order(config.scan)
        self.kscan = [config.ktable[p] for p in order]
        self.max_length = max_item_length(config, dtype)
        super().__init__({
            "i": In(stream.Signature(level_layout(value_width))),
            "o": Out(stream.Signature(codeword_layout(self.max_length))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        vw = self.value_width
        state_adaptive = cfg.adaptive and not self.context_k

        # stage 1: the level, and the adaptive state of its index being read
        r1 = Signal(level_layout(vw))
        v1 = Signal()
        v2 = Signal()
        ready2 = Signal()
        wait = Signal()     # pred's run mode: the next level is needed first
        move = Signal()
        out_ready = Signal()    # stage 2's item may leave
        m.d.comb += [
            ready2.eq(~v2 | out_ready),
            move.eq(v1 & ready2 & ~wait),
            self.i.ready.eq(~v1 | move),
        ]
        load1 = self.i.valid & self.i.ready
        # the level's number is formed as the level is taken, so that
        # stage 1 starts from it
        value_in = self.i.payload.value
        mag = Signal(vw)
        m.d.comb += mag.eq(absolute(value_in))
        mapped = Signal(vw + 1)
        if self.signed:
            m.d.comb += mapped.eq((mag << 1) - (value_in > 0))
        else:
            m.d.comb += mapped.eq(value_in.as_unsigned())
        u = Signal(vw + 1)
        with m.If(load1):
            m.d.sync += [r1.eq(self.i.payload), v1.eq(1),
                         u.eq(mapped - 1 if cfg.zero_runs else mapped)]
        with m.Elif(move):
            m.d.sync += v1.eq(0)
        with m.If(move):
            m.d.sync += v2.eq(1)
        with m.Elif(out_ready):
            m.d.sync += v2.eq(0)

        value = r1.value
        coded = Signal()
        m.d.comb += coded.eq(value != 0 if cfg.zero_runs else r1.present)

        k = Signal(range(MAX_K + 1))
        if self.context_k:
            m.d.comb += k.eq(r1.k)
        elif state_adaptive:
            m.submodules.state = state = Memory(shape=unsigned(STATE_WIDTH), depth=64, init=[])
            rd = state.read_port()
            wr = state.write_port()
            known = Signal(64)       # which states were written in this tile
            first = Signal(init=1)   # the next level starts a tile
            m.d.comb += [rd.addr.eq(self.i.payload.index), rd.en.eq(load1)]
            kinit = lookup(m, r1.index, self.kscan, range(MAX_K + 1), "kinit")
            known1 = Signal()
            m.d.sync += known1.eq(Mux(load1, (known >> self.i.payload.index)[0] & ~first, known1))
            a = Signal(STATE_WIDTH)
            m.d.comb += a.eq(Mux(known1, rd.data, Mux(kinit == 0, 0, 3 << (kinit + 1))))
            m.d.comb += k.eq(state_order(m, a, "kstate"))
            write = move & coded
            m.d.comb += [
                wr.addr.eq(r1.index),
                wr.data.eq(a - (a >> 2) + u),
                wr.en.eq(write),
            ]
            # a tile's first level forgets the previous tile's states; the
            # write of the level before it (stage 2) loses to the clear
            set_mask = Mux(write, 1 << r1.index, 0)
            with m.If(load1 & first):
                m.d.sync += known.eq(0)
            with m.Else():
                m.d.sync += known.eq(known | set_mask)
            with m.If(load1):
                m.d.sync += first.eq(self.i.payload.last)
        else:
            m.d.comb += k.eq(lookup(m, r1.index, self.kscan, range(MAX_K + 1), "kscan"))

        if cfg.flat_runs:
            return self._flat_runs(m, r1, u, k, move, wait, v2, out_ready)
        m.d.comb += [self.o.valid.eq(v2), out_ready.eq(self.o.ready)]
        code, length = codeword(m, u, k, "lvl")
        out = self.o.payload
        with m.If(move):
            m.d.sync += out.last.eq(r1.last)
            if not cfg.runs:
                # the packer needs code < 2**length: zero when nothing is sent
                m.d.sync += [out.code.eq(Mux(coded, code, 0)), out.length.eq(Mux(coded, length, 0))]
            else:
                zeros = Signal(6)  # zeros since the last non-zero level of the block
                krun = cfg.krun
                rcode, rlength = codeword(m, zeros + 1, krun, "run")
                with m.If(coded):
                    m.d.sync += [
                        out.code.eq((rcode << length) | code),
                        out.length.eq(rlength + length),
                        zeros.eq(0),
                    ]
                with m.Elif(r1.index == 63):  # end of block
                    m.d.sync += [out.code.eq(1 << krun), out.length.eq(krun + 1)]
                with m.Else():
                    m.d.sync += [out.code.eq(0), out.length.eq(0), zeros.eq(zeros + 1)]
                with m.If(r1.index == 63):
                    m.d.sync += zeros.eq(0)
        return m

    def _flat_runs(self, m, r1, u, k, move, wait, v2, out_ready):
        """``pred``'s run mode (:func:`golden.predict.run_symbols`): a run
        of values equal to the left neighbour, started in a flat context,
        gives items of length 0 until its last value, whose item carries
        the run's number: 0 in column 7 (to the row's end), else its
        length, seen from the next level's ``same``. The value after a run
        that stops is coded as in the value mode. One codeword per item.

        Stage 2 holds the codeword's value and order; a third stage forms
        its length (the leading-one search and an adder, a cycle of their
        own)."""
        col = r1.index[0:3]
        inrun = Signal()                    # this value continues a run
        count = Signal(3)                   # the run's values before this one
        after = Signal()                    # this value interrupts a run
        start = ~inrun & ~after & r1.present & r1.flat
        nxt = self.i.payload
        # the level's own tests for the wait, taken with it (the wait is
        # on the input's ready): it would start a run, it is not a row's end
        starts1, mid1 = Signal(name="starts1"), Signal(name="mid1")
        take = self.i.valid & self.i.ready
        starts_n = Mux(take, nxt.present & nxt.flat & nxt.same, starts1)
        mid_n = Mux(take, nxt.index[0:3] != 7, mid1)
        m.d.sync += [starts1.eq(starts_n), mid1.eq(mid_n)]
        # a run reaching the tensor's edge goes on through the padding,
        # whatever values it holds (the golden padding repeats the edge)
        run = inrun | (start & (r1.same | ~r1.present))
        goes_on = nxt.same | ~nxt.present
        # the run state after this clock; the wait's test of it and of the
        # level in stage 1 kept as a flip-flop (``hold``), so that only the
        # input's valid is left before the ready
        inrun_n, after_n = Signal(name="inrun_n"), Signal(name="after_n")
        m.d.comb += [inrun_n.eq(inrun), after_n.eq(after)]
        with m.If(move):
            m.d.comb += [inrun_n.eq(run & (col != 7) & goes_on),
                         after_n.eq(run & (col != 7) & ~goes_on)]
        hold = Signal(name="hold")
        m.d.sync += [inrun.eq(inrun_n), after.eq(after_n),
                     hold.eq((inrun_n | (~after_n & starts_n)) & mid_n)]
        m.d.comb += wait.eq(hold & ~self.i.valid)
        length_so_far = Mux(inrun, count + 1, 1)
        # one codeword: a run's number, or in a flat context a value's
        # number u + 7 - c, or the value mode's number
        # its codeword's w = number + 2**order, each case's sum formed side
        # by side (order 0 in a run or a flat context)
        w = Signal(len(u) + 2, name="lvl_w")
        m.d.comb += w.eq(Mux(run, Mux(col == 7, 1, length_so_far + 1),
                             Mux(start, u + (8 - col), u + (1 << k))))
        w2 = Signal.like(w, name="w2")
        # the length's constant part with the order (codeword_of's top)
        top2 = Signal(range(2 * len(w)), name="top2")
        empty2, last2 = Signal(name="empty2"), Signal(name="last2")
        with m.If(move):
            m.d.sync += [last2.eq(r1.last), w2.eq(w),
                         top2.eq(codeword_top(w, Mux(run | start, 0, k))), empty2.eq(0)]
            with m.If(run & (col != 7) & goes_on):
                m.d.sync += [empty2.eq(1), count.eq(length_so_far)]
            with m.Elif(~run & ~r1.present):
                m.d.sync += empty2.eq(1)
        # stage 3: the codeword (code 0, length 0 for an empty item)
        code, length = codeword_of(m, w2, None, "lvl", top=top2)
        out = self.o.payload
        v3 = Signal(name="v3")
        m.d.comb += [self.o.valid.eq(v3), out_ready.eq(~v3 | self.o.ready)]
        with m.If(out_ready):
            m.d.sync += [v3.eq(v2), out.last.eq(last2), out.code.eq(Mux(empty2, 0, code)),
                         out.length.eq(Mux(empty2, 0, length))]
        return m


#: A tile for the decoder: its ``length`` in bytes and its ``place``
#: (:data:`hw.tiling.PlaceLayout`, from a :class:`hw.tiling.TileWalker`).
TileRequest = data.StructLayout({"length": 32, "place": PlaceLayout})


def number_level(m, n, is_signed, name):
    """The level number ``n`` codes: se(v) (1, -1, 2, -2, ... for odd,
    even ``n``) when ``is_signed``, else ``n`` itself; a new signal."""
    v = Signal(signed(len(n) + 2), name=name)
    m.d.comb += v.eq(Mux(n[0], (n + 1) >> 1, -(n >> 1)) if is_signed else n)
    return v


def level_out_of_range(n, is_signed, vlo, vhi):
    """Whether the level of number ``n`` (:func:`number_level`) is outside
    ``vlo..vhi``: tests of ``n`` against constants, without forming the
    level (it is on the decoders' critical paths)."""
    if not is_signed:
        return (n < vlo) | (n > vhi)
    # odd n: level (n + 1) / 2 > vhi; even n: level -n / 2 < vlo
    return Mux(n[0], n > 2 * vhi - 1, n > -2 * vlo)


def leading_zeros(m, bits, name):
    """Zero bits before the first 1 of ``bits`` (MSB first); ``len(bits)``
    when there is none. A balanced tree of halves (log depth: it is on the
    decoder's one-cycle path), not a priority chain; a 1 appended below
    the LSB and padding to a power of two make every count a choice
    between halves, with no adder."""
    size = 1 << len(bits).bit_length()
    padded = Cat(Const(0, size - len(bits) - 1), Const(1, 1), bits)

    def count(v, path):
        """(v is all zeros, leading zeros of v), len(v) a power of two; each
        node in signals (an expression used twice would be copied into
        the Verilog at every use)"""
        if len(v) == 1:
            return ~v[0], Const(0, 0)
        half = len(v) // 2
        zero_hi, lz_hi = count(v[half:], path + "h")   # the MSB half
        zero_lo, lz_lo = count(v[:half], path + "l")
        zero = Signal(name=f"{name}_zero{path}")
        lz = Signal(exact_log2(len(v)), name=f"{name}_lz{path}")
        m.d.comb += [zero.eq(zero_hi & zero_lo), lz.eq(Cat(Mux(zero_hi, lz_lo, lz_hi), zero_hi))]
        return zero, lz

    z = Signal(range(len(bits) + 1), name=name)
    m.d.comb += z.eq(count(padded, "")[1])
    return z


def read_codeword(m, bits, count, left, k, zmax, name, base=None):
    """Decode the order-``k`` codeword at the top of ``bits``.

    ``count`` bits of the window are buffered and ``left`` remain in the
    tile's region; ``zmax`` lists the longest valid zero prefix per order.
    Returns a dict of comb signals: ``length``, ``w`` (the codeword's
    value), ``u`` (``w - base``, by default ``w - 2**k``: the number; the
    run mode of ``pred`` subtracts more in flat contexts, where it does
    not wrap), and the outcome, exactly one of ``ok``, ``wait`` (more bits
    must arrive) and ``err`` (with ``cause`` 1: too many leading zeros,
    or 2: past the region).
    """
    orders = [k] if isinstance(k, int) else range(len(zmax))
    # a valid codeword has at most zmax zeros, so it lies in the window's
    # top ``n`` bits: the zeros are counted and the codeword is read there
    # only (a longer prefix counts as n zeros: an error, or a wait where
    # fewer bits are known, either way)
    n = min(len(bits), max(2 * zmax[j] + j + 1 for j in orders))
    top = bits[len(bits) - n:]
    z = leading_zeros(m, top, f"{name}_z")
    if isinstance(k, int):
        zm = zmax[k]
        width = zm + k + 1
    else:
        zm = lookup(m, k, zmax, range(n + 1), f"{name}_zmax")
        width = max(zm_k + j + 1 for j, zm_k in enumerate(zmax))
    length = Signal(range(2 * n + MAX_K + 2), name=f"{name}_len")
    m.d.comb += length.eq(2 * z + k + 1)
    w = Signal(width, name=f"{name}_w")
    if isinstance(k, int):
        sh = Signal(range(n + 1), name=f"{name}_sh")
        m.d.comb += sh.eq(Mux(length > n, 0, n - length))
        m.d.comb += w.eq(top >> sh)  # the z leading zeros are the top of w
    else:
        # the order comes late (from the previous value, for pred): shift
        # by the zeros first, as if the order were the highest, K, then by
        # K - k, a short mux after the order arrives. (Where 2z + 1 > n the
        # codeword is too long and w is not used.)
        K = len(zmax) - 1
        s1 = Signal(range(n + 1), name=f"{name}_s1")
        m.d.comb += s1.eq(Mux(2 * z + 1 > n, 0, n - 2 * z - 1))
        first = Signal(width + K, name=f"{name}_first")
        m.d.comb += first.eq(Cat(Const(0, K), top) >> s1)
        back = Signal(range(K + 1), name=f"{name}_back")
        m.d.comb += [back.eq(K - k), w.eq(first >> back)]
    u = Signal(width, name=f"{name}_u")
    m.d.comb += u.eq(w - ((1 << k) if base is None else base))
    known = Mux(count < left, count, left)
    found = z < known
    too_long = (z > zm) & (known > zm)
    past = Mux(found, length > left, left <= count)
    r = {"length": length, "u": u, "w": w}
    for key, expr in (("err", too_long | past), ("cause", Mux(too_long, 1, 2)),
                      ("ok", ~too_long & ~past & found & (length <= count))):
        r[key] = Signal(3 if key == "cause" else 1, name=f"{name}_{key}")
        m.d.comb += r[key].eq(expr)
    r["wait"] = ~r["err"] & ~r["ok"]
    return r


def flat_prefix_limit(config, dtype):
    """The prefix limit of a flat-context number in ``pred``'s run mode."""
    return max_prefix(codec.max_flat_number(config, dtype), 0)


def decoder_item_layout(value_width):
    """What the parser hands the emitter: a level (or, for ``pred``, a
    reconstruction) at scan index ``idx`` preceded by zeros from the
    current position, or with ``eob`` zeros to the end of the block; the
    block's last real row and column (``rows``, ``cols``: 0..7), whether
    it starts a tile and whether it ends the tensor."""
    return data.StructLayout({
        "value": signed(value_width), "idx": 6, "eob": 1, "rows": 3, "cols": 3,
        "start": 1, "end": 1,
    })


def tile_inputs(walk):
    """The decoder's tile inputs: ``tiles`` (length and place), or with
    ``walk`` a ``shape`` per tensor and a tile ``lengths`` stream."""
    if walk:
        return {"shape": In(stream.Signature(ShapeLayout)), "lengths": In(stream.Signature(32))}
    return {"tiles": In(stream.Signature(TileRequest))}


class ExpGolombDecoder(wiring.Component):
    """Parses the tiles of a raw stream back into levels (twin of
    :func:`golden.codec.decode_levels`), checking everything the format
    says a decoder checks.

    A parser reads one symbol per clock from the bit window (in run mode
    one run and its level, or an end of block) and an emitter expands
    runs into zeros, so the output carries one value per clock for every
    position of every block, in scan order. For transform ``pred`` the
    prediction loop runs inside the parser (the order of a codeword
    depends on the value before it) and the output is the
    reconstruction, in raster order. In ``pred``'s run mode
    (:func:`golden.predict.run_symbols`) a flat context's codeword may
    start a run: its values come out one per clock from the left
    neighbour, reading nothing, and the value after it is read as usual.

    Each tile is opened by its length (bytes) and its place in the tensor
    (which blocks it holds, where their padding is); its region is the length
    rounded up to ``word_width / 8`` bytes. The decoder counts the
    region's bits, checks the padding after the last codeword in the same
    cycle as that codeword, and drops it.

    Errors (``cause`` as :data:`golden.codec.ERRORS`): 1 a codeword with
    more leading zeros than the longest valid one, 2 a codeword that runs
    past the region, 3 a level out of range, 4 a run past the end of the
    block, 5 a region with a whole word or more left after the last
    codeword, 6 non-zero padding. The failed tile's remaining values come
    out as zero levels (the tile keeps its size), the rest of its region
    is skipped, and the next tile is decoded normally. (Where the golden
    model looks past the region end for the end of a zero prefix it may
    report 1 where the hardware reports 2.)

    Parameters
    ----------
    config : golden.config.Config
        ``align`` is ignored (the word width sets it).
    dtype : {"uint8", "int8"}
    value_width : int
        Signed level width (:func:`golden.codec.coef_width`).
    word_width : {32, 64}
    lossy : bool
        Only for ``pred``: with False, no step table (every step is 1).
    walk : bool
        With True, the decoder walks whole tensors itself (one lane): it
        takes a ``shape`` per tensor and a tile ``length`` per tile
        instead of ``tiles``; each tile starts where the previous one
        ended, so no :class:`hw.tiling.TileWalker` is needed.

    Attributes
    ----------
    bits : In(hw.bitpack.window_signature(window, unpacker_capacity(window, word_width)))
        From a :class:`hw.bitpack.BitUnpacker` with ``window`` =
        :attr:`window` (the longest item plus a word, so that the last
        codeword of a tile and its padding fit together).
    tiles : In(stream.Signature(TileRequest))
        One per tile: its length in bytes and its place (without ``walk``).
    shape : In(stream.Signature(hw.tiling.ShapeLayout))
        With ``walk``: one per tensor (``first`` and ``count`` ignored),
        taken with the tensor's first tile length.
    lengths : In(stream.Signature(32))
        With ``walk``: each tile's length in bytes.
    o : Out(stream.Signature(hw.quantizer.coef_layout(value_width)))
        ``value`` is the level (the reconstruction for ``pred``); ``index``
        the scan index, ``pos`` the raster position, ``present`` whether it
        lies inside the tensor, ``first`` the first value of a tile and
        ``last`` the last value of the tensor.
    error : Out(1)
        High for one cycle when a tile fails.
    cause : Out(3)
        Cause of the latest failure.
    error_tile : Out(32)
        Its tile number within the tensor.
    table : In(hw.quantizer.TableSignature)
        Only for lossy ``pred``; a change takes effect at the next tile.

    Latency and throughput
    ----------------------
    One symbol per clock (run mode: one run and level pair), so at least
    one value per clock with no bubble between tiles; a value leaves two
    cycles after the cycle its codeword is at the top of the window.
    """

    def __init__(self, config, dtype, value_width, word_width=32, lossy=True, walk=False):
        from golden import tiling
        self.walk = walk
        self.config = config.replace(align=word_width // 8)
        self.dtype = dtype
        self.value_width = value_width
        self.word_width = word_width
        self.signed = signed_symbols(config.transform, dtype)
        self.skip = tiling.skips_padding(config)
        self.pred = config.transform == "pred"
        self.lossy = lossy and self.pred
        self.order = scan.order(config.scan)
        self.kscan = [config.ktable[p] for p in self.order]
        self.vlo, self.vhi = codec.value_limits(config, dtype)
        umax = codec.max_number(config, dtype)
        # prefix limits by order, up to the highest order a level can have
        self.zmax_val = [max_prefix(umax, k) for k in range(max(codec.level_orders(config)) + 1)]
        self.zmax_run = max_prefix(64, config.krun)
        self.window = max_item_length(config, dtype) + word_width
        if config.flat_runs and (flat_prefix_limit(config, dtype)
                                 != self.zmax_val[0]):
            raise NotImplementedError("a flat context's prefix limit differs from order 0's")
        members = {
            "bits": In(window_signature(self.window, unpacker_capacity(self.window, word_width))),
            "o": Out(stream.Signature(coef_layout(value_width))),
            "error": Out(1),
            "cause": Out(3),
            "error_tile": Out(32),
        }
        members.update(tile_inputs(walk))
        if self.lossy:
            members["table"] = In(TableSignature)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        cfg, vw, N, W = self.config, self.value_width, self.window, self.word_width
        bits, count = self.bits.bits, self.bits.count
        item_t = decoder_item_layout(vw)

        # -- emitter: expands items into one value per position ----------
        pv, pitem = Signal(), Signal(item_t)        # the parser's output
        ev, eitem = Signal(), Signal(item_t)
        j = Signal(6)
        efresh = Signal()
        done = ev & Mux(eitem.eob, j == 63, j == eitem.idx)
        transfer = self.o.valid & self.o.ready
        load = pv & (~ev | (transfer & done))
        free = ~pv | load                           # the parser may hand over an item
        epos = lookup(m, j, self.order, 6, "epos")
        o = self.o.payload
        m.d.comb += [
            self.o.valid.eq(ev),
            o.value.eq(Mux(~eitem.eob & (j == eitem.idx), eitem.value, 0)),
            o.index.eq(j),
            o.pos.eq(epos),
            o.present.eq((epos[3:6] <= eitem.rows) & (epos[0:3] <= eitem.cols)),
            o.first.eq(eitem.start & efresh),
            o.last.eq(eitem.end & done & (j == 63)),
        ]
        with m.If(transfer):
            m.d.sync += [j.eq(j + 1), efresh.eq(0)]
            with m.If(done):
                m.d.sync += ev.eq(0)
        with m.If(load):
            m.d.sync += [eitem.eq(pitem), ev.eq(1), efresh.eq(1), pv.eq(0)]

        # -- tile and block counters --------------------------------------
        IDLE, RUN, SKIP = 0, 1, 2
        state = Signal(2)
        left = Signal(40)                 # bits of the region not consumed
        at = Signal(PlaceLayout)          # the block being decoded
        tblk = Signal(range(max(2, cfg.tile_blocks)))
        start = Signal()                  # the next item starts the tile
        skip_items = Signal()
        sidx = Signal(6)
        rows, cols = block_extent(at)
        tile_last_block = (tblk == cfg.tile_blocks - 1) | tensor_end(at)

        def block_done():
            next_block(m, at)
            m.d.sync += [tblk.eq(Mux(tile_last_block, 0, tblk + 1)), sidx.eq(0)]

        def emit(**fields):
            m.d.sync += [pv.eq(1), pitem.rows.eq(rows), pitem.cols.eq(cols),
                         pitem.start.eq(start), start.eq(0)]
            m.d.sync += [getattr(pitem, f).eq(v) for f, v in fields.items()]

        # -- the parser ---------------------------------------------------
        go = (state == RUN) & free
        consume = Signal(range(N + 1))
        m.d.comb += self.bits.consume.eq(consume)
        closing = Signal()                # the tile ends this cycle
        free_tile = (state == IDLE) | closing     # a tile may start this cycle
        if self.walk:
            # the next tile starts a tensor (its place is the shape's): after
            # the tensor's last item, which the run path emits as it closes
            need = Signal(init=1)
            ends_now = Signal()
            fresh = need | ends_now
            lens, shape = self.lengths, self.shape
            m.d.comb += [lens.ready.eq(free_tile & (~fresh | shape.valid)),
                         shape.ready.eq(free_tile & fresh & lens.valid)]
            take_len = lens.valid & lens.ready
            tile_bytes = lens.payload
        else:
            m.d.comb += self.tiles.ready.eq(free_tile)
            take_len = self.tiles.valid & self.tiles.ready
            tile_bytes = self.tiles.payload.length
        with m.If(closing):
            m.d.sync += state.eq(IDLE)

        # the region's bits left, saturated at all ones (an OR of the high
        # bits, no comparison): every comparison of the parser is against
        # lengths and counts far below the cap
        cap_bits = (max(4 * N, unpacker_capacity(N, W) + 1)).bit_length()
        cap = (1 << cap_bits) - 1
        lnear = Signal(cap_bits)
        m.d.comb += lnear.eq(Mux(left[cap_bits:].any(), cap, left[:cap_bits]))

        p = lookup(m, sidx, self.order, 6, "ppos") if cfg.scan != "raster" else sidx
        present = (p[3:6] <= rows) & (p[0:3] <= cols)
        coded = present if self.skip else 1

        # adaptive order states, by scan index (reset at every tile)
        state_adaptive = cfg.adaptive and not self.pred
        if state_adaptive:
            init = [THRESH[k] for k in self.kscan]
            astate = [Signal(STATE_WIDTH, init=v, name=f"astate{i}") for i, v in enumerate(init)]

        def order_of(index, name):
            if state_adaptive:
                a = select(m, astate, index, f"{name}_a")
                return state_order(m, a, name), a
            return lookup(m, index, self.kscan, range(MAX_K + 1), name), None

        def to_value(u, name):
            return number_level(m, u + 1 if cfg.zero_runs else u, self.signed, name)

        def out_of_range(u):
            return level_out_of_range(u + 1 if cfg.zero_runs else u, self.signed,
                                      self.vlo, self.vhi)

        def update_state(a, index, u):
            if state_adaptive:
                with m.Switch(index):
                    for i, s in enumerate(astate):
                        with m.Case(i):
                            m.d.sync += s.eq(a - (a >> 2) + u)

        # outcome of this cycle's item: ok / wait / err with a cause
        ok, wait, err = Signal(), Signal(), Signal()
        cause = Signal(3)
        total = Signal(range(2 * N + 1))    # bits of the item
        block_end = Signal()
        value = Signal(signed(vw))
        idx = Signal(6)
        eob = Signal()
        advance = Signal()                  # pred: the item was taken

        flat_runs = cfg.flat_runs
        if not cfg.zero_runs:
            if self.pred:
                from .predict import Reconstruction, on_ice40, remap_on, unfold, unremap
                if self.lossy:
                    _, active = step_table(m, self.table, cfg.qtable, take_len)
                    step = select(m, active, p, "step")
                else:
                    step = 1
                # the residual level decoded below, fed back for the
                # reconstruction (unfolded where the prediction is lo)
                level = Signal(signed(vw + 2))
                low = Signal()
                hold = Signal(name="hold") if flat_runs else None   # a run's value
                k, rec, at_lo, pred, flat, _ = Reconstruction(self.dtype).build(
                    m, p, level, step, advance, low, on_ice40(platform), hold)
                if not cfg.adaptive:
                    k, _ = order_of(sidx, "kfix")
                a = None
            else:
                k, a = order_of(sidx, "k")
            parse = coded       # a codeword is read here
            base = None
            if flat_runs:
                # golden.predict.run_symbols: a flat context's number n is a
                # run (n <= 7 - c) or the value's number plus 7 - c, so its
                # number is w - (8 - c) for the codeword's value w
                run_left = Signal(3)        # values of the run still to come
                after = Signal()            # the value ends a run
                inrun = run_left != 0
                col = sidx[0:3]
                fl = Signal(name="flat_symbol")
                m.d.comb += fl.eq(coded & ~inrun & ~after & flat)
                if not cfg.adaptive:
                    k = Mux(fl, 0, k)
                base = Mux(fl, 8 - col, 1 << k)
                parse = coded & ~inrun
            cw = read_codeword(m, bits, count, lnear, k, self.zmax_val, "cw", base)
            if flat_runs:
                run_sym = Signal(name="run_symbol")
                m.d.comb += run_sym.eq(fl & (cw["w"] <= 8 - col))
                n = Signal(3, name="run_n")         # the run's number (w <= 8 there)
                m.d.comb += [n.eq(cw["w"][:4] - 1), hold.eq(inrun | run_sym)]
                # a run stopping before the row's end stops inside the tensor
                bad_run = run_sym & (n != 0) & (col + n > cols)
            v = to_value(cw["u"], "v")
            if self.pred:
                # the low-value remap (uint8): the number of x = 0, or one
                # that stands for the number below it
                lw, shifted, v1 = unremap(m, cw["u"], pred,
                                          remap_on(m, pred, self.dtype, step, "r_remap"), "r")
                vr = v
                if v1 is not None:
                    m.d.comb += low.eq(coded & lw)
                    vr = Mux(shifted, v1, v)
                q = unfold(m, vr, cw["u"], at_lo, "q")
                m.d.comb += level.eq(Mux(coded, q, 0))
                # the check of q, split so that neither side waits for the
                # other's arithmetic: at lo q is the number itself; where the
                # remap moved the number (to at most 2 pred) v and vr are
                # both in range, so v stands for vr
                bad_value = Mux(at_lo, cw["u"] > self.vhi, out_of_range(cw["u"]))
            else:
                bad_value = out_of_range(cw["u"])
            m.d.comb += [
                total.eq(Mux(parse, cw["length"], 0)),
                block_end.eq(sidx == 63),
                idx.eq(sidx),
                eob.eq(0),
                value.eq(rec if self.pred else Mux(coded, v, 0)),
            ]
            with m.If(parse & cw["err"]):
                m.d.comb += [err.eq(1), cause.eq(cw["cause"])]
            with m.Elif(parse & cw["wait"]):
                m.d.comb += wait.eq(1)
            if flat_runs:
                with m.Elif(bad_run):
                    m.d.comb += [err.eq(1), cause.eq(4)]
                bad_value = bad_value & ~run_sym
            with m.Elif(parse & bad_value):
                m.d.comb += [err.eq(1), cause.eq(3)]
            with m.Else():
                m.d.comb += ok.eq(1)
            u_state, idx_state = cw["u"], sidx
            coded_ok = coded
        else:
            run = read_codeword(m, bits, count, lnear, cfg.krun, [self.zmax_run] * (MAX_K + 1),
                                "run")
            is_eob = run["u"] == 0
            target = Signal(len(run["u"]) + 1)
            m.d.comb += target.eq(sidx + run["u"] - 1)
            k, a = order_of(target[:6], "k")
            rest = Signal(N, name="rest")
            m.d.comb += rest.eq(bits << run["length"])
            lvl = read_codeword(m, rest, count - run["length"], lnear - run["length"], k,
                                self.zmax_val, "lvl")
            v = to_value(lvl["u"], "v")
            bad_value = out_of_range(lvl["u"])
            m.d.comb += [
                total.eq(Mux(is_eob, run["length"], run["length"] + lvl["length"])),
                block_end.eq(is_eob | (target == 63)),
                idx.eq(target[:6]),
                eob.eq(is_eob),
                value.eq(v),
            ]
            with m.If(run["err"]):
                m.d.comb += [err.eq(1), cause.eq(run["cause"])]
            with m.Elif(run["wait"]):
                m.d.comb += wait.eq(1)
            with m.Elif(is_eob):
                m.d.comb += ok.eq(1)
            with m.Elif(target > 63):
                m.d.comb += [err.eq(1), cause.eq(4)]
            with m.Elif(lvl["err"]):
                m.d.comb += [err.eq(1), cause.eq(lvl["cause"])]
            with m.Elif(lvl["wait"]):
                m.d.comb += wait.eq(1)
            with m.Elif(bad_value):
                m.d.comb += [err.eq(1), cause.eq(3)]
            with m.Else():
                m.d.comb += ok.eq(1)
            u_state, idx_state = lvl["u"], target[:6]
            coded_ok = ~is_eob

        # the tile's last item also drops the padding, which must be less
        # than a word of zero bits (the region is whole words)
        tile_end = block_end & tile_last_block
        pad = Signal(range(cap + 1))
        m.d.comb += pad.eq(lnear - total)
        # window bits N - left .. N - 1 - total (stream offsets total ..
        # left - 1); left <= N whenever the check matters (pad < W)
        near = Signal(range(N + 1))
        m.d.comb += near.eq(Mux(lnear > N, N, lnear))
        # an item is at most L bits where it matters (a longer one fails
        # first): only the window's top L bits can be the item's
        L = max_item_length(cfg, self.dtype)
        below_item = Signal(N)           # window bits after the item
        below_region = Signal(N)         # window bits after the region
        ones = Const((1 << N) - 1, N)
        item_top = Signal(L)
        m.d.comb += [
            item_top.eq(Const((1 << L) - 1, L) >> Mux(total > L, L, total)[:L.bit_length()]),
            below_item.eq(Cat(Const((1 << (N - L)) - 1, N - L), item_top)),
            below_region.eq(ones >> near),
        ]
        pad_bits = Signal(N)
        m.d.comb += pad_bits.eq(bits & below_item & ~below_region)
        ok_all, wait_all, err_all = Signal(), Signal(), Signal()
        cause_all = Signal(3)
        with m.If(err):
            m.d.comb += [err_all.eq(1), cause_all.eq(cause)]
        with m.Elif(wait):
            m.d.comb += wait_all.eq(1)
        with m.Elif(tile_end & (pad >= W)):
            m.d.comb += [err_all.eq(1), cause_all.eq(5)]
        with m.Elif(tile_end & (count < lnear)):
            m.d.comb += wait_all.eq(1)
        with m.Elif(tile_end & (pad_bits != 0)):
            m.d.comb += [err_all.eq(1), cause_all.eq(6)]
        with m.Else():
            m.d.comb += ok_all.eq(1)

        # the region left after the item, its subtraction started before
        # the checks end (at a tile's end nothing is left: lnear is left)
        left_item = Signal(len(left))
        dropped = Signal(range(N + 1))    # after an error: the bits skipped
        m.d.comb += left_item.eq(left - Mux(state == SKIP, dropped, total))
        with m.If(go & ok_all):
            used = Mux(tile_end, lnear, total)
            m.d.comb += [consume.eq(used), advance.eq(1), closing.eq(tile_end)]
            m.d.sync += left.eq(Mux(tile_end, 0, left_item))
            if self.walk:
                m.d.comb += ends_now.eq(tile_end & tensor_end(at))
                with m.If(ends_now):
                    m.d.sync += need.eq(1)     # unless a tile is taken now (below)
            emit(value=value, idx=idx, eob=eob, end=tile_end & (tensor_end(at) | at.final))
            m.d.sync += sidx.eq(idx + 1)
            with m.If(block_end):
                block_done()
            with m.If(coded_ok):
                update_state(a, idx_state, u_state)
            if flat_runs:
                with m.If(inrun):
                    m.d.sync += run_left.eq(run_left - 1)
                with m.Elif(run_sym):
                    m.d.sync += [run_left.eq(Mux(n == 0, 7 - col, n - 1)), after.eq(n != 0)]
                with m.Else():
                    m.d.sync += after.eq(0)
        with m.If(go & err_all):
            m.d.sync += [state.eq(SKIP), skip_items.eq(1), self.error.eq(1),
                         self.cause.eq(cause_all), self.error_tile.eq(at.tile)]
        with m.Else():
            m.d.sync += self.error.eq(0)

        # after an error: zero the tile's remaining blocks, skip its bits
        with m.If(state == SKIP):
            drop = Mux(count < lnear, count, lnear)
            m.d.comb += [dropped.eq(Mux(drop > N, N, drop)), consume.eq(dropped)]
            m.d.sync += left.eq(left_item)
            with m.If(skip_items & free):
                emit(eob=1, idx=63, value=0, end=tile_last_block & (tensor_end(at) | at.final))
                block_done()
                if self.walk:
                    with m.If(tensor_end(at)):
                        m.d.sync += need.eq(1)
                with m.If(tile_last_block):
                    m.d.sync += skip_items.eq(0)
            with m.If(~skip_items & (left == 0)):
                m.d.comb += closing.eq(1)

        # a new tile: its region, its place and fresh states
        with m.If(take_len):
            la = exact_log2(W // 8)
            m.d.sync += [
                state.eq(RUN),
                left.eq(((tile_bytes + (W // 8 - 1)) >> la) << (la + 3)),
                sidx.eq(0), tblk.eq(0), start.eq(1),
            ]
            if self.walk:
                # a tensor's later tiles start where block_done left ``at``
                with m.If(fresh):
                    m.d.sync += first_place(at, shape.payload)
                with m.Else():
                    m.d.sync += at.tile.eq(at.tile + 1)
                m.d.sync += need.eq(0)
            else:
                m.d.sync += at.eq(self.tiles.payload.place)
            if flat_runs:
                m.d.sync += [run_left.eq(0), after.eq(0)]
            if state_adaptive:  # after the last item's update, which it overrides
                m.d.sync += [a.eq(v) for a, v in zip(astate, init)]
        return m
