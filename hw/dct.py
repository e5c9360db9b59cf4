"""Integer DCT from lifting steps, shifts and adds only (twin of
:mod:`golden.dct`)."""
from amaranth import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from golden import dct as gdct


def csd(p):
    """Canonical signed digits of integer ``p``: a list of (sign, shift)
    with ``p == sum(sign << shift)`` and no two adjacent digits."""
    digits, shift = [], 0
    while p:
        if p & 1:
            d = 2 - (p & 3)  # +1 if p = 1 mod 4, -1 if p = 3 mod 4
            digits.append((d, shift))
            p -= d
        p >>= 1
        shift += 1
    return digits


def const_mul(v, p):
    """``p * v`` as a sum of shifted copies of ``v`` (no multiplier)."""
    terms = [(v << s) if d > 0 else -(v << s) for d, s in csd(p)]
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def transform_1d(m, x, width, inverse=False, name="dct"):
    """Comb logic of :func:`golden.dct.forward_1d` (or its inverse) on eight
    signed values; registers are ``width`` bits (the mode's peak)."""
    regs = list(x) if not inverse else [None] * 8
    if inverse:
        for k, r in enumerate(gdct.OUTPUT_REG):
            regs[r] = x[k]
    ops = reversed(gdct.PROGRAM) if inverse else gdct.PROGRAM
    for n, op in enumerate(ops):
        def sig(what):
            return Signal(signed(width), name=f"{name}_{n}_{what}")
        if op[0] == "sb":
            _, i, j = op
            a, b = sig("i"), sig("j")
            if not inverse:
                d = regs[i] - regs[j]
                m.d.comb += [a.eq(regs[j] + (d >> 1)), b.eq(d)]
            else:
                bb = regs[i] - (regs[j] >> 1)
                m.d.comb += [a.eq(regs[j] + bb), b.eq(bb)]
            regs[i], regs[j] = a, b
        elif op[0] == "lift":
            _, i, j, p = op
            t = (const_mul(regs[j], p) + gdct.LIFT_ROUND) >> gdct.LIFT_SHIFT
            a = sig("lift")
            m.d.comb += a.eq(regs[i] - t if inverse else regs[i] + t)
            regs[i] = a
        else:
            a = sig("neg")
            m.d.comb += a.eq(-regs[op[1]])
            regs[op[1]] = a
    return [regs[r] for r in gdct.OUTPUT_REG] if not inverse else regs


def sample_layout(width):
    """One value of a block in a serial stream: ``value``, ``present`` and
    the tile framing ``first`` / ``last``."""
    return data.StructLayout({"value": signed(width), "present": 1, "first": 1, "last": 1})


class Transform1D(wiring.Component):
    """The 8-point forward (or inverse) transform on a serial stream, one
    group of eight consecutive values at a time (a block row, or a column
    after a transposing :class:`hw.scan.Reorder`).

    Parameters
    ----------
    in_width, width : int
        Signed widths of the input and of the registers and outputs
        (:func:`golden.dct.widths` ``forward_peak`` or ``inverse_peak``).
    inverse : bool
        Run the program backwards: coefficients ``X[0..7]`` in, values out.

    Attributes
    ----------
    i : In(stream.Signature(sample_layout(in_width)))
    o : Out(stream.Signature(sample_layout(width)))
        ``X[0..7]`` of each group in order (values ``x[0..7]`` when
        ``inverse``). ``first`` comes from the group's first value,
        ``last`` from its last, and the k-th output has the ``present`` of
        the k-th input.

    Latency and throughput
    ----------------------
    The first coefficient of a group is valid two cycles after its eighth
    value is taken; one value per clock (gathering, transforming and
    emitting overlap).
    """

    def __init__(self, in_width, width, inverse=False):
        self.in_width = in_width
        self.width = width
        self.inverse = inverse
        super().__init__({
            "i": In(stream.Signature(sample_layout(in_width))),
            "o": Out(stream.Signature(sample_layout(width))),
        })

    def elaborate(self, platform):
        m = Module()
        g = [Signal(signed(self.in_width), name=f"g{k}") for k in range(8)]
        gcount = Signal(range(9))
        gfirst, glast = Signal(), Signal()
        gpresent = Signal(8)
        o = [Signal(signed(self.width), name=f"o{k}") for k in range(8)]
        ocount = Signal(range(9))
        ofirst, olast = Signal(), Signal()
        opresent = Signal(8)

        full = gcount == 8
        taken = self.o.valid & self.o.ready
        transfer = full & ((ocount == 0) | ((ocount == 1) & taken))
        accept = self.i.valid & self.i.ready
        m.d.comb += [
            self.i.ready.eq(~full | transfer),
            self.o.valid.eq(ocount != 0),
            self.o.payload.value.eq(o[0]),
            self.o.payload.first.eq(ofirst & (ocount == 8)),
            self.o.payload.present.eq(opresent[0]),
            self.o.payload.last.eq(olast & (ocount == 1)),
        ]
        with m.If(accept):
            m.d.sync += [g[k].eq(g[k + 1]) for k in range(7)]
            m.d.sync += [g[7].eq(self.i.payload.value), glast.eq(self.i.payload.last),
                         gpresent.eq(Cat(gpresent[1:], self.i.payload.present))]
            with m.If(transfer | (gcount == 0)):
                m.d.sync += gfirst.eq(self.i.payload.first)
            m.d.sync += gcount.eq(Mux(transfer, 1, gcount + 1))
        with m.Elif(transfer):
            m.d.sync += gcount.eq(0)

        coefs = transform_1d(m, g, self.width, self.inverse)
        with m.If(transfer):
            m.d.sync += [r.eq(c) for r, c in zip(o, coefs)]
            m.d.sync += [ocount.eq(8), ofirst.eq(gfirst), opresent.eq(gpresent),
                         olast.eq(glast)]
        with m.Elif(taken):
            m.d.sync += [o[k].eq(o[k + 1]) for k in range(7)]
            m.d.sync += [ocount.eq(ocount - 1), opresent.eq(opresent >> 1)]
        return m
