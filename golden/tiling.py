"""Tensors to 8x8 blocks and back.

A tensor of shape (C, H, W) is treated as (1, C, H, W). H and W are padded
up to multiples of 8 by replicating the last row and column; decode crops
the padding. Blocks are numbered in the order (n, c, block row, block
column), block column fastest; tile t holds blocks
``t * tile_blocks .. (t + 1) * tile_blocks - 1`` (the last tile may be
shorter), so a tile can span channel boundaries.
"""
import torch

BLOCK = 8


def as_nchw(shape):
    """(N, C, H, W) of a 3-d or 4-d shape; raises ValueError otherwise."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3:
        shape = (1,) + shape
    if len(shape) != 4:
        raise ValueError(f"expected a tensor of shape (C, H, W) or (N, C, H, W), got {shape}")
    if min(shape) < 1:
        raise ValueError(f"every dimension must be at least 1, got {shape}")
    return shape


def block_grid(shape):
    """(N, C, blocks down, blocks across) for a tensor shape."""
    n, c, h, w = as_nchw(shape)
    return n, c, -(-h // BLOCK), -(-w // BLOCK)


def n_blocks(shape):
    n, c, bh, bw = block_grid(shape)
    return n * c * bh * bw


def to_blocks(x):
    """int32 blocks of shape (B, 8, 8) in block order."""
    n, c, h, w = as_nchw(x.shape)
    x = x.reshape(n, c, h, w).to(torch.int32)
    ph, pw = -h % BLOCK, -w % BLOCK
    if ph or pw:
        # replicate padding, done by index so it works on integer tensors
        rows = torch.arange(h + ph).clamp(max=h - 1)
        cols = torch.arange(w + pw).clamp(max=w - 1)
        x = x[:, :, rows][:, :, :, cols]
    bh, bw = (h + ph) // BLOCK, (w + pw) // BLOCK
    x = x.reshape(n, c, bh, BLOCK, bw, BLOCK).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(-1, BLOCK, BLOCK).contiguous()


def from_blocks(blocks, shape):
    """Inverse of :func:`to_blocks`: reassemble and crop to ``shape``."""
    n, c, h, w = as_nchw(shape)
    _, _, bh, bw = block_grid(shape)
    x = blocks.reshape(n, c, bh, bw, BLOCK, BLOCK).permute(0, 1, 2, 4, 3, 5)
    x = x.reshape(n, c, bh * BLOCK, bw * BLOCK)[:, :, :h, :w]
    return x.reshape(shape).contiguous()


def present(shape):
    """(B, 64) bool, raster order within each block: True where the position
    lies inside the tensor, False on the replicated padding."""
    n, c, h, w = as_nchw(shape)
    _, _, bh, bw = block_grid(shape)
    inside = torch.zeros(bh * BLOCK, bw * BLOCK, dtype=torch.bool)
    inside[:h, :w] = True
    per = inside.reshape(bh, BLOCK, bw, BLOCK).permute(0, 2, 1, 3).reshape(bh * bw, 64)
    return per.repeat(n * c, 1)


def skips_padding(config):
    """Value mode with transform none, and transform pred, code only the
    positions inside the tensor (docs/format.md section 7.2)."""
    return config.transform == "pred" or (config.transform == "none" and not config.runs)
