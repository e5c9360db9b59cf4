"""Block and tile framing of the input values (twin of :mod:`golden.tiling`)."""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out


def element_shape(dtype):
    if dtype not in ("uint8", "int8"):
        raise ValueError(f"dtype must be uint8 or int8, got {dtype!r}")
    return unsigned(8) if dtype == "uint8" else signed(8)


def value_layout(dtype):
    """Input of the compressor, one value per item, in the golden block
    order (blocks in (n, c, block row, block column) order, each 8x8 block
    in raster order, padding replicated as :func:`golden.tiling.to_blocks`
    does): ``data``, ``present`` (0 on the block padding outside the
    tensor) and ``last`` (the last value of the tensor, which ends its
    last tile)."""
    return data.StructLayout({"data": element_shape(dtype), "present": 1, "last": 1})


def framed_layout(dtype):
    """A value with its raster position in the block (``pos``) and tile
    framing (``first``, ``last``: first and last value of a tile)."""
    return data.StructLayout({
        "data": element_shape(dtype), "present": 1, "pos": 6, "first": 1, "last": 1,
    })


class Tiler(wiring.Component):
    """Counts positions, blocks and tiles of the input stream.

    A tile is ``tile_blocks`` blocks, or fewer when the tensor's ``last``
    value ends it. ``last`` must fall on the last value of a block (the
    tensor is made of whole padded blocks); elsewhere it raises ``error``
    (sticky until reset) and is ignored.

    Parameters
    ----------
    dtype : {"uint8", "int8"}
    tile_blocks : int

    Attributes
    ----------
    i : In(stream.Signature(value_layout(dtype)))
    o : Out(stream.Signature(framed_layout(dtype)))
    error : Out(1)

    Latency and throughput
    ----------------------
    Combinational (no register on the data path); one value per clock.
    """

    def __init__(self, dtype, tile_blocks):
        self.dtype = dtype
        self.tile_blocks = tile_blocks
        super().__init__({
            "i": In(stream.Signature(value_layout(dtype))),
            "o": Out(stream.Signature(framed_layout(dtype))),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        pos = Signal(6)
        blk = Signal(range(max(2, self.tile_blocks)))
        first = Signal(init=1)
        block_end = pos == 63
        tile_end = block_end & ((blk == self.tile_blocks - 1) | self.i.payload.last)
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.i.ready.eq(self.o.ready),
            self.o.payload.data.eq(self.i.payload.data),
            self.o.payload.present.eq(self.i.payload.present),
            self.o.payload.pos.eq(pos),
            self.o.payload.first.eq(first),
            self.o.payload.last.eq(tile_end),
        ]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [pos.eq(pos + 1), first.eq(tile_end)]
            with m.If(tile_end):
                m.d.sync += blk.eq(0)
            with m.Elif(block_end):
                m.d.sync += blk.eq(blk + 1)
            with m.If(self.i.payload.last & ~block_end):
                m.d.sync += self.error.eq(1)
        return m


#: A tensor's shape as the decompressor takes it: ``planes`` (N * C),
#: ``height`` and ``width``, each at least 1.
ShapeLayout = data.StructLayout({"planes": 24, "height": 16, "width": 16,
                                 "first": 32, "count": 32})

#: Where a tile lies in its tensor: its number ``tile``, its first block
#: (``plane``, ``brow``, ``bcol``), the tensor's last plane, block row and
#: block column (``planes``, ``bh``, ``bw``: counts minus 1), and the last
#: row and column inside the bottom and right blocks (``rows_last``,
#: ``cols_last``: the height and width minus 1, modulo 8).
PlaceLayout = data.StructLayout({
    "tile": 32, "plane": 24, "brow": 13, "bcol": 13,
    "planes": 24, "bh": 13, "bw": 13, "rows_last": 3, "cols_last": 3,
    "final": 1,
})


#: The fields of a place :func:`next_block` steps.
STEPPED = ("plane", "brow", "bcol")


def place_ends(p):
    """The tests of place ``p``'s block against the tensor's last:
    ``(bcol == bw, brow == bh, plane == planes)``. :func:`next_block`,
    :func:`tensor_end` and :func:`block_extent` take them registered
    where the comparisons would be on a path."""
    return p.bcol == p.bw, p.brow == p.bh, p.plane == p.planes


def next_block(m, p, dst=None, domain="sync", ends=None):
    """Advance the block of place ``p`` (a PlaceLayout view, or anything
    with its fields) by one in the golden block order, on ``domain``: the
    new block's fields are assigned to ``dst`` (default ``p`` itself);
    the fields that do not change are not assigned. ``ends``: ``p``'s
    :func:`place_ends`, where the caller has them registered."""
    dst = p if dst is None else dst
    d = m.d[domain]
    col_end, row_end, _ = place_ends(p) if ends is None else ends
    with m.If(~col_end):
        d += dst.bcol.eq(p.bcol + 1)
    with m.Else():
        d += dst.bcol.eq(0)
        with m.If(~row_end):
            d += dst.brow.eq(p.brow + 1)
        with m.Else():
            d += [dst.brow.eq(0), dst.plane.eq(p.plane + 1)]


def place_steps(p):
    """``(bcol + 1, brow + 1, plane + 1)`` of place ``p``: for
    :func:`place_nears`, where a pipeline registers the sums first."""
    return p.bcol + 1, p.brow + 1, p.plane + 1


def place_nears(p, steps=None):
    """The tests :func:`next_ends` needs of place ``p``, for a pipeline to
    register ahead: ``(bcol + 1 == bw, brow + 1 == bh, plane + 1 ==
    planes, bw == 0, bh == 0)``; ``steps``: :func:`place_steps`, where the
    caller has them registered."""
    col1, row1, plane1 = place_steps(p) if steps is None else steps
    return col1 == p.bw, row1 == p.bh, plane1 == p.planes, p.bw == 0, p.bh == 0


def next_ends(ends, nears):
    """:func:`place_ends` of the block after a place (the step of
    :func:`next_block`) from the place's ``ends`` and :func:`place_nears`,
    without the new place's comparisons: a column step keeps the row and
    plane, a row step restarts the column, a plane step both."""
    col_end, row_end, plane_end = ends
    col_near, row_near, plane_near, bw0, bh0 = nears
    return (Mux(col_end, bw0, col_near),
            Mux(col_end, Mux(row_end, bh0, row_near), row_end),
            Mux(col_end & row_end, plane_near, plane_end))


def tensor_end(p, ends=None):
    """The block of place ``p`` is the tensor's last (``ends``: as in
    :func:`next_block`)."""
    col_end, row_end, plane_end = place_ends(p) if ends is None else ends
    return col_end & row_end & plane_end


def first_place(p, s):
    """Assignments that make place ``p`` the first tile of shape ``s``
    (a :data:`ShapeLayout` view); ``final`` is left alone."""
    return [
        p.tile.eq(0), p.plane.eq(0), p.brow.eq(0), p.bcol.eq(0),
        p.planes.eq(s.planes - 1),
        p.bh.eq(((s.height + 7) >> 3) - 1),
        p.bw.eq(((s.width + 7) >> 3) - 1),
        p.rows_last.eq(s.height - 1), p.cols_last.eq(s.width - 1),
    ]


def block_extent(p, ends=None):
    """(last row, last column) inside the block of place ``p``
    (``ends``: as in :func:`next_block`)."""
    col_end, row_end, _ = place_ends(p) if ends is None else ends
    return Mux(row_end, p.rows_last, 7), Mux(col_end, p.cols_last, 7)


class TileWalker(wiring.Component):
    """Turns tensor shapes into the places of their tiles, in tile order.

    The decompressor needs, for every tile, where it starts (the block
    padding of partial blocks depends on it, and the tensor's last tile is
    shorter); a lane that decodes every eighth tile cannot count that
    itself. The walker steps one block per three clocks (a block's tests
    registered, then their AND, before it steps), so a tile of ``B``
    blocks costs ``3 B + 1`` clocks (and a tensor one more), far less than
    the 64 B clocks a lane takes to decode it (eight lanes: ``8 (3 B +
    1) <= 64 B``).

    A shape may ask for a range of tiles: ``first`` and ``count`` (0: to
    the end of the tensor). The walker steps over the tiles before
    ``first`` (one block per clock, without emitting) and marks the last
    place of a counted range ``final``.

    Parameters
    ----------
    tile_blocks : int
    ranges : bool
        With False, ``first`` and ``count`` are ignored (whole tensors
        only) and their counters are not built.

    Attributes
    ----------
    i : In(stream.Signature(ShapeLayout))
        One shape per tensor.
    o : Out(stream.Signature(PlaceLayout))
        One place per tile.

    Latency and throughput
    ----------------------
    The first place is valid 4 clocks after its shape is taken (plus three
    clocks per block before ``first``; 1 clock without ``ranges``); the
    next place ``3 tile_blocks + 1`` clocks after one is taken (the walker
    holds the place it offers, and walks on once it is taken).
    """

    def __init__(self, tile_blocks, ranges=True):
        self.tile_blocks = tile_blocks
        self.ranges = ranges
        super().__init__({
            "i": In(stream.Signature(ShapeLayout)),
            "o": Out(stream.Signature(PlaceLayout)),
        })

    def elaborate(self, platform):
        m = Module()
        cur = Signal(PlaceLayout)
        tb = self.tile_blocks
        k = Signal(range(max(2, tb)))
        # three clocks a block: the block's end tests (wide comparisons)
        # registered in phase 0, what the walker will do registered from
        # them in phase 1, done in phase 2 (``fresh``): the place's
        # enables come from flip-flops
        phase, done = Signal(range(3)), Signal()
        fresh = phase == 2
        decide = phase == 1
        ends = (Signal(name="col_end"), Signal(name="row_end"), Signal(name="plane_end"))
        m.d.sync += [e.eq(t) for e, t in zip(ends, place_ends(cur))]
        past = tensor_end(cur, ends)
        step_phase = phase.eq(Mux(fresh, 0, phase + 1))
        # the decisions: step to the next block, and then count a tile
        # (``bump``) or a block (``kinc``); leave for EMIT or IDLE
        # (``step`` is high only in phase 2, when the block steps: the
        # place's enable straight from a flip-flop)
        step, bump, kinc = Signal(name="step"), Signal(name="bump"), Signal(name="kinc")
        m.d.sync += step.eq(0)
        to_emit, to_idle = Signal(name="to_emit"), Signal(name="to_idle")
        tile_done = k == tb - 1
        if self.ranges:
            first, left = Signal(32), Signal(32)    # left: tiles of the range still to emit
            ranged = Signal()                        # count != 0
            hit = Signal()
        else:
            first, left, ranged = 0, 0, 0
        m.d.comb += [self.o.payload.eq(cur), self.o.payload.final.eq(ranged & (left == 1))]
        # the next block's place formed ahead, from the registered ends
        # (right from phase 1; the block steps in phase 2), so the step
        # only loads it: the ends' fan-out into the place's carry chains
        # and choices was a path at eight lanes (7.9 ns)
        ahead = Signal(data.StructLayout({f: PlaceLayout[f].shape for f in STEPPED}))
        m.d.sync += [getattr(ahead, f).eq(getattr(cur, f)) for f in STEPPED]
        next_block(m, cur, ahead, ends=ends)
        with m.If(step):
            m.d.sync += [getattr(cur, f).eq(getattr(ahead, f)) for f in STEPPED]
            with m.If(bump):
                m.d.sync += cur.tile.eq(cur.tile + 1)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(self.i.valid):
                    s = self.i.payload
                    m.d.sync += first_place(cur, s) + [k.eq(0), phase.eq(0)]
                    if self.ranges:
                        m.d.sync += [first.eq(s.first), left.eq(s.count),
                                     ranged.eq(s.count != 0)]
                        m.next = "SKIP"
                    else:
                        m.next = "EMIT"
            if self.ranges:
                with m.State("SKIP"):
                    m.d.sync += [hit.eq(cur.tile == first), step_phase]
                    with m.If(decide):
                        # the range's first tile, or past the tensor (an
                        # empty range), or a block further
                        m.d.sync += [to_emit.eq(hit), to_idle.eq(~hit & past),
                                     step.eq(~hit & ~past), bump.eq(tile_done),
                                     kinc.eq(~tile_done)]
                    with m.If(fresh):
                        with m.If(to_emit):
                            m.next = "EMIT"
                        with m.Elif(to_idle):
                            m.next = "IDLE"
                        with m.If(step & bump):
                            m.d.sync += k.eq(0)
                        with m.If(step & kinc):
                            m.d.sync += k.eq(k + 1)
            with m.State("EMIT"):
                # the place is the walker's own (no copy): it waits here
                with m.If(self.o.ready):
                    m.d.sync += [k.eq(0), phase.eq(0)]
                    if self.ranges:
                        m.d.sync += left.eq(left - 1)
                    m.next = "WALK"
            with m.State("WALK"):
                m.d.sync += [done.eq(ranged & (left == 0)), step_phase]
                with m.If(decide):
                    # a block further; at the tile's end the next tile's
                    # place, unless the tensor or the range ended
                    m.d.sync += [step.eq(1), bump.eq(~past & tile_done),
                                 kinc.eq(~past & ~tile_done),
                                 to_emit.eq(~past & tile_done & ~done),
                                 to_idle.eq(past | (tile_done & done))]
                with m.If(fresh):
                    with m.If(to_idle):
                        m.next = "IDLE"
                    with m.Elif(to_emit):
                        m.next = "EMIT"
                    with m.If(kinc):
                        m.d.sync += k.eq(k + 1)
        # outside the FSM's process: a constant state would leave a process
        # output unevaluated (X) in Icarus from time 0
        m.d.comb += [self.i.ready.eq(fsm.ongoing("IDLE")), self.o.valid.eq(fsm.ongoing("EMIT"))]
        return m
