"""Spatial prediction with in-loop quantization (twin of :mod:`golden.predict`)."""
from amaranth import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib.memory import Memory

from golden.dct import input_range
from golden.predict import LOW_NUMBER, MAX_ORDER, RESIDUAL_WIDTH, order_threshold

from .expgolomb import level_layout
from .quantizer import SteppedStage, clamp, quantize
from .tiling import framed_layout


def med(m, a, b, d, name="med"):
    """LOCO-I's median edge detector, comb. Returns (the median
    prediction, the spread ``max(a, b, d) - min(a, b, d)``)
    (:func:`med_terms` and :func:`med_choose` cut it in two)."""
    lo = Signal(signed(10), name=f"{name}_lo")
    hi = Signal(signed(10), name=f"{name}_hi")
    out = Signal(signed(10), name=name)
    m.d.comb += [lo.eq(Mux(a < b, a, b)), hi.eq(Mux(a < b, b, a))]
    above, below = d >= hi, d <= lo
    m.d.comb += out.eq(Mux(above, lo, Mux(below, hi, a + b - d)))
    spread = Signal(10, name=f"{name}_spread")
    m.d.comb += spread.eq(Mux(above, d, hi) - Mux(below, d, lo))
    return out, spread


def med_terms(m, a, b, d, name):
    """:func:`med` cut in two: the first half, comb: ``a``, ``b``, ``d``
    (as ``av``, ``bv``, ``dv``), ``a < b`` (``lt``), ``d`` at or above
    both (``d_above``) or at or below both (``d_below``), the plane ``a +
    b - d`` and the six differences (``diff_ab`` = a - b, ...), each
    comparison a difference's sign; a dict for :func:`med_choose` a
    register later."""
    diff = {}
    for n, x, y in (("ab", a, b), ("ba", b, a), ("da", d, a), ("db", d, b),
                    ("ad", a, d), ("bd", b, d)):
        diff[n] = Signal(signed(10), name=f"{name}_diff_{n}")
        m.d.comb += diff[n].eq(x - y)
    return {"av": a, "bv": b, "dv": d, "lt": diff["ab"][-1],
            "d_above": ~diff["da"][-1] & ~diff["db"][-1],
            "d_below": ~diff["ad"][-1] & ~diff["bd"][-1], "plane": a + b - d,
            **{f"diff_{k}": v for k, v in diff.items()}}


#: The differences :func:`med_terms` forms (``ab`` is a - b, ...).
DIFFS = ("ab", "ba", "da", "db", "ad", "bd")


def spread_choice(t, by_diff):
    """Of values ``by_diff[d]``, one per difference ``d`` of :data:`DIFFS`,
    the one of the difference that is the spread (max - min of a, b, d),
    chosen by :func:`med_terms`' comparisons ``t``."""
    lt = t["lt"]
    return Mux(t["d_above"], Mux(lt, by_diff["da"], by_diff["db"]),
               Mux(t["d_below"], Mux(lt, by_diff["bd"], by_diff["ad"]),
                   Mux(lt, by_diff["ba"], by_diff["ab"])))


def med_choose(m, t, name):
    """The second half of :func:`med`, from :func:`med_terms`' values
    ``t``: (the median prediction, the spread), the spread chosen among the
    differences (no subtraction)."""
    lt = t["lt"]
    lo_ab, hi_ab = Mux(lt, t["av"], t["bv"]), Mux(lt, t["bv"], t["av"])
    spread = Signal(10, name=f"{name}_spread")
    m.d.comb += spread.eq(spread_choice(t, {d: t[f"diff_{d}"] for d in DIFFS}))
    median = Signal(signed(11), name=f"{name}_median")
    m.d.comb += median.eq(Mux(t["d_above"], lo_ab, Mux(t["d_below"], hi_ab, t["plane"])))
    return median, spread


def on_ice40(platform):
    """Whether ``platform`` is an iCE40 (no LUT RAM: a small memory costs a
    logic cell per bit there unless it goes to block RAM)."""
    return str(getattr(platform, "device", "")).startswith("iCE40")


def neighbours(m, pos, rec, advance, name, block=False):
    """The reconstructions of the left, above and above-left neighbours of
    the value at raster ``pos`` (as :func:`guess` takes them; whatever
    they hold where the neighbour is missing).

    ``rec`` is the value's reconstruction, taken where ``advance``; the
    next value is at ``pos + 1`` (every position of a block passes, in
    raster order). The row above lives in an 8-entry memory indexed by
    column, read one value ahead into a register; the above-left value is
    the previous value's above one. With ``block`` (for the iCE40:
    :func:`on_ice40`) the memory goes to block RAM, where the
    nine-register delay line it replaces cost about 80 logic cells;
    elsewhere yosys chooses (LUT RAM on the ECP5, whose block RAM's slow
    output would start the decoder's loop)."""
    left = Signal(signed(9), name=f"{name}_left")
    # no reset: with one, yosys would emulate it beside the block RAM
    above = Signal(signed(9), name=f"{name}_above", reset_less=True)
    above_left = Signal(signed(9), name=f"{name}_above_left", reset_less=True)
    # the read and write addresses never meet (columns c + 1 and c), which
    # no_rw_check tells yosys so that it does not emulate read-first
    # order; without ram_style it would map so small a memory to flip-flops
    attrs = {"ram_style": "block", "no_rw_check": 1} if block else {}
    m.submodules[f"{name}_row"] = row = Memory(shape=signed(9), depth=8, init=[], attrs=attrs)
    wp = row.write_port()
    rp = row.read_port(domain="comb")
    m.d.comb += [wp.addr.eq(pos[:3]), wp.data.eq(rec), wp.en.eq(advance),
                 rp.addr.eq(pos[:3] + 1)]
    with m.If(advance):
        m.d.sync += [left.eq(rec), above.eq(rp.data), above_left.eq(above)]
    return left, above, above_left


def present_neighbours(m, pos, left, above, above_left, name):
    """The neighbours of the value at raster ``pos`` as :func:`guess`
    takes them, 0 where missing: ``a`` (left), ``b`` (above), ``d``
    (above-left); comb."""
    row, col = pos[3:6], pos[0:3]
    a = Signal(signed(9), name=f"{name}_a")
    b = Signal(signed(9), name=f"{name}_b")
    d = Signal(signed(9), name=f"{name}_d")
    m.d.comb += [
        a.eq(Mux(col != 0, left, 0)),
        b.eq(Mux(row != 0, above, 0)),
        d.eq(Mux((row != 0) & (col != 0), above_left, 0)),
    ]
    return a, b, d


def prediction_at(m, pos, a, b, median, name):
    """The prediction at raster ``pos`` (golden.predict): 0 at the block's
    first value, the left neighbour ``a`` on its first row, the one above
    ``b`` in its first column, else the ``median``; a new signal."""
    row, col = pos[3:6], pos[0:3]
    pred = Signal(signed(10), name=f"{name}_pred")
    m.d.comb += pred.eq(Mux(row == 0, Mux(col == 0, 0, a), Mux(col == 0, b, median)))
    return pred


def guess(m, pos, left, above, above_left, name):
    """The prediction of the value at raster ``pos`` from the
    reconstructions of its neighbours (:func:`neighbours`) and the
    context order's activity; comb. Returns (pred, act, a), ``a`` the left
    neighbour (0 where there is none)."""
    a, b, d = present_neighbours(m, pos, left, above, above_left, name)
    median, spread = med(m, a, b, d, f"{name}_med")
    pred = prediction_at(m, pos, a, b, median, name)
    act = Signal(11, name=f"{name}_act")
    # |a - d| + |b - d| + |a - b| is twice the spread of the three: one
    # comparison and one subtraction deep instead of four adders
    m.d.comb += act.eq(Cat(Const(0, 1), spread))
    return pred, act, a


def at_low_end(m, pred, dtype, name):
    """Whether the prediction is the low end of ``dtype``'s range."""
    lo, _ = input_range(dtype)
    at_lo = Signal(name=name)
    m.d.comb += at_lo.eq(pred == lo)
    return at_lo


def fold(m, q, at_lo, name, sums=None):
    """:func:`golden.predict.fold`, comb. For ``q >= 0`` the level with
    se(v) number ``q`` is ``(q >> 1) + 1`` for odd ``q`` and
    ``~(q >> 1) + 1`` for even: one incrementer after an XOR. ``sums``:
    :func:`residual_sums`, formed (and registered) earlier, so that no
    adder is left: ``(q + 1) >> 1`` for odd ``q``, ``-q >> 1`` for even."""
    v = Signal(signed(len(q)), name=name)
    if sums is not None:
        m.d.comb += v.eq(Mux(at_lo, Mux(q[0], sums["plus1"] >> 1, sums["minus"] >> 1), q))
        return v
    half = Signal(signed(len(q)), name=f"{name}_half")
    m.d.comb += half.eq(Mux(q[0], q >> 1, ~(q >> 1)))
    m.d.comb += v.eq(Mux(at_lo, half + 1, q))
    return v


def residual_sums(m, x, pred, name, x_plus1, x_minus1):
    """Beside the residual ``x - pred``: ``x - pred + 1`` (``plus1``),
    ``pred - x`` (``minus``) and ``pred - x + 1`` (``minus1``), what
    :func:`fold` and :func:`remap` would otherwise add after it; new
    signals in a dict. ``x_plus1``, ``x_minus1``: ``x + 1`` and ``x - 1``
    formed earlier, so that each sum is one subtraction of its own (Yosys
    otherwise shares them into a chain of three adders)."""
    sums = {}
    for k, v in (("plus1", x_plus1 - pred), ("minus", pred - x), ("minus1", pred - x_minus1)):
        sums[k] = Signal(signed(RESIDUAL_WIDTH + 2), name=f"{name}_{k}")
        m.d.comb += sums[k].eq(v)
    return sums


def unfold(m, v, u, at_lo, name):
    """:func:`golden.predict.unfold`, comb, given also ``u``, the se(v)
    number of ``v`` (the decoder has it from the codeword)."""
    q = Signal(signed(max(len(v), len(u) + 1)), name=name)
    m.d.comb += q.eq(Mux(at_lo, u, v))
    return q


def remap_on(m, pred, dtype, step, name):
    """Whether :func:`golden.predict.fold`'s low-value remap applies:
    uint8 data, step 1, ``pred >= 2``; None for int8 (never)."""
    if dtype != "uint8":
        return None
    on = Signal(name=name)
    # pred is 0..255 here: >= 2 is any bit above bit 0
    m.d.comb += on.eq(pred[1:8].any() & (1 if isinstance(step, int) else step == 1))
    return on


def _twice(pred):
    """``2 pred`` for a prediction of 0..255 (where the remap applies): a
    wire shift, the plain number of ``x = 0``."""
    return Cat(Const(0, 1), pred[:8])


def remap_terms(m, x, pred, name):
    """What :func:`remap` asks of the value and the prediction: ``x = 0``
    and ``x <= 2 pred``; new signals."""
    x0, below = Signal(name=f"{name}_x0"), Signal(name=f"{name}_below")
    m.d.comb += [x0.eq(x == 0), below.eq(x <= _twice(pred))]
    return x0, below


def remap(m, q, folded, x, pred, on, name, terms=None, sums=None):
    """The coded level, :func:`golden.predict.fold` in full, comb, from the
    residual level ``q``, its folded form ``folded`` (:func:`fold`), the
    value ``x`` and the prediction. Where ``on`` (:func:`remap_on`; then
    the step is 1, so ``q = x - pred``): ``x = 0`` is the level 2 (number
    3); a level with number ``n`` in ``3 .. 2 pred - 1`` (``2 <= q <=
    pred``, or ``q <= -2`` with ``x > 0``) is the level of number
    ``n + 1``: ``-q`` for ``q > 0``, ``1 - q`` for ``q < 0``. ``terms``:
    :func:`remap_terms`, ``sums``: :func:`residual_sums`, when formed (and
    registered) earlier."""
    assert LOW_NUMBER == 3   # the level 2
    if on is None:
        return folded
    x0, below = remap_terms(m, x, pred, name) if terms is None else terms
    up = Signal(signed(len(q) + 1), name=f"{name}_up")
    if sums is None:
        m.d.comb += up.eq(~q + 1 + q[-1])
    else:
        m.d.comb += up.eq(Mux(q[-1], sums["minus1"], sums["minus"]))
    small = Signal(name=f"{name}_small")      # |q| <= 1
    m.d.comb += small.eq(~q[1:].any() | q.all())   # 0, 1 or -1: bit tests, no comparator
    moves = Signal(name=f"{name}_moves")
    m.d.comb += moves.eq(~small & Mux(q[-1], ~x0, below))
    v = Signal(signed(len(q) + 1), name=name)
    m.d.comb += v.eq(Mux(on, Mux(x0, 2, Mux(moves, up, q)), folded))
    return v


def unremap(m, c, pred, on, name):
    """The decoder's side of :func:`remap`, comb, from the coded number
    ``c``: (``low``, ``shifted``, ``level``): ``low`` where ``c`` is the
    number of ``x = 0``, ``shifted`` where ``c`` stands for ``c - 1``, and
    ``level`` the se(v) level of ``c - 1`` (valid where ``shifted``)."""
    low, shifted = Signal(name=f"{name}_low"), Signal(name=f"{name}_shifted")
    if on is None:
        return low, shifted, None
    m.d.comb += [
        low.eq(on & (c == LOW_NUMBER)),
        shifted.eq(on & (c > LOW_NUMBER) & (c <= _twice(pred))),
    ]
    half = c >> 1
    level = Signal(signed(len(c) + 1), name=f"{name}_level")
    # se(c - 1): c - 1 is even (level -(c - 1) / 2) where c is odd
    m.d.comb += level.eq(Mux(c[0], -half, half))
    return low, shifted, level


def order_reached(act, step):
    """Whether the activity ``act`` reaches the threshold of order ``j``
    (:func:`golden.predict.order_threshold`), bit ``j - 1`` for ``j = 1 ..
    MAX_ORDER``: the thresholds rise with ``j``, so the order is the number
    of bits set."""
    above = []
    for j in range(1, MAX_ORDER + 1):
        if isinstance(step, int) and step & (step - 1) == 0:
            # a fixed power-of-two step: a threshold is a test of high bits
            above.append(act[order_threshold(step, j).bit_length() - 1:].any())
        else:
            above.append(act >= order_threshold(step, j))
    return Cat(*above)


def context_order(m, act, step, name):
    """:func:`golden.predict.context_order`, comb."""
    k = Signal(range(MAX_ORDER + 1), name=name)
    for j, above in enumerate(order_reached(act, step), 1):
        with m.If(above):
            m.d.comb += k.eq(j)
    return k


class Predictor(SteppedStage):
    """Predicts each value from its reconstructed neighbours in the block
    and quantizes the residual in the loop.

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    rounding : int
    init : sequence of 64 int
        Step table after reset (raster order).
    lossy : bool
        With False, the build is lossless only: no step table, no
        quantizer, and the reconstruction is the input, so the loop is gone
        (``init`` must be all ones).

    Attributes
    ----------
    i : In(stream.Signature(hw.tiling.framed_layout(dtype)))
    o : Out(stream.Signature(hw.expgolomb.level_layout(RESIDUAL_WIDTH)))
        Coded residual levels in raster order (folded where the
        prediction is the low end of the range, :func:`fold`, and for
        uint8 with the low-value remap, :func:`remap`), with the context
        order ``k`` (:func:`golden.predict.context_order`).
    table : In(TableSignature)
        Only when ``lossy``.

    Latency and throughput
    ----------------------
    Three cycles; one value per clock. The reconstruction feeds the next
    value's prediction in the same cycle (the loop of JPEG-LS's
    near-lossless mode): prediction, quantization by reciprocal
    multiplication, reconstruction and clamping form the longest path.
    Without ``lossy`` nothing loops: five cycles (the neighbours; the
    median's comparisons; the prediction; the residual; the coded
    level), two on the iCE40.
    """

    def __init__(self, dtype, rounding, init, lossy=True):
        self.dtype = dtype
        super().__init__(framed_layout(dtype), level_layout(RESIDUAL_WIDTH), RESIDUAL_WIDTH,
                         rounding, init, lossy)

    def elaborate(self, platform):
        m = Module()
        src, item, st = self.source(m)
        if st is None:
            self._pipelined(m, src, item, on_ice40(platform))
            return m
        step = st.step
        x = item.data
        rec = Signal(signed(9))
        take = Signal()
        pred, act, a = guess(m, item.pos, *neighbours(m, item.pos, rec, take, "p",
                                                      on_ice40(platform)), "p")
        e = Signal(signed(RESIDUAL_WIDTH + 1))
        m.d.comb += e.eq(x - pred)
        q = quantize(m, e, st.step, st.offset, st.recip, RESIDUAL_WIDTH)
        lo, hi = input_range(self.dtype)
        raw = Signal(signed(20))
        m.d.comb += raw.eq(pred + q * st.step)
        m.d.comb += rec.eq(clamp(raw, lo, hi))

        m.d.comb += [src.ready.eq(~self.o.valid | self.o.ready), take.eq(src.valid & src.ready)]
        # (the level's comb logic built outside the If: inside, it would be
        # gated by it)
        out = self._level(m, q, step, x, pred, act, item.pos, item.present, item.last, x == a)
        with m.If(take):
            m.d.sync += [self.o.valid.eq(1)] + out
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m

    def _level(self, m, q, step, x, pred, act, pos, present, last, same):
        """Assignments of the output payload for the residual level ``q``
        of the value ``x`` predicted as ``pred`` with activity ``act``:
        its coded form (:func:`fold`, :func:`remap`) and context order."""
        k = context_order(m, act, step, "k")
        folded = fold(m, q, at_low_end(m, pred, self.dtype, "p_at_lo"), "folded")
        coded = remap(m, q, folded, x, pred, remap_on(m, pred, self.dtype, step, "p_remap"),
                      "coded")
        return self._payload(coded, pos, k, present, last, act == 0, same)

    def _payload(self, value, index, k, present, last, flat, same):
        """Assignments of the output payload's fields."""
        o = self.o.payload
        return [o.value.eq(value), o.index.eq(index), o.k.eq(k), o.present.eq(present),
                o.last.eq(last), o.flat.eq(flat), o.same.eq(same)]

    def _pipelined(self, m, src, item, block):
        """The lossless build: the reconstruction is the input, so nothing
        loops and the work is split over five registered stages (the
        neighbours; the median's comparisons; the prediction and the
        spread; the residual and the context order; the coded level), all
        advancing together. With ``block`` (the iCE40, whose clock other
        paths set and whose logic cells are few) only the third and the
        last are registers."""
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), src.ready.eq(en)]
        take = src.valid & en
        x, pos = item.data, item.pos
        rec = Signal(signed(9))
        m.d.comb += rec.eq(x)
        a, b, d = present_neighbours(m, pos, *neighbours(m, pos, rec, take, "p", block), "p")

        def stage(name, valid, values, kept=not block):
            if not kept:
                return valid, values
            regs = {f: Signal(Value.cast(v).shape(), name=f"{name}_{f}")
                    for f, v in values.items()}
            v = Signal(name=f"{name}_valid")
            with m.If(en):
                m.d.sync += [v.eq(valid)] + [regs[f].eq(val) for f, val in values.items()]
            return v, regs

        # the neighbours
        valid0, s0 = stage("p0", src.valid, {"x": x, "pos": pos, "present": item.present,
                                             "last": item.last, "a": a, "b": b, "d": d})
        # the median's comparisons
        valid1a, s1a = stage("p1a", valid0, {"x": s0["x"], "pos": s0["pos"],
                                             "present": s0["present"], "last": s0["last"],
                                             "same": s0["x"] == s0["a"],
                                             **med_terms(m, s0["a"], s0["b"], s0["d"], "p")})
        # the prediction and the activity
        median, spread = med_choose(m, s1a, "p")
        pred = prediction_at(m, s1a["pos"], s1a["av"], s1a["bv"], median, "p")
        # (and, off the iCE40, x + 1 and x - 1 for the sums below)
        near = {} if block else {"x_plus1": s1a["x"] + 1, "x_minus1": s1a["x"] - 1}
        valid1, s1 = stage("p1", valid1a, kept=True, values={
            "x": s1a["x"], "pos": s1a["pos"], "present": s1a["present"], "last": s1a["last"],
            "pred": pred, "act": Cat(Const(0, 1), spread), "same": s1a["same"], **near})

        # the residual, the context order and what the fold and the remap
        # ask of the prediction
        e = Signal(signed(RESIDUAL_WIDTH + 1), name="p2_e")
        x, pred = s1["x"], s1["pred"]
        m.d.comb += e.eq(x - pred)
        on = remap_on(m, pred, self.dtype, 1, "p_remap")
        x0, below = remap_terms(m, x, pred, "p_terms")
        # (with the sums the fold and the remap need, off the iCE40)
        sums = {} if block else residual_sums(m, x, pred, "p_sums", s1["x_plus1"],
                                              s1["x_minus1"])
        valid2, s2 = stage("p2", valid1, {
            **sums,
            "e": e, "k": context_order(m, s1["act"], 1, "k"), "x0": x0, "below": below,
            "at_lo": at_low_end(m, pred, self.dtype, "p_at_lo"), "on": 0 if on is None else on,
            "pos": s1["pos"], "present": s1["present"], "last": s1["last"],
            "flat": s1["act"] == 0, "same": s1["same"]})
        # the coded level
        s2_sums = None if block else {k: s2[k] for k in sums}
        folded = fold(m, s2["e"], s2["at_lo"], "folded", s2_sums)
        coded = remap(m, s2["e"], folded, None, None, None if on is None else s2["on"],
                      "coded", terms=(s2["x0"], s2["below"]), sums=s2_sums)
        with m.If(en):
            m.d.sync += [self.o.valid.eq(valid2)] + self._payload(
                coded, s2["pos"], s2["k"], s2["present"], s2["last"], s2["flat"], s2["same"])


class Reconstruction:
    """The decoder's side of the prediction loop (twin of
    :func:`golden.predict.decode`), built inside the Exp-Golomb decoder's
    module because the order of each codeword depends on the value decoded
    just before it.

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    """

    def __init__(self, dtype):
        self.dtype = dtype

    def build(self, m, pos, level, step, advance, low, block=False, hold=None):
        """Comb logic for the value at raster ``pos``: returns (k, rec,
        at_lo, pred, flat, a), the context order of its codeword (from
        already reconstructed neighbours), its reconstruction from the
        residual ``level`` (``lo`` where ``low``: the remapped ``x = lo``
        of :func:`unremap`, whose level is not formed; the left neighbour
        ``a`` where ``hold``: a value of a run), whether the prediction is
        the low end of the range (for :func:`unfold`), the prediction,
        whether the context is flat (activity 0) and ``a``; ``advance``
        (sync) takes ``rec`` into the history (``block``: see
        :func:`neighbours`)."""
        rec = Signal(signed(9), name="rrec")
        pred, act, a = guess(m, pos, *neighbours(m, pos, rec, advance, "r", block), "r")
        at_lo = at_low_end(m, pred, self.dtype, "r_at_lo")
        lo, hi = input_range(self.dtype)
        raw = Signal(signed(20), name="rraw")
        m.d.comb += raw.eq(pred + level * step)
        value = Mux(low, lo, clamp(raw, lo, hi))
        m.d.comb += rec.eq(value if hold is None else Mux(hold, a, value))
        k = context_order(m, act, step, "rk")
        flat = Signal(name="rflat")
        m.d.comb += flat.eq(act == 0)
        return k, rec, at_lo, pred, flat, a
