"""The compressor top: activations in, stream words and tile lengths out."""
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from golden import codec

from .bitpack import BitPacker
from .expgolomb import ExpGolombEncoder, max_item_length
from .predict import Predictor
from .quantizer import Quantizer, TableSignature
from .tiling import Tiler, value_layout


class Compressor(wiring.Component):
    """Compresses a stream of activations into the golden raw stream.

    The words on ``o`` are the bytes of ``python -m golden encode --raw``
    for the same configuration and tensor (stream byte ``i`` of a word in
    bits ``8 i + 7 .. 8 i``), with ``align = word_width // 8``; ``lengths``
    gives each tile's length in bytes, from which the container's tile
    offsets follow.

    Parameters
    ----------
    config : golden.config.Config
        Fixed at elaboration, except the step table, which is loadable at
        run time through ``table`` (``config.qtable`` is its reset value).
        ``config.align`` is ignored: the word width sets it.
    dtype : {"uint8", "int8"}
        Element type of the activations.
    word_width : {32, 64}
    lanes : int
        Values per beat. Only 1 is implemented so far.

    Attributes
    ----------
    i : In(stream.Signature(hw.tiling.value_layout(dtype)))
        Values in the golden block order (see :func:`hw.tiling.value_layout`).
    o : Out(stream.Signature(word_width))
    lengths : Out(stream.Signature(32))
    table : In(hw.quantizer.TableSignature)
        Step-table writes; they take effect at the next tile.
    error : Out(1)
        ``last`` arrived inside a block (sticky until reset).

    Latency and throughput
    ----------------------
    One value per clock with no back-pressure, in every mode the pipeline
    implements (see ``docs/performance.md`` for the measured cycles per
    value and the latency to the first word).
    """

    def __init__(self, config, dtype="uint8", word_width=32, lanes=1):
        if lanes != 1:
            raise NotImplementedError("lanes=8 is not implemented yet")
        if config.transform not in ("pred", "none"):
            raise NotImplementedError(f"transform {config.transform} is not implemented yet")
        if config.scan != "raster":
            raise NotImplementedError(f"scan {config.scan} is not implemented yet")
        self.config = config.replace(align=word_width // 8)
        self.dtype = dtype
        self.word_width = word_width
        self.lanes = lanes
        super().__init__({
            "i": In(stream.Signature(value_layout(dtype))),
            "o": Out(stream.Signature(word_width)),
            "lengths": Out(stream.Signature(32)),
            "table": In(TableSignature),
            "error": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, dtype = self.config, self.dtype
        width = codec.coef_width(cfg.transform, dtype)
        m.submodules.tiler = tiler = Tiler(dtype, cfg.tile_blocks)
        m.submodules.encoder = encoder = ExpGolombEncoder(cfg, dtype, width)
        m.submodules.packer = packer = BitPacker(max_item_length(cfg, dtype), self.word_width)
        wiring.connect(m, wiring.flipped(self.i), tiler.i)
        m.d.comb += self.error.eq(tiler.error)
        if cfg.transform == "pred":
            m.submodules.predictor = front = Predictor(dtype, cfg.rounding, cfg.qtable)
            wiring.connect(m, tiler.o, front.i)
        else:
            m.submodules.quantizer = front = Quantizer(width, cfg.rounding, cfg.qtable)
            t, q = tiler.o, front.i
            m.d.comb += [
                q.valid.eq(t.valid),
                t.ready.eq(q.ready),
                q.payload.value.eq(t.payload.data),
                q.payload.index.eq(t.payload.pos),
                q.payload.pos.eq(t.payload.pos),
                q.payload.present.eq(t.payload.present),
                q.payload.first.eq(t.payload.first),
                q.payload.last.eq(t.payload.last),
            ]
        wiring.connect(m, wiring.flipped(self.table), front.table)
        wiring.connect(m, front.o, encoder.i)
        wiring.connect(m, encoder.o, packer.i)
        wiring.connect(m, packer.o, wiring.flipped(self.o))
        wiring.connect(m, packer.lengths, wiring.flipped(self.lengths))
        return m
