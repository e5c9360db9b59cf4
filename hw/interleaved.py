"""A decoder that works on several tiles at once, one pipeline stage each
(C-slow), so that its loop is cut into stages without losing a value per
clock."""
from amaranth import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for, exact_log2

from golden import codec, tiling
from golden.dct import input_range
from golden.expgolomb import max_prefix
from golden.predict import LOW_NUMBER, MAX_ORDER

from .bitpack import byte_swap, rotate_window, unpacker_capacity
from .bram import PipelinedMemory, SlotQueues, one_hot_choice
from .expgolomb import TileRequest, leading_zeros, max_item_length
from .predict import (DIFFS, med_choose, med_terms, order_reached, prediction_at, remap_on,
                      spread_choice)
from .quantizer import clamp
from .scan import lookup
from .tiling import (PlaceLayout, block_extent, next_block, next_ends, place_ends, place_nears,
                     place_steps, tensor_end)

IDLE, RUN, SKIP = 0, 1, 2

#: The fields of a place (:data:`hw.tiling.PlaceLayout`) that change
#: from block to block; a slot carries these through its stages.
BlockLayout = data.StructLayout({"plane": 24, "brow": 13, "bcol": 13, "final": 1})
#: And those fixed for a tile, kept by slot in LUT RAM: read where a stage
#: needs them.
TILE_CONSTANTS = {"extent": ("rows_last", "cols_last"), "limits": ("planes", "bh", "bw"),
                  "number": ("tile",)}

#: The stages of a slot's turn, in order; one tile slot per stage.
STAGES = ("fetch", "window", "zeros", "codeword", "number", "level", "value", "outcome")


def output_layout(slots):
    """A decoded value: the reconstruction ``value`` at raster position
    ``pos`` of its block, ``present`` (inside the tensor), ``first`` (the
    tile's first value), ``last`` (the tensor's or range's last) and the
    ``slot`` whose tile it belongs to."""
    return data.StructLayout({
        "value": signed(9), "pos": 6, "present": 1, "first": 1, "last": 1,
        "slot": range(slots),
    })


def slot_request(slots):
    """A tile request for one slot of :class:`InterleavedDecoder`: the
    slot and its :data:`hw.expgolomb.TileRequest`."""
    return data.StructLayout({"slot": range(slots), "tile": TileRequest})


def supported(config):
    """Whether :class:`InterleavedDecoder` decodes ``config``: ``pred``
    with context orders and runs in flat contexts, lossless."""
    return (config.transform == "pred" and config.adaptive and config.flat_runs
            and all(s == 1 for s in config.qtable))


def _cut(m, name, values, slot_init, takes=()):
    """One pipeline register: every value of ``values`` (name -> value)
    loaded every clock; the slot number starts at ``slot_init`` (``pick``,
    the slot one-hot, at its bit). A value named in ``takes`` (name ->
    the values it can take) has its bits that are the same in all of them
    as constants, not registered."""
    out = {}
    inits = {"slot": slot_init, "pick": 1 << slot_init}
    for f, v in values.items():
        shape = v.shape() if isinstance(v, data.View) else Value.cast(v).shape()
        if f in takes:
            # a register whose input is a constant Yosys sees only after
            # mapping stays, and identical ones in all lanes become one
            values_of = {x & ((1 << shape.width) - 1) for x in takes[f]}
            bits = [{(x >> b) & 1 for x in values_of} for b in range(shape.width)]
            varying = [b for b in range(shape.width) if len(bits[b]) > 1]
            r = Signal(len(varying), name=f"{name}_{f}")
            m.d.sync += r.eq(Cat(*(v[b] for b in varying)))
            out[f] = Cat(*(r[varying.index(b)] if len(bits[b]) > 1 else Const(min(bits[b]), 1)
                           for b in range(shape.width)))
            if shape.signed:
                out[f] = out[f].as_signed()
            continue
        r = Signal(shape, name=f"{name}_{f}", init=inits.get(f))
        m.d.sync += r.eq(v)
        out[f] = r
    return out


class InterleavedDecoder(wiring.Component):
    """Decodes ``slots`` tiles side by side, one value per clock in all.

    The Exp-Golomb decoder (:class:`hw.expgolomb.ExpGolombDecoder`) must
    know a codeword's length before it can read the next one, and for
    ``pred`` the next codeword's order comes from the value just decoded:
    the unpacker's pointer, the window's rotation, the leading zeros, the
    codeword, the reconstruction and the checks form one loop that sets
    the clock. Tiles are independent (docs/format.md section 3), so this
    decoder gives each of its pipeline stages a different tile (C-slow
    retiming, after Leiserson and Saxe, "Retiming synchronous
    circuitry", Algorithmica 6, 1991): a slot's turn passes the eight
    stages of :data:`STAGES`, one per clock, and its next value starts as
    the turn ends, so each slot decodes a value every eight clocks and the
    decoder one every clock. Each slot has its own words (a four-word
    ring in memory), its tile requests, its neighbour row and its state,
    which travels with it through the pipeline.

    It decodes what :class:`hw.expgolomb.ExpGolombDecoder` decodes for
    ``pred`` with context orders and runs in flat contexts, lossless
    (the default configuration, :func:`supported`), with the same checks,
    error causes and values after an error.

    Parameters
    ----------
    config : golden.config.Config
        ``align`` is ignored (the word width sets it).
    dtype : {"uint8", "int8"}
    word_width : {32, 64}

    Attributes
    ----------
    words : In(stream.Signature(word_width)).array(slots)
        Each slot's stream words (AXI byte order): the regions of its
        tiles, back to back.
    tiles : In(stream.Signature(slot_request(slots)))
        The slots' tiles, each tagged with its slot: length in bytes and
        place. A slot holds one request until its turn takes it: ``ready``
        is low while the payload's slot holds one (it depends on the
        payload's slot, never on ``valid``), so a request for a busy slot
        waits, and those behind it with it.
    room : In(slots)
        Bit ``s``: slot ``s``'s next value may leave (default all ones).
        Registered, then sampled two clocks before a slot's turn ends
        (in its "level" stage): a bit may fall only for the slot's own
        values, and must show a value's effect within three clocks of its
        leaving ``o`` (a value leaves two clocks after its slot's outcome
        while ``o`` is ready, and the slot samples again six clocks after
        that outcome, what the register held a clock before);
        a slot without room passes its turn, the
        others go on (a consumer with a buffer per slot never blocks
        ``o``, so one full buffer stalls no other slot).
    o : Out(stream.Signature(output_layout(slots)))
        The values of all slots, each slot's in its order, interleaved.
    error : Out(1)
        High for one cycle when a tile fails.
    error_slot, cause, error_tile : Out
        Its slot, why (:data:`golden.codec.ERRORS`) and its place's tile
        number.

    Latency and throughput
    ----------------------
    A slot's value reaches the output FIFO eight clocks after its turn
    starts and leaves it two clocks later at the earliest (the FIFO's head
    is a register: its reader's paths start at flip-flops). Each slot decodes
    at most one value per eight clocks; with every slot busy and the output
    taken, one value per clock. A slot takes at most one word per turn,
    so it keeps up while its codewords average at most ``word_width``
    bits.
    """

    slots = len(STAGES)

    def __init__(self, config, dtype, word_width=32):
        if not supported(config):
            raise NotImplementedError("the interleaved decoder decodes pred with context "
                                      "orders and flat runs, lossless, only")
        self.config = config.replace(align=word_width // 8)
        self.dtype = dtype
        self.word_width = word_width
        umax = codec.max_number(config, dtype)
        self.zmax = [max_prefix(umax, k) for k in range(max(codec.level_orders(config)) + 1)]
        self.window = max_item_length(config, dtype) + word_width
        self.vlo, self.vhi = codec.value_limits(config, dtype)
        assert tiling.skips_padding(config)
        super().__init__({
            "words": In(stream.Signature(word_width)).array(self.slots),
            "tiles": In(stream.Signature(slot_request(self.slots))),
            "room": In(self.slots, init=(1 << self.slots) - 1),
            "o": Out(stream.Signature(output_layout(self.slots))),
            "error": Out(1),
            "error_slot": Out(range(self.slots)),
            "cause": Out(3),
            "error_tile": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, W, N, C = self.config, self.word_width, self.window, self.slots
        B = unpacker_capacity(N, W)
        banks = B // W
        depth = 1 << bits_for(C - 1)
        tb = cfg.tile_blocks
        lo, hi = input_range(self.dtype)
        zmax = self.zmax
        K = len(zmax) - 1
        n = min(N, max(2 * zmax[j] + j + 1 for j in range(K + 1)))
        cap_bits = (max(4 * N, B + 1)).bit_length()
        cap = (1 << cap_bits) - 1

        # the slot's state, carried around the ring of stages
        loop = {
            "slot": Signal(range(C), name="s_slot"),
            "st": Signal(2, name="s_st"),
            "head": Signal(range(B), name="s_head"),
            "count": Signal(range(B + 1), name="s_count"),
            "tail": Signal(range(max(2, banks)), name="s_tail"),
            "left": Signal(40, name="s_left"),
            # the block's place; the tile's constants are in LUT RAM
            "at": Signal(BlockLayout, name="s_at"),
            # at's end tests (hw.tiling.place_ends), kept with it: stepped
            # from tests registered ahead, not compared in the fetch stage
            "col_end": Signal(name="s_col_end"),
            "row_end": Signal(name="s_row_end"),
            "plane_end": Signal(name="s_plane_end"),
            "tblk": Signal(range(max(2, tb)), name="s_tblk"),
            "start": Signal(name="s_start"),
            "skip_items": Signal(name="s_skip_items"),
            "sidx": Signal(6, name="s_sidx"),
            "run_left": Signal(3, name="s_run_left"),
            "after": Signal(name="s_after"),
            # the neighbours, 0 where missing: left, above, above-left
            "a": Signal(signed(9), name="s_a"),
            "b": Signal(signed(9), name="s_b"),
            "d": Signal(signed(9), name="s_d"),
        }
        stage_no = iter(range(C - 1))
        la = exact_log2(W // 8)

        # the slots' next tiles: one request held per slot, in LUT RAM read
        # by slot in the value stage (not eight registers and a choice
        # among them); its region in whole words and its end tests formed
        # as it is written, a clock after it is taken
        held = Signal(C, name="tile_held")
        req = self.tiles.payload
        m.d.comb += self.tiles.ready.eq(~held.bit_select(req.slot, 1))
        stored = data.StructLayout({"words": 33 - la, "ends": 3, "place": PlaceLayout})
        m.submodules.requests = requests = Memory(shape=stored, depth=depth, init=[])
        req_write, req_read = requests.write_port(), requests.read_port(domain="comb")
        accept = self.tiles.valid & self.tiles.ready
        m.d.sync += [req_write.en.eq(accept), req_write.addr.eq(req.slot),
                     req_write.data.words.eq((req.tile.length + (W // 8 - 1)) >> la),
                     req_write.data.ends.eq(Cat(*place_ends(req.tile.place))),
                     req_write.data.place.eq(req.tile.place)]

        takes = {}

        def cut(name, r, values_of={}, **new):
            # values_of: the values a value can take (kept as it is carried)
            j = next(stage_no)
            takes.update(values_of)
            return _cut(m, name, {**r, **new}, C - 1 - j, takes)

        # the tile's constants by slot, written as the slot takes a tile
        # (a memory per stage that reads them, so each is read once)
        consts, const_writes = {}, []
        for what, fields in TILE_CONSTANTS.items():
            layout = data.StructLayout({f: PlaceLayout[f].shape for f in fields})
            mem = Memory(shape=layout, depth=depth, init=[])
            m.submodules[f"tile_{what}"] = mem
            const_writes.append((mem.write_port(), fields))
            consts[what] = mem.read_port(domain="comb")

        # -- fetch: the slot's ring; the neighbours compared ---------------
        r = loop
        ends = (r["col_end"], r["row_end"], r["plane_end"])
        m.d.comb += consts["extent"].addr.eq(r["slot"])
        rows, cols = block_extent(consts["extent"].data, ends)
        # the ring is read in the slot's outcome stage, a clock before its
        # fetch, the word written then passed through: the rotation starts
        # from flip-flops
        ring, ring_read, ring_write = [], [], []
        for b in range(banks):
            m.submodules[f"ring{b}"] = mem = Memory(shape=W, depth=depth, init=[])
            ring_read.append(mem.read_port(domain="comb"))
            ring_write.append(mem.write_port())
            ring.append(Signal(W, name=f"ring_q{b}"))
        ring_msb = Cat(*[byte_swap(w) for w in reversed(ring)])
        # the rotation by the pointer's bits from 3 up here, by its three
        # lowest in the next stage (an 8-way choice, the rest's share)
        wb = 3
        coarse = rotate_window(m, ring_msb, r["head"], N, range(wb, len(r["head"])), name="rot")
        # golden.predict's neighbours (0 where missing) and the median's
        # comparisons (hw.predict.med_terms); its choices in the next stage
        na, nb, nd = r["a"], r["b"], r["d"]    # the state keeps them masked
        left = r["left"]
        terms = med_terms(m, na, nb, nd, "f")
        # the context order's thresholds tested on each difference here
        # (the spread is one of them, chosen in the window stage): the
        # choice, then the tests of its high bits, then the order was the
        # eight-lane path (7.1 ns); golden.predict.context_order with step 1.
        # Only the spread's flags are used, and it is not negative: the
        # tests leave out the sign, the carry chain's last bit
        orders = {f"above_{d}": order_reached(Cat(Const(0, 1), terms[f"diff_{d}"][:-1]), 1)
                  for d in DIFFS}
        r = cut("f", r, rows=rows, cols=cols,
                # left's high bits' OR in groups of four here, whole in
                # the window stage (lnear, left clamped to cap)
                left_hi=Cat(*[left[j:j + 4].any() for j in range(cap_bits, len(left), 4)]),
                tblk_last=r["tblk"] == tb - 1,
                **terms, **orders,
                flat=(na == nb) & (nb == nd), coarse=coarse)

        # -- window: the rest of the rotation; prediction, order ----------
        window = rotate_window(m, r["coarse"], r["head"], N, range(wb), wrap=False, name="rot")
        median, _ = med_choose(m, r, "w")   # (the spread: its order above)
        pred = prediction_at(m, r["sidx"], r["av"], r["bv"], median, "w")
        # |a-d| + |b-d| + |a-b| is twice the spread: the order is the
        # number of thresholds it reaches, those of the difference that is
        # the spread
        above = Signal(MAX_ORDER, name="above")
        m.d.comb += above.eq(spread_choice(r, {d: r[f"above_{d}"] for d in DIFFS}))
        k = Signal(range(MAX_ORDER + 1), name="k")
        m.d.comb += k.eq(sum(above[j] for j in range(MAX_ORDER)))
        inrun = r["run_left"] != 0
        # inside the tensor: tested here, against the block's extent
        # registered in the fetch stage (its end tests are deep)
        pos = r["sidx"]
        present = (pos[3:6] <= r["rows"]) & (pos[0:3] <= r["cols"])
        fl = present & ~inrun & ~r["after"] & r["flat"]
        ends = (r["col_end"], r["row_end"], r["plane_end"])
        # the tile's limits read here and registered: the next stage
        # compares them (a LUT RAM's read, then equality tests, was a path)
        m.d.comb += consts["limits"].addr.eq(r["slot"])
        r = cut("w", r, window=window, k=k, fl=fl, inrun=inrun, pred=pred, present=present,
                limits=consts["limits"].data,
                tile_last_block=r["tblk_last"] | tensor_end(r["at"], ends),
                parse=present & ~inrun, lnear=Mux(r["left_hi"].any(), cap, r["left"][:cap_bits]),
                **dict(zip(("col1", "row1", "plane1"), place_steps(r["at"]))))

        # -- zeros: the codeword's prefix ---------------------------------
        top = r["window"][N - n:]
        z = leading_zeros(m, top, "z")
        zm = lookup(m, r["k"], zmax, range(n + 1), "zm")
        # fewer bits buffered than are left of the region near the item
        # (also the tile's end's "wait for the region's last bits", carried
        # to the level stage: its carry chain there was the path)
        short = Signal(name="short")
        m.d.comb += short.eq(r["count"] < r["lnear"])
        known = Mux(short, r["count"], r["lnear"])
        # the codeword's bits shifted by the order here, by its end in the
        # next stage: shifts commute, and the two in one stage were its
        # path. (The top bits K places up, down by K - k: up by k, k <= K;
        # the subtraction before the shift was the eight-lane path, 7.8 ns)
        ordered = Signal(n + K, name="ordered")
        m.d.comb += ordered.eq(top << r["k"])
        lnear = r["lnear"]
        col = r["sidx"][0:3]
        # the bounds the codeword's length 2z + k + 1 is compared with,
        # less k + 1 (so the next stage compares 2z alone, no adder first)
        fit_room = Signal(signed(len(r["count"]) + 1), name="fit_room")
        near_room = Signal(signed(len(lnear) + 1), name="near_room")
        m.d.comb += [fit_room.eq(r["count"] - r["k"] - 1), near_room.eq(lnear - r["k"] - 1)]
        # the values base takes: a run's symbol's bound 8 - col, 2^k
        bases = sorted({8 - c for c in range(8)} | {1 << j for j in range(K + 1)})
        r = cut("z", r, z=z, zm=zm, known=known, short=short, ordered=ordered,
                at_lo=r["pred"] == lo,
                base=Mux(r["fl"], 8 - col, Const(1, 5) << r["k"]),
                lclamp=Mux(lnear > N, N, lnear[:bits_for(N)]), fit_room=fit_room, near_room=near_room,
                # the next block's end tests (hw.tiling.next_ends), from the
                # sums registered in the window stage
                nears=Cat(*place_nears(r["limits"],
                                       (r["col1"], r["row1"], r["plane1"]))))

        # -- codeword: its value, number and bounds -----------------------
        # window bits after the region (left <= N wherever the padding is
        # checked): ones >> min(left, N), clamped in the zeros stage; bit i
        # is set while min(left, N) <= N - 1 - i, decoded from its high and
        # low bits by tables (no shifter, no comparators)
        mc = r["lclamp"]
        high3, low3 = mc[3:], mc[:3]
        nh = 1 << len(high3)
        lt_hi = lookup(m, high3, [sum(1 << c for c in range(nh) if v < c) for v in range(nh)],
                       nh, "lt_hi")
        eq_hi = lookup(m, high3, [1 << v for v in range(nh)], nh, "eq_hi")
        le_lo = lookup(m, low3, [sum(1 << d for d in range(8) if v <= d) for v in range(8)],
                       8, "le_lo")
        below_region = Signal(N, name="below_region")
        m.d.comb += below_region.eq(Cat(*[lt_hi[(N - 1 - i) >> 3] |
                                          (eq_hi[(N - 1 - i) >> 3] & le_lo[(N - 1 - i) & 7])
                                          for i in range(N)]))
        width = max(zm_k + j + 1 for j, zm_k in enumerate(zmax))
        w = Signal(width, name="w")
        # shifted down to the codeword's end, n - 2z - 1 from the top: a
        # choice by z itself (its table, after the leading zeros' tree in
        # the zeros stage, was a path there)
        shifts = {}
        for j in range(n + 1):
            shifts.setdefault(max(0, n - 2 * j - 1), []).append(j)
        with m.Switch(r["z"]):
            for s1, zs in shifts.items():
                with m.Case(*zs):
                    m.d.comb += w.eq(r["ordered"] >> s1)
        z, zm, known, lnear = r["z"], r["zm"], r["known"], r["lnear"]
        length = Signal(range(2 * n + K + 2), name="length")
        m.d.comb += length.eq(2 * z + r["k"] + 1)
        # after an error: the bits a turn skips (known: what is buffered
        # of the region)
        dropped = Signal(range(N + 1), name="dropped")
        m.d.comb += dropped.eq(Mux(known > N, N, known))
        # functions of base alone, each formed here on the register and
        # on every value base takes: the remap's low bound on u = w - base
        # as a bound on w (the next stage compares w, not the difference),
        # the level's range likewise (hw.expgolomb.level_out_of_range), and
        # -base/2 and base/2 + 1 for the number stage's half + 1 and -half
        of_base = {"w_low": lambda b: b + LOW_NUMBER, "w_odd": lambda b: b + (2 * self.vhi - 1),
                   "w_even": lambda b: b + (-2 * self.vlo), "w_vhi": lambda b: b + self.vhi,
                   "nbh": lambda b: -(b >> 1), "bh1": lambda b: (b >> 1) + 1}
        r = cut("c", r, w=w, dropped=dropped, beyond=r["window"] & ~below_region, too_long=(z > zm) & (known > zm),
                past=Mux(z < known, 2 * z > r["near_room"], lnear <= r["count"]),
                found=z < known, fits=2 * z <= r["fit_room"], total=Mux(r["parse"], length, 0),
                # the remap's high bound on u = w - base (2 pred), as a bound
                # on w, as of_base's
                w_lim=Cat(Const(0, 1), r["pred"][:8]) + r["base"],
                **{f: g(r["base"]) for f, g in of_base.items()},
                # (a bit the same for every base it takes is a constant, not
                # a register; one always 1 was one flip-flop for all eight
                # lanes, a path)
                values_of={f: [g(b) for b in bases] for f, g in of_base.items()})

        # -- number: what the codeword codes; a run's end -----------------
        w = r["w"]
        u = Signal(width, name="u")
        m.d.comb += u.eq(w - r["base"])
        col = r["sidx"][0:3]
        run_sym = r["fl"] & (w <= 8 - col)
        run_n = Signal(3, name="run_n")
        m.d.comb += run_n.eq(w[:4] - 1)
        # window bits after the item (an item is at most L bits where it
        # matters: a longer one fails first)
        L = max_item_length(cfg, self.dtype)
        total = r["total"]
        item_top = Signal(L, name="item_top")
        m.d.comb += item_top.eq(Const((1 << L) - 1, L) >> Mux(total > L, L, total)[:L.bit_length()])
        # the window's bits after the item inside the region: the tile's
        # last item's padding (tested for zero in the next stage)
        below_item = Cat(Const((1 << (N - L)) - 1, N - L), item_top)
        # what the level is formed from, registered (sums and comparisons
        # of u, each a carry chain): half + 1 and -half (hw.expgolomb's
        # number_level, hw.predict's unremap), the remap's tests, the range
        # half = (u >> 1) is w/2 - base/2 - (w even, base odd), so each is
        # one carry chain from w (not u's chain, then another): x + y + c
        # as (2x + c + 2y + 1) >> 1, y a register from base
        wh = Cat(w[1:], Const(0, 1)).as_signed()
        borrow = ~w[0] & r["base"][0]
        h1, hneg = Signal(signed(width + 1), name="h1"), Signal(signed(width + 1), name="hneg")
        m.d.comb += [h1.eq((Cat(~borrow, wh).as_signed() + Cat(Const(1, 1), r["nbh"]).as_signed()) >> 1),
                     hneg.eq((Cat(borrow, ~wh).as_signed() + Cat(Const(1, 1), r["bh1"], Const(0, 1)).as_signed()) >> 1)]
        on = remap_on(m, r["pred"], self.dtype, 1, "remap")
        # (u = LOW_NUMBER, LOW_NUMBER < u <= 2 pred as w = base + LOW_NUMBER,
        # base + LOW_NUMBER < w <= base + 2 pred, and the range's tests
        # likewise (u's low bit w's xor base's): the same where w >= base,
        # and w < base is a run symbol, whose level is not used)
        remapped = {} if on is None else {
            "u_low": on & (w == r["w_low"]),
            "u_mid": on & (w > r["w_low"]) & (w <= r["w_lim"]),
        }
        # whether the slot holds a next tile, seen three clocks before its
        # outcome (a request holds until the slot's outcome takes it; one
        # taken now is written a clock later and read in the value stage)
        block_end = r["sidx"] == 63
        r = cut("n", r, u=u, run_sym=run_sym, run_n=run_n, pad_bits=r["beyond"] & below_item,
                h1=h1, hneg=hneg, u_above=w > r["w_vhi"],
                u_out=Mux(w[0] ^ r["base"][0], w > r["w_odd"], w > r["w_even"]),
                **remapped, tile_valid=held.bit_select(r["slot"], 1),
                # the block's and the tile's last item, for the level
                # stage's end checks (after its carry chains)
                block_end=block_end, tile_end=block_end & r["tile_last_block"],
                # padding of a word or more after the item (lnear - total
                # >= W; where the item runs past lnear it errs or waits
                # first), compared here off the level stage's end terms
                pad_word=r["total"] + W <= r["lnear"],
                # the slot one-hot, for the choice among the slots' words
                # (heads by the word FIFOs' block RAM, across the lane):
                # an OR of ANDs from its own flip-flops
                pick=Cat(*(r["slot"] == s for s in range(C))))

        room_seen = Signal(C, name="room_seen")
        m.d.sync += room_seen.eq(self.room)

        # -- level: the residual's level and the checks -------------------
        u = r["u"]
        # se(u): (u + 1) / 2 for odd u, -u / 2 for even; where the remap
        # shifted it, se(u - 1): -(u - 1) / 2 for odd u, u / 2 for even
        # (raw_vr below); the level is that, or u where the prediction is the
        # lowest value, or 0 outside the tensor. The reconstruction's sum
        # pred + level is formed here from a sum per part, chosen as the
        # level would be (the value stage only clamps)
        low = r["u_low"] if on is not None else Const(0, 1)
        sums = {}
        for part, v in (("h1", r["h1"]), ("hneg", r["hneg"]), ("half", u >> 1), ("u", u)):
            sums[part] = Signal(signed(12), name=f"raw_{part}")
            m.d.comb += sums[part].eq(r["pred"] + v)
        raw_vr = Mux(u[0], sums["h1"], sums["hneg"])
        if on is not None:
            raw_vr = Mux(r["u_mid"], Mux(u[0], sums["hneg"], sums["half"]), raw_vr)
        raw = Signal(signed(12), name="raw")
        m.d.comb += raw.eq(Mux(r["present"], Mux(r["at_lo"], sums["u"], raw_vr), r["pred"]))
        col = r["sidx"][0:3]
        bad_run = r["run_sym"] & (r["run_n"] != 0) & (col + r["run_n"] > r["cols"])
        bad_value = Mux(r["at_lo"], r["u_above"], r["u_out"]) & ~r["run_sym"]
        err, wait = Signal(name="v_err"), Signal(name="v_wait")
        cause = Signal(3, name="v_cause")
        parse = r["parse"]
        with m.If(parse & (r["too_long"] | r["past"])):
            m.d.comb += [err.eq(1), cause.eq(Mux(r["too_long"], 1, 2))]
        with m.Elif(parse & ~(r["found"] & r["fits"])):
            m.d.comb += wait.eq(1)
        with m.Elif(bad_run):
            m.d.comb += [err.eq(1), cause.eq(4)]
        with m.Elif(parse & bad_value):
            m.d.comb += [err.eq(1), cause.eq(3)]
        # the tile's last item also drops its padding: less than a word,
        # all zero bits (:class:`hw.expgolomb.ExpGolombDecoder`)
        total, lnear = r["total"], r["lnear"]
        # the slot's pointer, count and region after each way of consuming
        # bits (the outcome only chooses): an item, the tile's end, a skip
        moved = {}
        for way, used in (("item", total), ("end", lnear), ("drop", r["dropped"])):
            for f, v in (("head", r["head"] + used), ("count", r["count"] - used),
                         ("left", r["left"] - used)):
                moved[f"{f}_{way}"] = Signal.like(r[f], name=f"{f}_{way}")
                m.d.comb += moved[f"{f}_{way}"].eq(v)
        # and its next word (a stream's valid and payload hold until taken,
        # and only the slot's outcome takes them)
        word_valid, word = Signal(name="word_valid"), Signal(W, name="word")
        pick = r["pick"]
        m.d.comb += [
            word_valid.eq((Cat(*(p.valid for p in self.words)) & pick).any()),
            word.eq(one_hot_choice(pick, [p.payload for p in self.words]))]
        # `go`, one flip-flop: room for the value in the output FIFO (its
        # level two clocks old, so for three more; a value read every
        # clock holds two places of the buffered FIFO, so six keep one
        # value per clock) and in the slot's consumer (seen two clocks
        # before the outcome: only the slot's own values take it, a turn
        # apart; chosen from a registered copy by the one-hot slot). At
        # eight lanes the two apart, routed into the value stage's
        # decisions, were the path
        m.submodules.out = out = fifo.SyncFIFOBuffered(width=output_layout(C).size, depth=6)
        free = Signal(name="free")
        m.d.sync += free.eq(out.level < out.depth - 3)
        # the slot's state one-hot and what it decides alone, for the
        # value stage's few decisions
        st = r["st"]
        run, skip = st == RUN, st == SKIP
        close_skip = skip & ~r["skip_items"] & (r["left"] == 0)
        # at a tile's end (golden order, after an error and a wait for
        # bits): padding of a word or more, a wait for the region's last
        # bits, padding not zero; the first two folded into the state's
        # flags here, the padding's test (an OR of the window's bits, its
        # own tree) kept apart: with it the flags were the path
        tile_end = r["tile_end"]
        pad_word, short = r["pad_word"], r["short"]
        end_close = run & tile_end & ~pad_word & ~short    # but for the padding
        go = Signal(name="go_now")
        m.d.comb += go.eq(free & (room_seen & pick).any())
        # whether the outcome emits a value, for either padding (the value
        # stage only chooses by it): its four levels of logic after `go`,
        # `err` and `wait` in the value stage were the path at eight lanes
        ok, item_ok = ~err & ~wait, run & ~tile_end
        skip_emit = skip & r["skip_items"]
        r = cut("l", r, word_valid=word_valid, word=word, word_room=r["count"] <= B - W,
                go=go,
                emit_clean=go & (skip_emit | (ok & (item_ok | end_close))),
                emit_dirty=go & (skip_emit | (ok & item_ok)),
                skip=skip, close_skip=close_skip,
                skip_emit=skip_emit,
                tile_now=r["tile_valid"] & ((st == IDLE) | close_skip),
                # an item taken (ok in RUN but for err, wait and the
                # padding): not the tile's last, or its last (with a next
                # tile to take)
                item_ok=item_ok, end_close=end_close,
                end_take=end_close & r["tile_valid"],
                # an error in RUN (but for the wait, at the tile's end)
                run_err=run & err, end_fail=run & tile_end & pad_word,
                pad_nonzero=r["pad_bits"].any(),
                **moved, raw=raw,
                low=r["present"] & low, err=err, wait=wait, cause=cause,
                # the row memory's column for the value stage's read
                col_next=(r["sidx"][0:3] + 1)[:3])

        # -- value: the reconstruction; the next block's place -------------
        at = r["at"]
        at_next = Signal(BlockLayout, name="at_next")
        m.d.comb += at_next.eq(at)
        ends = (r["col_end"], r["row_end"], r["plane_end"])
        next_block(m, at, at_next, "comb", ends)
        tblk_next = Mux(r["tile_last_block"], 0, r["tblk"] + 1)
        raw = r["raw"]
        rec = Signal(signed(9), name="rec")
        m.d.comb += rec.eq(Mux(r["inrun"] | r["run_sym"], r["av"],
                               Mux(r["low"], lo, clamp(raw, lo, hi))))
        # the next position's neighbour above: column c + 1 of the row
        # memory (at c = 7, column 0, which holds the row just decoded)
        m.submodules.row_mem = row_mem = Memory(shape=signed(9), depth=8 * depth, init=[])
        above = row_mem.read_port(domain="comb")
        row_write = row_mem.write_port()
        m.d.comb += above.addr.eq(Cat(r["col_next"], r["slot"]))
        # the item's outcome: ok, wait, or an error with its cause, in the
        # golden order (an error, a wait for bits, then the tile's end's
        # checks, formed in the level stage)
        cause_all = Mux(r["err"], r["cause"], Mux(r["pad_word"], 5, 6))
        after = (r["sidx"] + 1)[:6]       # the next position
        # what the outcome does, decided here from `go` and the level
        # stage's flags (a few flip-flops each) and registered, so that its
        # enables come straight from flip-flops
        go, skip, tile_now = r["go"], r["skip"], r["tile_now"]
        gok = go & ~r["err"] & ~r["wait"]
        clean = ~r["pad_nonzero"]
        close_run = gok & r["end_close"] & clean       # the tile's last item taken
        item = gok & r["item_ok"]                      # another item taken
        advance = item | close_run
        closing = close_run | r["close_skip"]
        # a new tile is taken by the outcome, decided here (the request
        # holds until taken, and the slot's hold ends a clock after the
        # outcome)
        take_tile = tile_now | (gok & r["end_take"] & clean)
        # the ways of consuming bits, one-hot: the tile's end, an item, a
        # skip, none; for the region a new tile first (only while idle or
        # at a skip's close: never with an item or the tile's end)
        ways = Cat(close_run, item, skip, ~advance & ~skip)
        left_ways = Cat(take_tile, item, skip & ~tile_now, ~advance & ~skip & ~tile_now)
        # the slot's words: one per turn while there is room for it
        take_word = r["word_room"] & r["word_valid"]
        m.d.comb += req_read.addr.eq(r["slot"])
        tile = req_read.data
        r = cut("v", r, rec=rec, b_next=above.data, at_next=at_next, tblk_next=tblk_next,
                row0=after[3:6] == 0, col0=after[0:3] == 0,
                cause_all=cause_all, advance=advance,
                emits=Mux(r["pad_nonzero"], r["emit_dirty"], r["emit_clean"]),
                closing=closing,
                fail=go & (r["run_err"] | (~r["wait"] & (r["end_fail"] |
                                                          (r["end_close"] & r["pad_nonzero"])))),
                take_word=take_word,
                # the outcome's choices decided here, one-hot, so that its
                # next state is an OR of ANDs of flip-flops (at eight
                # lanes, `go` routed to the slot's next region through the
                # choices among the ways was the path): a new tile (its
                # region), the tile's end, an item, a skip (what each
                # consumes), or none
                take_tile=take_tile,
                ways=ways, left_ways=left_ways,
                # the words' readies by slot, from flip-flops
                word_hot=Mux(take_word, r["pick"], 0),
                region=tile.words << (la + 3), tile_place=tile.place,
                final=tensor_end(at, ends) | at.final,
                ends_next=Cat(*next_ends(ends, list(r["nears"]))),
                tile_ends=tile.ends)

        # -- outcome: the slot's next state -------------------------------
        at = r["at"]
        item = Signal(output_layout(C), name="item")
        m.d.comb += [out.w_data.eq(item), self.o.valid.eq(out.r_rdy),
                     self.o.payload.eq(out.r_data), out.r_en.eq(self.o.ready)]
        nxt = {f: Signal.like(v, name=f"n_{f}") for f, v in loop.items()}
        m.d.comb += [nxt[f].eq(r[f]) for f in loop]
        m.d.sync += [loop[f].eq(nxt[f]) for f in loop]
        col = r["sidx"][0:3]
        advance, emits, closing = r["advance"], r["emits"], r["closing"]
        take_tile = r["take_tile"]
        # the slot's request taken: its hold ends a clock later (the
        # hold set from the slot's own bit, not through the 8-way ready)
        for s in range(C):
            with m.If(self.tiles.valid & (req.slot == s) & ~held[s]):
                m.d.sync += held[s].eq(1)
            with m.If(take_tile & (r["slot"] == s)):
                m.d.sync += held[s].eq(0)

        m.d.comb += [out.w_en.eq(emits), item.value.eq(Mux(r["skip_emit"], 0, r["rec"])),
                     item.pos.eq(r["sidx"]), item.present.eq(r["present"]),
                     item.first.eq(r["start"]), item.last.eq(r["tile_end"] & r["final"]),
                     item.slot.eq(r["slot"])]
        with m.If(emits):
            m.d.comb += [nxt["start"].eq(0), nxt["sidx"].eq(r["sidx"] + 1)]
            with m.If(r["block_end"]):
                m.d.comb += [nxt["tblk"].eq(r["tblk_next"]), nxt["at"].eq(r["at_next"]),
                             Cat(nxt["col_end"], nxt["row_end"], nxt["plane_end"]).eq(
                                 r["ends_next"])]
                with m.If(r["tile_last_block"]):
                    m.d.comb += nxt["skip_items"].eq(0)
        with m.If(advance):
            m.d.comb += [nxt["a"].eq(Mux(r["col0"], 0, r["rec"])),
                         nxt["b"].eq(Mux(r["row0"], 0, r["b_next"])),
                         nxt["d"].eq(Mux(r["row0"] | r["col0"], 0, r["b"])),
                         row_write.en.eq(1)]
            with m.If(r["inrun"]):
                m.d.comb += nxt["run_left"].eq(r["run_left"] - 1)
            with m.Elif(r["run_sym"]):
                m.d.comb += [nxt["run_left"].eq(Mux(r["run_n"] == 0, 7 - col, r["run_n"] - 1)),
                             nxt["after"].eq(r["run_n"] != 0)]
            with m.Else():
                m.d.comb += nxt["after"].eq(0)
        m.d.comb += [row_write.addr.eq(Cat(col, r["slot"])), row_write.data.eq(r["rec"])]
        m.d.sync += self.error.eq(r["fail"])
        with m.If(r["fail"]):
            m.d.comb += [nxt["st"].eq(SKIP), nxt["skip_items"].eq(1)]
            m.d.sync += [self.cause.eq(r["cause_all"]),
                         self.error_tile.eq(consts["number"].data.tile),
                         self.error_slot.eq(r["slot"])]
        with m.If(closing):
            m.d.comb += nxt["st"].eq(IDLE)

        # the bits consumed, by the ways one-hot (an item and the tile's
        # end only in RUN, a skip only in SKIP): the tile's end, an item,
        # a skip, none; for the region, a new tile first (its region),
        # then the item, the skip, none (the tile's end leaves none)
        count = Signal.like(r["count"], name="count_after")
        m.d.comb += [
            nxt["head"].eq(one_hot_choice(r["ways"], [r["head_end"], r["head_item"],
                                                      r["head_drop"], r["head"]])),
            count.eq(one_hot_choice(r["ways"], [r["count_end"], r["count_item"],
                                                r["count_drop"], r["count"]])),
            nxt["left"].eq(one_hot_choice(r["left_ways"], [r["region"], r["left_item"],
                                                           r["left_drop"], r["left"]])),
        ]

        # a new tile: its region, its place and a fresh state
        with m.If(take_tile):
            m.d.comb += [
                nxt["st"].eq(RUN),
                nxt["sidx"].eq(0), nxt["tblk"].eq(0), nxt["start"].eq(1),
                *[getattr(nxt["at"], f).eq(getattr(r["tile_place"], f)) for f, _ in BlockLayout],
                nxt["run_left"].eq(0), nxt["after"].eq(0),
                Cat(nxt["col_end"], nxt["row_end"], nxt["plane_end"]).eq(r["tile_ends"]),
                nxt["a"].eq(0), nxt["b"].eq(0), nxt["d"].eq(0),
            ]
        m.d.comb += consts["number"].addr.eq(r["slot"])
        for wp, fields in const_writes:
            m.d.comb += [wp.en.eq(take_tile), wp.addr.eq(r["slot"])]
            m.d.comb += [getattr(wp.data, f).eq(getattr(r["tile_place"], f)) for f in fields]
        # the word taken into the slot's ring
        take_word = r["take_word"]
        for b, (wp, rp) in enumerate(zip(ring_write, ring_read)):
            m.d.comb += [wp.addr.eq(r["slot"]), wp.data.eq(r["word"]),
                         wp.en.eq(take_word & (r["tail"] == b)), rp.addr.eq(r["slot"])]
            m.d.sync += ring[b].eq(Mux(wp.en, r["word"], rp.data))
        m.d.comb += [nxt["count"].eq(count + Mux(take_word, W, 0)),
                     nxt["tail"].eq(r["tail"] + take_word)]
        for s in range(C):
            m.d.comb += self.words[s].ready.eq(r["word_hot"][s])
        return m


class Dealer(wiring.Component):
    """Deals a lane's tiles to the decoder's slots in turn: tile ``k``'s
    request, then its words (its length rounded up to whole words), to
    slot ``k mod slots``.

    The requests go out on one stream tagged with their slot (the
    decoder holds one per slot, :func:`slot_request`); each slot has a
    FIFO of words, all of them in one block RAM
    (:class:`hw.bram.SlotQueues`). The decisions are
    taken from flip-flops and the request's ready: the request's word
    count and tests are registered with it, and the slot's word room is a
    clock old (a slot that just became the dealer's is waited for a
    clock).

    Parameters
    ----------
    slots : int
    word_width : {32, 64}
    word_depth : int
        Words buffered per slot, a power of two.

    Attributes
    ----------
    tiles : In(stream.Signature(hw.expgolomb.TileRequest))
    words : In(stream.Signature(word_width))
        A tile's words follow its request, back to back.
    slot_tiles : Out(stream.Signature(slot_request(slots)))
        The requests of tiles ``0, 1, ...`` in order, tile ``k``'s tagged
        with slot ``k mod slots``. For a consumer whose ready is "slot
        ``payload.slot`` holds no request" (the decoder's): a request is
        offered a clock after that ready was seen high and is taken where
        it is offered.
    slot_words : Out(stream.Signature(word_width)).array(slots)
        Slot ``s``: the words of tiles ``s, s + slots, ...``.

    Latency and throughput
    ----------------------
    One word per clock while the slot's FIFO has room. A request is
    offered a clock after it is taken (and the previous tile's words
    dealt); a word is offered 9 clocks after it is taken (its request
    dealt) at the earliest: the input slice and queue, the registered write, the
    read's choice and address, the block RAM's read, its output register
    and the slot's head (:class:`hw.bram.SlotQueues`).
    Between tiles the dealer spends a clock on the request and two on the
    move to the next slot; a tile's last word, where it is not there when
    first asked for, a clock more.
    """

    def __init__(self, slots, word_width, word_depth):
        self.slots, self.word_width, self.word_depth = slots, word_width, word_depth
        super().__init__({
            "tiles": In(stream.Signature(TileRequest)),
            "words": In(stream.Signature(word_width)),
            "slot_tiles": Out(stream.Signature(slot_request(slots))),
            "slot_words": Out(stream.Signature(word_width)).array(slots),
        })

    def elaborate(self, platform):
        from .lanes import queue, skid
        m = Module()
        C, W = self.slots, self.word_width
        left = Signal(31, name="deal_left")       # words of the tile still to deal
        la = exact_log2(W // 8)
        # the request enters a register first: its ready is a flip-flop
        # (the lanes' requests come from far across the device)
        taken = Signal(TileRequest, name="taken")
        taken_valid = Signal(name="taken_valid")
        m.d.comb += self.tiles.ready.eq(~taken_valid)
        # its word count and tests taken with it (the deal's loop has no
        # room for a 32-bit compare)
        nwords = Signal(31, name="taken_words")
        taken_empty, taken_one = Signal(name="taken_empty"), Signal(name="taken_one")
        # loaded while empty, whatever the valid (the flag says whether it
        # holds a request): the enables from the flag beside them, not
        # from the request's valid across the device
        length = self.tiles.payload.length
        with m.If(~taken_valid):
            m.d.sync += [taken.eq(self.tiles.payload), taken_valid.eq(self.tiles.valid),
                         nwords.eq((length + (W // 8 - 1)) >> la),
                         taken_empty.eq(length == 0),
                         taken_one.eq((length != 0) & (length <= W // 8))]
        dealing = Signal(name="dealing")          # left != 0, as a flip-flop
        left_one = Signal(name="deal_left_one")   # left == 1, as a flip-flop
        ds_hot = Signal(C, name="deal_slot_hot", init=1)    # the slot dealt to
        ds = Signal(range(C), name="deal_slot")              # and its number
        # the slot's word room is a flip-flop, a clock old: valid unless
        # the slot moved in that clock (``moved``; a deal that does not
        # move it starts dealing words, so the next deal is clocks away)
        slot_room = Signal(name="deal_slot_room")
        moved = Signal(name="deal_moved")
        out = self.slot_tiles
        # the decoder's ready is its slot's hold, a choice among eight
        # flip-flops far away: seen a clock late, and a request offered only
        # where it is taken. A hold is set only by a deal, and the clock
        # after a deal offers nothing (a move, words to deal, or the next
        # request to take), so the ready seen is the ready now or one that
        # rose since: ``valid`` implies ``ready``
        slot_free = Signal(name="deal_slot_free")
        m.d.sync += slot_free.eq(out.ready)
        # the move to the next slot is decided a clock before it is made
        # (``move``): the slot's one-hot feeds the slots' FIFOs and rooms
        # across the block RAM, and its enable from the deal's terms was
        # the path at eight lanes (8.6 ns)
        move = Signal(name="deal_move")
        m.d.comb += [out.valid.eq(taken_valid & ~dealing & ~move & ~moved & slot_free),
                     out.payload.slot.eq(ds), out.payload.tile.eq(taken)]
        deal = out.valid
        m.d.sync += [move.eq(0), moved.eq(move)]
        with m.If(move):
            m.d.sync += [ds_hot.eq(ds_hot.rotate_left(1)), ds.eq(ds + 1)]
        with m.If(deal):
            m.d.sync += [left.eq(nwords), left_one.eq(taken_one), taken_valid.eq(0)]
            with m.If(taken_empty):
                m.d.sync += move.eq(1)
        # the words enter a short queue first (they come from far across
        # the device, and the dealer's loop would otherwise include them),
        # through a register slice (the queue's ready is its level's test,
        # and its write that and the valid: routed to the source and back,
        # 8.3 ns at eight lanes)
        word = stream.Signature(W).create(path=("word_in",))
        sliced = stream.Signature(W).create(path=("word_sliced",))
        skid(m, "word_slice", self.words, sliced)
        queue(m, "word_in", sliced, word)
        # a word dealt is written into its slot's FIFO a clock later (the
        # FIFOs are spread over the device; the dealer's loop stays local):
        # it deals while the slot had room for three a clock ago (two
        # writes in flight; the slot does not move while dealing)
        # the slots' FIFOs share one block RAM (:class:`hw.bram.SlotQueues`:
        # eight blocks spread over the device pulled the dealer apart)
        m.submodules.slot_queues = sq = SlotQueues(C, W, self.word_depth)
        put_hot, put_data = Signal(C, name="put_hot"), Signal(W, name="put_data")
        m.d.comb += [sq.w_en.eq(put_hot), sq.w_data.eq(put_data)]
        for s in range(C):
            wiring.connect(m, sq.heads[s], wiring.flipped(self.slot_words[s]))
        room_next = Signal(name="deal_room_next")
        m.d.comb += room_next.eq((sq.w_rdy3 & ds_hot).any())
        m.d.sync += slot_room.eq(room_next)
        # the word queue's ready, `dealing & slot_room`, is a flip-flop of
        # its own formed from both's next values (the AND of the two,
        # routed into the queue's read, was the path at eight lanes: 7.5 ns);
        # a deal starts dealing its words, the last word dealt ends it
        word_ready = Signal(name="deal_word_ready")
        m.d.comb += word.ready.eq(word_ready)
        dealt = word.valid & word.ready
        dealing_next = Mux(deal, ~taken_empty, dealing & ~(dealt & left_one))
        # and not from the queue's valid (through the taken word into the
        # ready, the queue's far side twice in one path: 7.9 ns): on the
        # tile's last word the ready falls for a clock after each clock it
        # was high, the word taken or not, so no word past the tile's is
        ready_next = Mux(dealing, ~(left_one & word_ready), deal & ~taken_empty) & room_next
        m.d.sync += [dealing.eq(dealing_next), word_ready.eq(ready_next)]
        m.d.sync += [put_hot.eq(Mux(dealt, ds_hot, 0)), put_data.eq(word.payload)]
        with m.If(dealt):
            m.d.sync += [left.eq(left - 1), left_one.eq(left == 2)]
            with m.If(left_one):
                m.d.sync += move.eq(1)
        return m


class InterleavedLane(wiring.Component):
    """A decompressor lane around :class:`InterleavedDecoder`: one stream of
    tiles in, their reconstructed rows out in tile order.

    The lane deals its tiles to the decoder's slots in turn (tile ``k`` to
    slot ``k mod 8``, a :class:`Dealer`): each slot has a FIFO of words
    and holds its next tile's request, and the dealer passes a
    tile's request and then its words (its length rounded up to whole
    words) to the slot.
    The decoder's values are written into eight row banks (one per column
    of a block row), each slot owning a ring of ``ring_rows`` rows; a
    reader takes the rows of tile ``k`` from slot ``k mod 8`` whole, as
    :class:`hw.lanes.Merge` wants them. A slot whose ring is full passes
    its turns (the decoder's ``room``) and stalls no other slot.

    Parameters
    ----------
    config : golden.config.Config
        :func:`supported`.
    dtype : {"uint8", "int8"}
    word_width : {32, 64}
    word_depth : int
        Words buffered per slot, a power of two (eight slots of 256 words
        of 32 bits are four DP16KD side by side). A tile's words and the
        next's keep every slot busy; fewer only slow the lane (a real
        ReLU6 map at 4.1 bits per value in the default 1,024-value tiles:
        1.14 clocks a value with 256 or 512, 1.79 with 128, 3.87 with 64).

    Attributes
    ----------
    words : In(stream.Signature(word_width))
        The lane's tiles' words (AXI byte order), each tile's region a
        whole number of words, back to back.
    tiles : In(stream.Signature(hw.expgolomb.TileRequest))
        Each tile's length in bytes and place, before its words.
    o : Out(stream.Signature(hw.lanes.row_layout(dtype)))
        The rows of the lane's tiles, in order; ``last`` on a tensor's
        last row.
    error, cause, error_tile : Out
        As :class:`InterleavedDecoder` (the slot left out).

    Latency and throughput
    ----------------------
    One value per clock decoded with every slot busy (eight tiles in
    flight), rows out at up to one per clock. A tile's first row leaves
    its slot once the row is decoded and every earlier tile's rows have
    left.
    """

    def __init__(self, config, dtype, word_width=32, word_depth=256):
        from .lanes import row_layout
        self.config, self.dtype, self.word_width = config, dtype, word_width
        self.word_depth = word_depth
        self.core = InterleavedDecoder(config, dtype, word_width)
        super().__init__({
            "words": In(stream.Signature(word_width)),
            "tiles": In(stream.Signature(TileRequest)),
            "o": Out(stream.Signature(row_layout(dtype))),
            "error": Out(1),
            "cause": Out(3),
            "error_tile": Out(32),
        })

    def elaborate(self, platform):
        from .lanes import ROW, row_layout
        from .tiling import element_shape
        m = Module()
        m.submodules.core = core = self.core
        C, W, tb = core.slots, self.word_width, self.config.tile_blocks
        m.d.comb += [self.error.eq(core.error), self.cause.eq(core.cause),
                     self.error_tile.eq(core.error_tile)]

        # -- the dealer: tile k's request and words to slot k mod C --------
        m.submodules.dealer = dealer = Dealer(C, W, self.word_depth)
        wiring.connect(m, wiring.flipped(self.tiles), dealer.tiles)
        wiring.connect(m, wiring.flipped(self.words), dealer.words)
        wiring.connect(m, dealer.slot_tiles, core.tiles)
        for s in range(C):
            wiring.connect(m, dealer.slot_words[s], core.words[s])

        # -- the row banks: slot s's ring of R rows ------------------------
        R = 1 << bits_for(2 * ROW * tb - 1)       # two tiles of rows
        rb = exact_log2(R)
        cell = data.StructLayout({"value": element_shape(self.dtype), "present": 1})
        # read through the block RAM's output register (hw.bram): a row
        # is in the banks' outputs two clocks after its read
        banks = []
        for c in range(ROW):
            mem = PipelinedMemory(cell.size, C * R)
            m.submodules[f"bank{c}"] = mem
            banks.append(mem)
        wr = [Signal(rb + 1, name=f"wr{s}") for s in range(C)]   # rows written
        rd = [Signal(rb + 1, name=f"rd{s}") for s in range(C)]   # rows read
        end_valid = Signal(C, name="end_valid")  # a tensor's last row is in the ring

        # the decoder's values, registered, into the banks
        m.d.comb += core.o.ready.eq(1)
        item = Signal(output_layout(C), name="item")
        item_valid = Signal(name="item_valid")
        m.d.sync += [item_valid.eq(core.o.valid), item.eq(core.o.payload)]
        col = item.pos[0:3]
        # the item's row in its slot's ring, registered with it (the
        # banks' addresses come from flip-flops): a slot's values are a
        # turn apart (``o`` is taken every clock), so its count, stepped
        # as a row's last value is written, is settled a clock before
        wrow = Signal(rb + 1, name="wrow")
        with m.Switch(core.o.payload.slot):
            for s in range(C):
                with m.Case(s):
                    m.d.sync += wrow.eq(wr[s])
        written = Signal(cell, name="cell")
        m.d.comb += [written.value.eq(item.value), written.present.eq(item.present)]
        for c, mem in enumerate(banks):
            m.d.comb += [mem.w_addr.eq(Cat(wrow[:rb], item.slot)),
                         mem.w_en.eq(item_valid & (col == c)), mem.w_data.eq(written)]
        # each slot's unread rows counted, with flags of the count kept as
        # flip-flops for the reader: at least one, at least two, exactly
        # one, exactly two (a tensor's last row is the last written into
        # its slot, so with ``end_valid`` the next row read is the last
        # when one is unread)
        unread = [Signal(rb + 1, name=f"unread{s}") for s in range(C)]
        ge1, ge2 = Signal(C, name="rows_ge1"), Signal(C, name="rows_ge2")
        eq1, eq2 = Signal(C, name="rows_eq1"), Signal(C, name="rows_eq2")
        took = Signal(C, name="row_taken")        # the reader's read, by slot
        # room: fewer than R - 1 rows unread (the row being written is in
        # the ring too; with one row spare a late flag lets no row be
        # overwritten: a row is 64 clocks of its slot)
        room = Signal(C, name="ring_room")
        for s in range(C):
            here = item_valid & (item.slot == s)
            done = here & (col == ROW - 1)
            with m.If(done):
                m.d.sync += wr[s].eq(wr[s] + 1)
            with m.If(here & item.last):
                m.d.sync += end_valid[s].eq(1)
            # the flags follow a step of the count from the flags (no
            # adder before them)
            with m.If(done & ~took[s]):
                m.d.sync += [unread[s].eq(unread[s] + 1), ge1[s].eq(1), ge2[s].eq(ge1[s]),
                             eq1[s].eq(~ge1[s]), eq2[s].eq(eq1[s])]
            with m.Elif(took[s] & ~done):
                m.d.sync += [unread[s].eq(unread[s] - 1), ge1[s].eq(ge2[s]),
                             ge2[s].eq(ge2[s] & ~eq2[s]), eq1[s].eq(eq2[s]),
                             eq2[s].eq(unread[s] == 3)]
            m.d.sync += room[s].eq(~unread[s][rb] & ~unread[s][:rb].all() & ~end_valid[s])
        m.d.comb += core.room.eq(room)

        # -- the reader: tile k's rows from slot k mod C -------------------
        rs = Signal(range(C), name="read_slot")
        rs_hot = Signal(C, name="read_slot_hot", init=1)     # rs, one-hot
        trow_last = Signal(name="tile_row_last")             # the tile's last row
        trow = Signal(range(ROW * tb), name="tile_row")
        # (buffered: its valid and head row are flip-flops, which the
        # lanes' Merge chooses among across the device)
        out = fifo.SyncFIFOBuffered(width=row_layout(self.dtype).size, depth=16)
        m.submodules.out = out
        pending = Signal(name="pending")          # a read whose row enters next cycle
        pending_last = Signal(name="pending_last")
        # what the reader decides on is registered: whether the slot read
        # has a row and whether it is the tensor's last, formed a clock
        # ahead from the flags then and that clock's read (from the same
        # slot again, or from the next after a move); the flags miss the
        # rows written in that clock, which only delays a read
        end_now, end_next = end_valid & eq1, end_valid & eq2
        nx_hot = rs_hot.rotate_left(1)
        here_ge1, here_ge2, here_end_now, here_end_next, next_ge1, next_end_now = (
            Signal(name=n) for n in ("here_ge1", "here_ge2", "here_end_now", "here_end_next",
                                     "next_ge1", "next_end_now"))
        m.d.comb += [here_ge1.eq((ge1 & rs_hot).any()), here_ge2.eq((ge2 & rs_hot).any()),
                     here_end_now.eq((end_now & rs_hot).any()),
                     here_end_next.eq((end_next & rs_hot).any()),
                     next_ge1.eq((ge1 & nx_hot).any()), next_end_now.eq((end_now & nx_hot).any())]
        avail, is_last = Signal(name="avail"), Signal(name="is_last")
        space = Signal(name="out_space")        # room for this read and three in flight
        m.d.sync += space.eq(out.level < out.depth - 4)
        # the read row rd[rs] kept in a register (the banks' addresses come
        # straight from flip-flops); the banks read every clock, a row
        # counting where issued
        rrow = Signal(rb + 1, name="rrow")
        rd_next_slot = Signal(rb + 1, name="rd_next_slot")
        for s in range(C):
            with m.If(rs_hot.rotate_left(1)[s]):
                m.d.comb += rd_next_slot.eq(rd[s])
        issue = Signal(name="issue")
        m.d.comb += [issue.eq(avail & space), took.eq(Mux(issue, rs_hot, 0))]
        for mem in banks:
            m.d.comb += [mem.r_addr.eq(Cat(rrow[:rb], rs)), mem.r_en.eq(1), mem.r_oce.eq(1)]
        switch = is_last | trow_last
        with m.If(issue):
            m.d.sync += rrow.eq(Mux(switch, rd_next_slot, rrow + 1))
        m.d.sync += [pending.eq(issue), pending_last.eq(is_last),
                     avail.eq(Mux(issue, Mux(switch, next_ge1, here_ge2), here_ge1)),
                     is_last.eq(Mux(issue, Mux(switch, next_end_now, here_end_next),
                                    here_end_now))]
        with m.If(issue):
            for s in range(C):
                with m.If(rs_hot[s]):
                    m.d.sync += rd[s].eq(rd[s] + 1)
                    with m.If(is_last):
                        m.d.sync += end_valid[s].eq(0)
            with m.If(switch):
                m.d.sync += [rs.eq(Mux(rs == C - 1, 0, rs + 1)), trow.eq(0),
                             rs_hot.eq(rs_hot.rotate_left(1)), trow_last.eq(ROW * tb == 1)]
            with m.Else():
                m.d.sync += [trow.eq(trow + 1), trow_last.eq(trow == ROW * tb - 2)]
        row_q = Signal(row_layout(self.dtype), name="row_q")
        row_q_valid, row_q_last = Signal(name="row_q_valid"), Signal(name="row_q_last")
        for c, mem in enumerate(banks):
            cell_q = cell(mem.r_data)
            m.d.comb += [row_q.data[c].eq(cell_q.value), row_q.present[c].eq(cell_q.present)]
        m.d.comb += row_q.last.eq(row_q_last)
        m.d.sync += [row_q_last.eq(pending_last), row_q_valid.eq(pending)]
        m.d.comb += [out.w_en.eq(row_q_valid), out.w_data.eq(row_q),
                     self.o.valid.eq(out.r_rdy), self.o.payload.eq(out.r_data),
                     out.r_en.eq(self.o.ready)]
        return m
