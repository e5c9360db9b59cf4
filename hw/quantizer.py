"""Quantizer with a run-time step table (twin of :mod:`golden.quantizer`).

``q = sign(c) * ((|c| + r) // s)`` with ``r = (rounding * s) >> 4``. The
division is a multiplication by a reciprocal from a 256-entry ROM:
for ``0 <= n < 2**N`` and ``1 <= s <= 255``, ``n // s == (n * M[s]) >>
(N + 8)`` with ``M[s] = ceil(2**(N + 8) / s)`` (Granlund and Montgomery,
"Division by invariant integers using multiplication", PLDI 1994: the
error ``M s - 2**(N+8) < s <= 2**8`` keeps the product below the next
multiple). The tests check every ``n`` and ``s``.
"""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from golden.config import MAX_STEP

#: Writer's view of the step-table port: entry ``addr`` (raster position)
#: takes ``data`` (1..255) in a cycle with ``en``.
TableSignature = wiring.Signature({"addr": Out(6), "data": Out(8), "en": Out(1)})


def absolute(v):
    return Mux(v < 0, -v, v)


def clamp(v, lo, hi):
    return Mux(v < lo, lo, Mux(v > hi, hi, v))


def recip_shift(width):
    """Shift of the reciprocal for dividends below ``2**width``."""
    return width + 8


def reciprocals(width):
    """ROM contents: ``M[s]`` for s = 0..255 (``M[0]`` is unused)."""
    sh = recip_shift(width)
    return [0] + [-(-(1 << sh) // s) for s in range(1, MAX_STEP + 1)]


def dividend_width(value_width):
    """Bits of ``|c| + r`` for signed ``value_width``-bit ``c`` and
    ``r <= 127``."""
    return max(value_width, 8) + 1


def quantize(m, c, step, offset, recip, value_width, name="q"):
    """Comb logic: the level of signed ``c`` (see the module docstring);
    ``recip`` is ``reciprocals(dividend_width(value_width))[step]``."""
    nw = dividend_width(value_width)
    mag = Signal(nw, name=f"{name}_mag")
    m.d.comb += mag.eq(absolute(c) + offset)
    qmag = Signal(value_width, name=f"{name}_qmag")
    m.d.comb += qmag.eq((mag * recip) >> recip_shift(nw))
    q = Signal(signed(value_width), name=name)
    m.d.comb += q.eq(Mux(c < 0, -qmag, qmag))
    return q


def step_table(m, port, init, swap):
    """The 64 step registers written through ``port`` (a
    :data:`TableSignature`) and the active copy they become when ``swap``
    is high. Returns (shadow, active), lists of 64 signals."""
    shadow = [Signal(8, init=v, name=f"shadow{p}") for p, v in enumerate(init)]
    active = [Signal(8, init=v, name=f"active{p}") for p, v in enumerate(init)]
    with m.If(port.en):
        with m.Switch(port.addr):
            for p in range(64):
                with m.Case(p):
                    m.d.sync += shadow[p].eq(port.data)
    with m.If(swap):
        m.d.sync += [a.eq(s) for a, s in zip(active, shadow)]
    return shadow, active


def select(m, regs, index, name):
    """``regs[index]`` as a comb signal."""
    out = Signal.like(regs[0], name=name)
    with m.Switch(index):
        for j, r in enumerate(regs):
            with m.Case(j):
                m.d.comb += out.eq(r)
    return out


def stepped_layout(layout, value_width):
    """An item with its position's step, rounding offset and reciprocal."""
    nw = dividend_width(value_width)
    return data.StructLayout({
        "item": layout, "step": 8, "offset": 8, "recip": recip_shift(nw) + 1,
    })


class Steps(wiring.Component):
    """Looks up the step of each item's position in the run-time table.

    The table has a shadow copy written through ``table`` at any time; it
    becomes the active table when an item with ``first`` (the first value of
    a tile) passes, so a change takes effect at the next tile, whole.

    Parameters
    ----------
    layout : data.StructLayout
        Item layout; it must have ``pos`` (raster position) and ``first``.
    value_width : int
        Signed width of the values that will be quantized (sizes the
        reciprocal).
    rounding : int
        Rounding offset in sixteenths of a step (0..8).
    init : sequence of 64 int
        The table after reset.
    reciprocal : bool
        With False, no reciprocal ROM (``recip`` reads 0): the dequantizer
        only multiplies.

    Attributes
    ----------
    i : In(stream.Signature(layout))
    o : Out(stream.Signature(stepped_layout(layout, value_width)))
    table : In(TableSignature)

    Latency and throughput
    ----------------------
    Two cycles; one item per clock.
    """

    def __init__(self, layout, value_width, rounding, init, reciprocal=True):
        self.reciprocal = reciprocal
        self.layout = layout
        self.value_width = value_width
        self.rounding = rounding
        self.init = tuple(init)
        super().__init__({
            "i": In(stream.Signature(layout)),
            "o": Out(stream.Signature(stepped_layout(layout, value_width))),
            "table": In(TableSignature),
        })

    def elaborate(self, platform):
        m = Module()
        shadow, active = step_table(m, self.table, self.init, self.i.valid & self.i.ready
                                    & self.i.payload.first)
        # stage A: the item and its step
        item_a = Signal(self.layout)
        step_a = Signal(8)
        va = Signal()
        # stage B (the output): offset and reciprocal
        vb = Signal()
        ready_b = ~vb | self.o.ready
        m.d.comb += [
            self.o.valid.eq(vb),
            self.i.ready.eq(~va | ready_b),
        ]
        load_a = self.i.valid & self.i.ready
        move = va & ready_b
        pos = self.i.payload.pos
        step = Mux(self.i.payload.first, select(m, shadow, pos, "shadow_step"),
                   select(m, active, pos, "active_step"))
        with m.If(load_a):
            m.d.sync += [item_a.eq(self.i.payload), step_a.eq(step), va.eq(1)]
        with m.Elif(move):
            m.d.sync += va.eq(0)

        if self.reciprocal:
            nw = dividend_width(self.value_width)
            m.submodules.rom = rom = Memory(shape=unsigned(recip_shift(nw) + 1), depth=256,
                                            init=reciprocals(nw))
            rd = rom.read_port()
            m.d.comb += [rd.addr.eq(step_a), rd.en.eq(move), self.o.payload.recip.eq(rd.data)]
        with m.If(move):
            m.d.sync += [
                vb.eq(1),
                self.o.payload.item.eq(item_a),
                self.o.payload.step.eq(step_a),
                self.o.payload.offset.eq((step_a * self.rounding) >> 4),
            ]
        with m.Elif(self.o.ready):
            m.d.sync += vb.eq(0)
        return m


def coef_layout(value_width):
    """Coefficients in scan order: ``value``, scan ``index``, raster
    ``pos``, ``present``, and the tile framing ``first`` / ``last``."""
    return data.StructLayout({
        "value": signed(value_width), "index": 6, "pos": 6, "present": 1, "first": 1,
        "last": 1,
    })


class SteppedStage(wiring.Component):
    """Base of the blocks that quantize with the run-time table
    (:class:`Quantizer`, :class:`hw.predict.Predictor`): ports ``i``,
    ``o`` and, when ``lossy``, ``table``; without ``lossy`` the table must
    be all ones and no :class:`Steps` is built."""

    def __init__(self, in_layout, out_layout, value_width, rounding, init, lossy):
        self.in_layout = in_layout
        self.value_width = value_width
        self.rounding = rounding
        self.init = tuple(init)
        self.lossy = lossy
        if not lossy and any(v != 1 for v in self.init):
            setattr(self, "_MustUse__silence", True)
            raise ValueError(f"a lossless-only {type(self).__name__} needs a table of ones")
        members = {"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout))}
        if lossy:
            members["table"] = In(TableSignature)
        super().__init__(members)

    reciprocal = True  # the quantizing stages divide; the dequantizer does not

    def source(self, m):
        """(stream, item, steps payload or None) feeding the block's stage."""
        if not self.lossy:
            return self.i, self.i.payload, None
        m.submodules.steps = steps = Steps(self.in_layout, self.value_width, self.rounding,
                                           self.init, self.reciprocal)
        wiring.connect(m, wiring.flipped(self.i), steps.i)
        wiring.connect(m, wiring.flipped(self.table), steps.table)
        return steps.o, steps.o.payload.item, steps.o.payload


class Quantizer(SteppedStage):
    """Quantizes coefficients with the run-time step table.

    Parameters
    ----------
    value_width : int
        Signed coefficient width (:func:`golden.codec.coef_width`).
    rounding : int
    init : sequence of 64 int
        Step table after reset (raster order).
    lossy : bool
        With False, a lossless-only build: no table, levels are the
        coefficients (``init`` must be all ones).

    Attributes
    ----------
    i : In(stream.Signature(coef_layout(value_width)))
    o : Out(stream.Signature(hw.expgolomb.level_layout(value_width)))
        ``k`` is 0.
    table : In(TableSignature)
        Only when ``lossy``. See :class:`Steps`: a change takes effect at
        the next tile.

    Latency and throughput
    ----------------------
    Three cycles (one without ``lossy``); one coefficient per clock.
    """

    def __init__(self, value_width, rounding, init, lossy=True):
        from .expgolomb import level_layout
        super().__init__(coef_layout(value_width), level_layout(value_width), value_width,
                         rounding, init, lossy)

    def elaborate(self, platform):
        m = Module()
        src, item, st = self.source(m)
        if st is not None:
            q = quantize(m, item.value, st.step, st.offset, st.recip, self.value_width)
        else:
            q = item.value
        m.d.comb += src.ready.eq(~self.o.valid | self.o.ready)
        with m.If(src.valid & src.ready):
            m.d.sync += [
                self.o.valid.eq(1),
                self.o.payload.value.eq(q),
                self.o.payload.index.eq(item.index),
                self.o.payload.k.eq(0),
                self.o.payload.present.eq(item.present),
                self.o.payload.last.eq(item.last),
            ]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


class Dequantizer(SteppedStage):
    """Scales levels back by the run-time step table (twin of
    :func:`golden.quantizer.dequantize`):
    ``c' = clamp(q * s, -2**(w-1), 2**(w-1) - 1)``.

    Parameters
    ----------
    value_width : int
        Signed coefficient width ``w`` (:func:`golden.codec.coef_width`).
    init : sequence of 64 int
        Step table after reset (raster order).
    lossy : bool
        With False, a lossless-only build: coefficients are the levels.

    Attributes
    ----------
    i : In(stream.Signature(coef_layout(value_width)))
        Levels in scan order, ``pos`` giving the raster position of each.
    o : Out(stream.Signature(coef_layout(value_width)))
    table : In(TableSignature)
        Only when ``lossy``; a change takes effect at the next tile (the
        next item with ``first``).

    Latency and throughput
    ----------------------
    Three cycles (one without ``lossy``); one level per clock.
    """

    reciprocal = False

    def __init__(self, value_width, init, lossy=True):
        super().__init__(coef_layout(value_width), coef_layout(value_width), value_width,
                         0, init, lossy)

    def elaborate(self, platform):
        m = Module()
        w = self.value_width
        src, item, st = self.source(m)
        if st is not None:
            prod = Signal(signed(w + 9))
            m.d.comb += prod.eq(item.value * st.step)
            lo, hi = -(1 << (w - 1)), (1 << (w - 1)) - 1
            c = clamp(prod, lo, hi)
        else:
            c = item.value
        m.d.comb += src.ready.eq(~self.o.valid | self.o.ready)
        with m.If(src.valid & src.ready):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(item),
                         self.o.payload.value.eq(c)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m
