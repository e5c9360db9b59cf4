"""Coefficient scan orders within an 8x8 block.

A scan is a permutation ``order`` of 0..63: the i-th coded coefficient is the
one at raster position ``order[i]`` (raster = row * 8 + column).

* ``raster``: 0, 1, ..., 63 (the default for transform ``none``).
* ``zigzag``: the JPEG zigzag (ITU-T T.81 figure 5), starting 0, 1, 8, 16,
  9, 2, ... (the default for the DCT modes).
* ``column``: column by column, 0, 8, 16, ..., 56, 1, 9, ...; with ``dct1d``
  it codes all eight DC terms of a block first, then all first harmonics,
  and so on.
"""
import torch


def _zigzag():
    order = []
    for s in range(15):
        diag = [(r, s - r) for r in range(8) if 0 <= s - r < 8]
        if s % 2 == 0:
            diag.reverse()  # even diagonals run from bottom-left to top-right
        order.extend(r * 8 + c for r, c in diag)
    return tuple(order)


ORDERS = {
    "raster": tuple(range(64)),
    "zigzag": _zigzag(),
    "column": tuple(r * 8 + c for c in range(8) for r in range(8)),
}


def order(name):
    """The scan permutation as a tuple of 64 raster positions."""
    return ORDERS[name]


def scan(blocks, name):
    """(B, 8, 8) blocks to (B, 64) coefficients in scan order."""
    return blocks.reshape(-1, 64)[:, list(ORDERS[name])]


def unscan(coefs, name):
    """(B, 64) scanned coefficients back to (B, 8, 8) blocks."""
    inv = torch.empty(64, dtype=torch.long)
    inv[list(ORDERS[name])] = torch.arange(64)
    return coefs[:, inv].reshape(-1, 8, 8)
