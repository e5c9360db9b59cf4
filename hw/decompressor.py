"""The decompressor top: stream words and tile lengths in, activations out."""
from amaranth import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from golden import codec, scan
from golden import dct as gdct

from .bitpack import BitUnpacker
from .compressor import CodecTop, forward
from .dct import Transform1D
from .expgolomb import ExpGolombDecoder, ShapeSignature
from .quantizer import Dequantizer, clamp
from .scan import COLUMN, RASTER, Reorder
from .tiling import value_layout


class Decompressor(CodecTop):
    """Decompresses the golden raw stream back into activations.

    Fed the words of ``python -m golden encode --raw`` (with ``align =
    word_width // 8``) and the tile lengths (the ``lengths`` stream of a
    :class:`hw.compressor.Compressor`, or the differences of the
    container's tile offsets), it outputs the golden reconstruction
    (:func:`golden.codec.reconstruct`), every position of every padded
    block in the golden block order, the compressor's input order.

    Parameters
    ----------
    config : golden.config.Config
        Fixed at elaboration, except the step table, loadable at run time
        through ``table`` (``config.qtable`` is its reset value).
    dtype : {"uint8", "int8"}
    word_width : {32, 64}
    lanes : int
        Values per beat. Only 1 is implemented so far.
    lossy : bool
        With False, a lossless-only build (``config.qtable`` all ones): no
        step table and no dequantizer.

    Attributes
    ----------
    words : In(stream.Signature(word_width))
        Stream words in AXI byte order.
    lengths : In(stream.Signature(32))
        Tile lengths in bytes, one per tile.
    shape : In(hw.expgolomb.ShapeSignature)
        ``planes`` (N * C), ``height``, ``width`` of the tensor; sampled when
        its first tile starts and held by the caller until then.
    o : Out(stream.Signature(hw.tiling.value_layout(dtype)))
        Reconstructed values; ``present`` is 0 on the block padding outside
        the tensor (whose values are to be dropped), ``last`` marks the
        tensor's last value.
    error, cause, error_tile : Out
        A tile failed (one-cycle strobe), why (:data:`golden.codec.ERRORS`)
        and which tile of the tensor; see
        :class:`hw.expgolomb.ExpGolombDecoder`. The failed tile's values
        after the error are those of zero levels.
    table : In(hw.quantizer.TableSignature)
        Only when ``lossy``; takes effect at the next tile.

    Latency and throughput
    ----------------------
    At least one value per clock with no back-pressure, in every mode (see
    ``docs/performance.md`` for measured cycles per value and latency).
    """

    def __init__(self, config, dtype="uint8", word_width=32, lanes=1, lossy=True):
        super().__init__(config, dtype, word_width, lanes, lossy, {
            "words": In(stream.Signature(word_width)),
            "lengths": In(stream.Signature(32)),
            "shape": In(ShapeSignature),
            "o": Out(stream.Signature(value_layout(dtype))),
            "error": Out(1),
            "cause": Out(3),
            "error_tile": Out(32),
        })

    def elaborate(self, platform):
        m = Module()
        cfg, dtype = self.config, self.dtype
        width = codec.coef_width(cfg.transform, dtype)
        pred = cfg.transform == "pred"
        m.submodules.decoder = dec = ExpGolombDecoder(cfg, dtype, width, self.word_width,
                                                      self.lossy)
        m.submodules.unpacker = unpacker = BitUnpacker(self.word_width, dec.window)
        wiring.connect(m, wiring.flipped(self.words), unpacker.words)
        wiring.connect(m, unpacker.o, dec.bits)
        wiring.connect(m, wiring.flipped(self.lengths), dec.lengths)
        wiring.connect(m, wiring.flipped(self.shape), dec.shape)
        m.d.comb += [self.error.eq(dec.error), self.cause.eq(dec.cause),
                     self.error_tile.eq(dec.error_tile)]
        if pred:
            if self.lossy:
                wiring.connect(m, wiring.flipped(self.table), dec.table)
            self._output(m, dec.o)
            return m
        m.submodules.dequantizer = deq = Dequantizer(width, cfg.qtable, self.lossy)
        wiring.connect(m, dec.o, deq.i)
        if self.lossy:
            wiring.connect(m, wiring.flipped(self.table), deq.table)
        order = scan.order(cfg.scan)
        src = deq.o
        if cfg.transform == "none" and cfg.scan == "raster":
            self._output(m, src)
            return m
        peak = gdct.widths(cfg.transform, dtype)["inverse_peak"]
        read = COLUMN if cfg.transform == "dct2d" else RASTER
        m.submodules.unscan = unscan = Reorder(width, order, read)
        forward(m, src, unscan.i, value="value", present="present", first="first", last="last")
        src = unscan.o
        if cfg.transform == "dct2d":
            m.submodules.columns = columns = Transform1D(width, peak, inverse=True)
            forward(m, src, columns.i, value="value", present="present", first="first",
                    last="last")
            m.submodules.transpose = transpose = Reorder(peak, COLUMN, RASTER)
            wiring.connect(m, columns.o, transpose.i)
            src, width = transpose.o, peak
        if cfg.transform != "none":
            m.submodules.rows = rows = Transform1D(width, peak, inverse=True)
            forward(m, src, rows.i, value="value", present="present", first="first",
                    last="last")
            src = rows.o
        self._output(m, src)
        return m

    def _output(self, m, src):
        """Clamp to the element range and drop the framing."""
        lo, hi = gdct.input_range(self.dtype)
        v = src.payload.value
        m.d.comb += [
            self.o.valid.eq(src.valid), src.ready.eq(self.o.ready),
            self.o.payload.data.eq(clamp(v, lo, hi)),
            self.o.payload.present.eq(src.payload.present),
            self.o.payload.last.eq(src.payload.last),
        ]
