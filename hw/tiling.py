"""Block and tile framing of the input values (twin of :mod:`golden.tiling`)."""
from amaranth import Module, Signal, signed, unsigned
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
