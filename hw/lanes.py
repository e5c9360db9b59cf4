"""Eight values per clock: whole tiles dealt to lanes and gathered back.

Tiles are coded independently (``docs/format.md``), so a codec of ``L``
lanes runs ``L`` one-value-per-clock cores side by side, lane ``l`` taking
tiles ``l, l + L, l + 2 L, ...`` of every tensor (each tensor's tile 0
goes to lane 0). The outside sees one block row (8 values) per beat, in the
golden block order of :mod:`golden.tiling`.
"""
from amaranth import Module, Mux, Signal, Value
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .bram import PipelinedQueue, one_hot_choice
from .tiling import element_shape, value_layout

ROW = 8  # values per beat: one row of a block


def row_layout(dtype):
    """One block row: ``data`` (8 values), ``present`` (bit ``i`` for value
    ``i``; 0 on block padding outside the tensor) and ``last`` (the row
    ends the tensor)."""
    return data.StructLayout({
        "data": data.ArrayLayout(element_shape(dtype), ROW), "present": ROW, "last": 1,
    })


def row_fifo(m, name, layout, depth):
    """A SyncFIFOBuffered of ``layout`` items; returns (fifo, write view,
    read view) where the views are payloads of the write and read data."""
    f = fifo.SyncFIFOBuffered(width=layout.size, depth=depth)
    m.submodules[name] = f
    return f, layout(f.w_data), layout(f.r_data)


#: A :func:`queue` that cuts a path: three items keep one per clock (a
#: full two-entry SyncFIFOBuffered takes none in the cycle it gives one).
QUEUE_DEPTH = 3


def queue(m, name, src, dst, depth=QUEUE_DEPTH, width=None):
    """Stream ``src`` into stream ``dst`` through a SyncFIFOBuffered of
    ``depth`` items (``width`` bits of the payload, default all): both
    sides' handshakes end in the FIFO's registers."""
    q = fifo.SyncFIFOBuffered(width=width or len(Value.cast(src.payload)), depth=depth)
    m.submodules[name] = q
    m.d.comb += [q.w_en.eq(src.valid), q.w_data.eq(src.payload), src.ready.eq(q.w_rdy),
                 dst.valid.eq(q.r_rdy), dst.payload.eq(q.r_data), q.r_en.eq(dst.ready)]


def skid(m, name, src, dst, flags=None):
    """Stream ``src`` into stream ``dst`` through a register slice of
    flip-flops (no memory): ``src.ready`` and ``dst.valid``/``dst.payload``
    are registers, so neither handshake crosses it combinationally; one
    item per clock, an item offered on ``dst`` a clock after its transfer.

    While ``dst`` stalls, one more item is taken into a spare register
    (the "skid"); ``src.ready`` falls only when that is full.

    ``flags`` maps names to functions of a payload giving one bit; the
    return is a dict of flip-flops, each ``dst.valid & f(dst.payload)``
    (formed as the registers load, so a reader's test starts at a
    flip-flop)."""
    out = Signal.like(dst.payload, name=f"{name}_out")
    out_valid = Signal(name=f"{name}_out_valid")
    spare = Signal.like(dst.payload, name=f"{name}_spare")
    spare_valid = Signal(name=f"{name}_spare_valid")
    flags = flags or {}
    held = {k: Signal(name=f"{name}_{k}") for k in flags}
    m.d.comb += [src.ready.eq(~spare_valid), dst.valid.eq(out_valid), dst.payload.eq(out)]
    with m.If(~out_valid | dst.ready):
        with m.If(spare_valid):
            m.d.sync += [out.eq(spare), out_valid.eq(1), spare_valid.eq(0)]
            m.d.sync += [held[k].eq(f(spare)) for k, f in flags.items()]
        with m.Else():
            m.d.sync += [out.eq(src.payload), out_valid.eq(src.valid)]
            m.d.sync += [held[k].eq(src.valid & f(src.payload)) for k, f in flags.items()]
    with m.Elif(src.valid & ~spare_valid):
        m.d.sync += [spare.eq(src.payload), spare_valid.eq(1)]
    return held


def hold(m, name, src, dst):
    """Stream ``src`` into stream ``dst`` through one register, an item
    every other clock at most: ``src.ready`` and ``dst.valid`` are one
    flip-flop (full or not), and the register loads only while empty, so
    its enables come from that flip-flop beside it. ``dst.ready`` reaches
    nothing but the flag: for a consumer far across the device whose
    ready would otherwise fan out into a wide payload's enables. An item
    is offered a clock after its transfer."""
    out = Signal.like(dst.payload, name=f"{name}_out")
    full = Signal(name=f"{name}_full")
    m.d.comb += [src.ready.eq(~full), dst.valid.eq(full), dst.payload.eq(out)]
    with m.If(~full):
        # loaded whatever the valid: the flag says whether it holds an item
        m.d.sync += [out.eq(src.payload), full.eq(src.valid)]
    with m.Elif(dst.ready):
        m.d.sync += full.eq(0)


class _Rows:
    """Counts the rows of a stream of rows to find tile ends (for
    :class:`Spread`; :class:`Merge` counts each lane's rows by its own
    slice, to the same rule): the current lane advances after
    ``8 * tile_blocks`` rows, and returns to 0 after a tensor's last row."""

    def __init__(self, m, tile_blocks, lanes):
        self.lanes = lanes
        self.lane = Signal(range(lanes))
        self.row = Signal(range(ROW * tile_blocks))
        self.tile_rows = ROW * tile_blocks
        self.m = m

    def step(self, last):
        """Advance by one row on the sync domain; ``last`` ends the tensor
        (only on a block's last row, as the lane tilers require)."""
        m, lane, row = self.m, self.lane, self.row
        block_end = row[:3] == ROW - 1
        with m.If(last & block_end):
            m.d.sync += [lane.eq(0), row.eq(0)]
        with m.Elif(row == self.tile_rows - 1):
            m.d.sync += [lane.eq(Mux(lane == self.lanes - 1, 0, lane + 1)), row.eq(0)]
        with m.Else():
            m.d.sync += row.eq(row + 1)


class Spread(wiring.Component):
    """Deals the rows of whole tiles to the lanes and serializes them.

    Each lane has a FIFO of one tile of rows, so that the input keeps one
    row per clock while every lane takes one value per clock.

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    tile_blocks : int
    lanes : int

    Attributes
    ----------
    i : In(stream.Signature(row_layout(dtype)))
        Rows in the golden block order; ``last`` on the tensor's last row.
    o : Out(stream.Signature(hw.tiling.value_layout(dtype))).array(lanes)
        Lane ``l``: the values of its tiles, ``last`` on the last value of
        a row marked ``last``.

    Latency and throughput
    ----------------------
    One row per clock in while the lane being fed has room; a row's first
    value is offered 6 clocks after the row was taken (a register that
    holds the row for its lane's queue, the block RAM's two-clock read,
    :class:`hw.bram.PipelinedQueue`, a row register and a register slice,
    :func:`skid`).
    """

    def __init__(self, dtype, tile_blocks, lanes):
        self.dtype, self.tile_blocks, self.lanes = dtype, tile_blocks, lanes
        super().__init__({
            "i": In(stream.Signature(row_layout(dtype))),
            "o": Out(stream.Signature(value_layout(dtype))).array(lanes),
        })

    def elaborate(self, platform):
        m = Module()
        rows = _Rows(m, self.tile_blocks, self.lanes)
        layout = row_layout(self.dtype)
        ready = []
        # the row taken waits a clock in a register, with a flip-flop per
        # lane that writes it (the queues are far apart: no enable of theirs
        # follows the input's handshake); a lane takes a row while its
        # queue has room for two (one write may be in flight)
        take_row = self.i.valid & self.i.ready
        row_in = Signal.like(self.i.payload, name="row_in")
        with m.If(take_row):
            m.d.sync += row_in.eq(self.i.payload)
        for n in range(self.lanes):
            # the rows leave the block RAM through its output register
            # (hw.bram) into a register, refilled as its eighth value
            # leaves; the values through a register slice (the lanes are
            # far: a lane's ready ends there)
            f = PipelinedQueue(layout.size, ROW * self.tile_blocks)
            m.submodules[f"fifo{n}"] = f
            r = layout(f.r_data)
            here = rows.lane == n
            write = Signal(name=f"write{n}")
            m.d.sync += write.eq(take_row & here)
            m.d.comb += [f.w_en.eq(write), f.w_data.eq(row_in)]
            ready.append(f.w_rdy2 & here)
            held = Signal.like(r, name=f"row{n}")
            held_valid = Signal(name=f"row{n}_valid")
            value = stream.Signature(value_layout(self.dtype)).create(path=(f"value{n}",))
            taken = serialize(m, held_valid, held, value, f"col{n}")
            m.d.comb += f.r_en.eq(~held_valid | taken)
            with m.If(f.r_en & f.r_rdy):
                m.d.sync += [held.eq(r), held_valid.eq(1)]
            with m.Elif(taken):
                m.d.sync += held_valid.eq(0)
            skid(m, f"values{n}", value, self.o[n])
        m.d.comb += self.i.ready.eq(_any(ready))
        with m.If(take_row):
            rows.step(self.i.payload.last)
        return m


class Gather(wiring.Component):
    """Packs each lane's values into rows and merges the lanes' tiles back
    into tile order (through a :class:`Merge`).

    Each lane has a FIFO of one tile of rows, so that a lane can decode its
    next tile while the others' rows leave.

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    tile_blocks : int
    lanes : int

    Attributes
    ----------
    i : In(stream.Signature(hw.tiling.value_layout(dtype))).array(lanes)
        Lane ``l``: the values of its tiles in order, ``last`` on the
        tensor's last value.
    o : Out(stream.Signature(row_layout(dtype)))
        Rows in the golden block order.

    Latency and throughput
    ----------------------
    One row per clock out while the lane whose tile is due has rows; a row
    leaves 4 clocks after its eighth value was taken.
    """

    def __init__(self, dtype, tile_blocks, lanes):
        self.dtype, self.tile_blocks, self.lanes = dtype, tile_blocks, lanes
        super().__init__({
            "i": In(stream.Signature(value_layout(self.dtype))).array(lanes),
            "o": Out(stream.Signature(row_layout(dtype))),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.merge = merge = Merge(self.dtype, self.tile_blocks, self.lanes)
        layout = row_layout(self.dtype)
        for n in range(self.lanes):
            f, w, r = row_fifo(m, f"fifo{n}", layout, ROW * self.tile_blocks)
            i = self.i[n]
            col = Signal(range(ROW), name=f"col{n}")
            held = Signal(layout, name=f"held{n}")  # the row's first seven values
            full = col == ROW - 1
            m.d.comb += [
                f.w_en.eq(i.valid & full),
                i.ready.eq(~full | f.w_rdy),
                w.eq(held),
                w.data[ROW - 1].eq(i.payload.data),
                w.present.eq(held.present | (i.payload.present << (ROW - 1))),
                w.last.eq(i.payload.last),
            ]
            with m.If(i.valid & i.ready):
                m.d.sync += [col.eq(col + 1), held.data[col].eq(i.payload.data)]
                for c in range(ROW - 1):
                    with m.If(col == c):
                        m.d.sync += held.present[c].eq(i.payload.present)
            m.d.comb += [merge.i[n].valid.eq(f.r_rdy), merge.i[n].payload.eq(r),
                         f.r_en.eq(merge.i[n].ready)]
        wiring.connect(m, merge.o, wiring.flipped(self.o))
        return m


class Merge(wiring.Component):
    """Merges lanes that give whole rows of their tiles in order back into
    tile order: the end of :class:`Gather`, and alone for lanes that
    buffer their own rows (:class:`hw.interleaved.InterleavedLane`).

    Each input passes a register slice (:func:`skid`) that also marks the
    row ending the lane's tile, from a row count of its own; the due lane
    is a one-hot register (two copies: one for the choice of row, wide,
    one for the decisions), so the merge decides from flip-flops by ORs of
    ANDs, with no choice by a lane number (the lanes lie far apart on a
    large device).

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    tile_blocks : int
    lanes : int

    Attributes
    ----------
    i : In(stream.Signature(row_layout(dtype))).array(lanes)
        Lane ``l``: the rows of its tiles in order, ``last`` on the
        tensor's last row.
    o : Out(stream.Signature(row_layout(dtype)))
        Rows in the golden block order.

    Latency and throughput
    ----------------------
    One row per clock while the due lane has rows; a row is offered on
    ``o`` two clocks after its transfer on ``i``.
    """

    def __init__(self, dtype, tile_blocks, lanes):
        self.dtype, self.tile_blocks, self.lanes = dtype, tile_blocks, lanes
        super().__init__({
            "i": In(stream.Signature(row_layout(dtype))).array(lanes),
            "o": Out(stream.Signature(row_layout(dtype))),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, tile_rows = self.lanes, ROW * self.tile_blocks
        layout = data.StructLayout({"row": row_layout(self.dtype), "end": 1})
        rows, ends, lasts, valids = [], [], [], []
        for n in range(lanes):
            i = self.i[n]
            # the lane's rows counted as they enter its slice: a tile ends
            # after tile_rows rows, or at the tensor's last (a block's end)
            count = Signal(range(tile_rows), name=f"count{n}")
            at_end = Signal(name=f"at_end{n}")    # count == tile_rows - 1
            marked = stream.Signature(layout).create(path=(f"marked{n}",))
            slice_ = stream.Signature(layout).create(path=(f"slice{n}",))
            end = at_end | i.payload.last
            m.d.comb += [marked.valid.eq(i.valid), marked.payload.row.eq(i.payload),
                         marked.payload.end.eq(end), i.ready.eq(marked.ready)]
            with m.If(i.valid & i.ready):
                with m.If(end):
                    m.d.sync += [count.eq(0), at_end.eq(0)]
                with m.Else():
                    m.d.sync += [count.eq(count + 1), at_end.eq(count == tile_rows - 2)]
            flags = skid(m, f"slice{n}", marked, slice_,
                         {"end": lambda p: p.end, "last": lambda p: p.row.last})
            rows.append(slice_)
            ends.append(flags["end"])
            lasts.append(flags["last"])
            valids.append(slice_.valid)
        hot = Signal(lanes, init=1)        # the decisions' copy
        hot_row = Signal(lanes, init=1)    # the row choice's copy (wide)
        free = ~self.o.valid | self.o.ready
        valid = _any(v & hot[n] for n, v in enumerate(valids))
        advance = _any(e & hot[n] for n, e in enumerate(ends))
        restart = _any(e & hot[n] for n, e in enumerate(lasts))
        for n in range(lanes):
            m.d.comb += rows[n].ready.eq(hot[n] & free)
        with m.If(free):
            m.d.sync += [
                self.o.valid.eq(valid),
                self.o.payload.eq(one_hot_choice(
                    hot_row, [r.payload.row.as_value() for r in rows])),
            ]
            with m.If(advance):
                # each copy stepped from itself (one from the other
                # would be merged into it by the synthesis)
                m.d.sync += [hot.eq(Mux(restart, 1, hot.rotate_left(1))),
                             hot_row.eq(Mux(restart, 1, hot_row.rotate_left(1)))]
        return m


def serialize(m, valid, row, o, name):
    """Drive value stream ``o`` (:func:`hw.tiling.value_layout`) with the
    eight values of ``row`` (a :func:`row_layout` view, offered while
    ``valid``), one per transfer, ``last`` on the eighth of a row marked
    ``last``; returns the signal that takes the row (with its eighth
    value)."""
    col = Signal(range(ROW), name=name)
    m.d.comb += [
        o.valid.eq(valid),
        o.payload.data.eq(row.data[col]),
        o.payload.present.eq(row.present.bit_select(col, 1)),
        o.payload.last.eq(row.last & (col == ROW - 1)),
    ]
    with m.If(o.valid & o.ready):
        m.d.sync += col.eq(col + 1)
    return o.ready & (col == ROW - 1)


def _any(signals):
    out = 0
    for s in signals:
        out = out | s
    return out
