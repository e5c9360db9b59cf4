"""Exp-Golomb encoder: levels to codewords (twin of :mod:`golden.expgolomb`)."""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden import codec, scan
from golden.config import signed_symbols
from golden.expgolomb import MAX_K, THRESH

from .bitpack import codeword_layout
from .quantizer import absolute
from .scan import lookup

STATE_WIDTH = 16  # golden.expgolomb: A <= 4 * max(u) + 3 fits 16 unsigned bits


def level_layout(value_width):
    """Payload of a level stream, one value of a block per item in scan
    order: ``value`` (signed level), ``index`` (scan index 0..63),
    ``k`` (order chosen by the transform: ``pred``'s context rule),
    ``present`` (the position lies inside the tensor) and ``last`` (the
    last value of a tile)."""
    return data.StructLayout({
        "value": signed(value_width),
        "index": 6,
        "k": range(MAX_K + 1),
        "present": 1,
        "last": 1,
    })


def bit_length(m, w, name):
    """``bit_length(w) - 1`` of a non-zero unsigned value, as a comb signal."""
    n = Signal(range(max(2, len(w))), name=name)
    for j in range(len(w)):
        with m.If(w[j]):
            m.d.comb += n.eq(j)
    return n


def codeword(m, u, k, name):
    """(code, length) of the order-k Exp-Golomb codeword of ``u``."""
    w = Signal(len(u) + 1, name=f"{name}_w")
    m.d.comb += w.eq(u + (1 << k))
    n = bit_length(m, w, f"{name}_n")
    length = Signal(range(2 * len(w) + 1), name=f"{name}_len")
    m.d.comb += length.eq(2 * n - k + 1)
    return w, length


def max_item_length(config, dtype):
    """Longest encoder item: the longest codeword, or in run mode the
    longest run codeword plus the longest level codeword."""
    longest = codec.max_codeword_length(config, dtype)
    if config.runs:
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
    give items of length 0.

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
        (:func:`golden.codec.max_codeword_length`), or in run mode the
        longest run codeword plus the longest level codeword.

    Latency and throughput
    ----------------------
    Two cycles (a level taken at cycle t gives its codeword valid at
    t + 2); one level per clock. The adaptive states live in a 64-entry
    memory read one cycle ahead; each tile starts from ``ktable``.
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
        m.d.comb += [
            self.o.valid.eq(v2),
            ready2.eq(~v2 | self.o.ready),
            self.i.ready.eq(~v1 | ready2),
        ]
        load1 = self.i.valid & self.i.ready
        move = v1 & ready2
        with m.If(load1):
            m.d.sync += [r1.eq(self.i.payload), v1.eq(1)]
        with m.Elif(move):
            m.d.sync += v1.eq(0)
        with m.If(move):
            m.d.sync += v2.eq(1)
        with m.Elif(self.o.ready):
            m.d.sync += v2.eq(0)

        value = r1.value
        mag = Signal(vw)
        m.d.comb += mag.eq(absolute(value))
        mapped = Signal(vw + 1)
        if self.signed:
            m.d.comb += mapped.eq((mag << 1) - (value > 0))
        else:
            m.d.comb += mapped.eq(value.as_unsigned())
        u = Signal(vw + 1)
        m.d.comb += u.eq(mapped - 1 if cfg.runs else mapped)
        coded = Signal()
        m.d.comb += coded.eq(value != 0 if cfg.runs else r1.present)

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
            for j in range(1, MAX_K + 1):
                with m.If(a >= THRESH[j]):
                    m.d.comb += k.eq(j)
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
