"""Codec configuration: every parameter that the encoder and decoder share.

A :class:`Config` travels in the container header (see ``docs/format.md``),
and the hardware is parameterised by the same fields.
"""
from dataclasses import dataclass, replace

TRANSFORMS = ("none", "dct1d", "dct2d", "pred")
SCANS = ("raster", "zigzag", "column")
DTYPES = ("uint8", "int8")
ALIGNS = (1, 2, 4, 8)
MAX_STEP = 255
MAX_K = 7


def _table(value, name, lo, hi):
    if isinstance(value, int):
        value = (value,) * 64
    value = tuple(int(v) for v in value)
    if len(value) != 64:
        raise ValueError(f"{name} needs 64 entries, got {len(value)}")
    for i, v in enumerate(value):
        if not lo <= v <= hi:
            raise ValueError(f"{name}[{i}] = {v} is outside {lo}..{hi}")
    return value


@dataclass(frozen=True)
class Config:
    """fmcodec configuration.

    Parameters
    ----------
    transform : {"none", "dct1d", "dct2d", "pred"}
        Per-block transform (see :mod:`golden.dct`), or spatial prediction
        with in-loop quantization (:mod:`golden.predict`).
    qtable : int or sequence of 64 int
        Quantizer step per coefficient position, raster order within the
        8x8 block (row-major, like a JPEG table). 1..255. An int means a
        flat table.
    rounding : int
        Rounding offset in sixteenths of a step, 0..8. 8 rounds half away
        from zero; smaller values widen the dead zone around zero.
    ktable : int or sequence of 64 int
        Exp-Golomb order per coefficient position (raster order), 0..7.
        With ``adaptive`` it is the starting point of the adaptive rule.
    adaptive : bool
        Derive each position's order from the values already coded in the
        tile (:func:`golden.expgolomb.adaptive_orders`).
    runs : bool or None
        Run mode. For the DCT transforms and ``none``: (zero run, level)
        pairs with an end-of-block symbol. For ``pred``: runs of equal
        values in flat contexts (:func:`golden.predict.run_symbols`),
        lossless only (every step 1). None (the default): on wherever
        ``pred``'s run mode applies (``pred``, every step 1), off
        elsewhere; :meth:`replace` chooses again unless told.
    krun : int
        Exp-Golomb order of run symbols, 0..7.
    scan : {"raster", "zigzag", "column"} or None
        Coefficient scan; None picks raster for ``none`` and zigzag for the
        DCT modes.
    tile_blocks : int
        8x8 blocks per tile, 1..65535. Tiles decode independently.
    align : {1, 2, 4, 8}
        Each tile is zero-padded to a multiple of this many bytes (the
        hardware's DRAM word width in bytes).
    """

    transform: str = "pred"
    qtable: tuple = 1
    rounding: int = 8
    ktable: tuple = 0
    adaptive: bool = True
    runs: bool = None
    krun: int = 0
    scan: str = None
    tile_blocks: int = 16
    align: int = 4

    def __post_init__(self):
        s = object.__setattr__
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {TRANSFORMS}, got {self.transform!r}")
        s(self, "qtable", _table(self.qtable, "qtable", 1, MAX_STEP))
        s(self, "ktable", _table(self.ktable, "ktable", 0, MAX_K))
        if self.scan is None:
            s(self, "scan", "raster" if self.transform in ("none", "pred") else "zigzag")
        if self.scan not in SCANS:
            raise ValueError(f"scan must be one of {SCANS}, got {self.scan!r}")
        if not 0 <= self.rounding <= 8:
            raise ValueError(f"rounding must be 0..8 sixteenths of a step, got {self.rounding}")
        if not 0 <= self.krun <= MAX_K:
            raise ValueError(f"krun must be 0..{MAX_K}, got {self.krun}")
        if not 1 <= self.tile_blocks <= 0xFFFF:
            raise ValueError(f"tile_blocks must be 1..65535, got {self.tile_blocks}")
        if self.align not in ALIGNS:
            raise ValueError(f"align must be one of {ALIGNS}, got {self.align}")
        s(self, "adaptive", bool(self.adaptive))
        s(self, "runs", self._auto_runs() if self.runs is None else bool(self.runs))
        if self.transform == "pred" and self.scan != "raster":
            raise ValueError("transform pred codes every value in raster order: "
                             "it takes no other scan")
        if self.transform == "pred" and self.runs and not self.lossless:
            raise ValueError("transform pred's run mode is lossless only: every step must be 1")

    def _auto_runs(self):
        """The default of ``runs``: pred's run mode where it applies."""
        return self.transform == "pred" and self.lossless

    def replace(self, **kw):
        """A copy with ``kw`` changed; ``runs``, when not given and at its
        default for this configuration, is chosen again for the new one
        (the default lossless ``pred`` made lossy drops the run mode)."""
        if "runs" not in kw and self.runs == self._auto_runs():
            kw["runs"] = None
        return replace(self, **kw)

    @property
    def lossless(self):
        return all(q == 1 for q in self.qtable)

    @property
    def zero_runs(self):
        """(zero run, level) pairs: run mode of the transforms but ``pred``."""
        return self.runs and self.transform != "pred"

    @property
    def flat_runs(self):
        """Runs of equal values in flat contexts: ``pred``'s run mode."""
        return self.runs and self.transform == "pred"


def signed_symbols(transform, dtype):
    """True when symbols use the se(v) mapping, False for ue(v).

    Only uint8 input with transform ``none`` is unsigned (prediction
    residuals are signed).
    """
    return not (transform == "none" and dtype == "uint8")
