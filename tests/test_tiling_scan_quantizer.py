import torch

from golden import quantizer, scan, tiling

# ITU-T T.81 figure A.6: zigzag index of each raster position
JPEG_ZIGZAG_INDEX = [
    0, 1, 5, 6, 14, 15, 27, 28,
    2, 4, 7, 13, 16, 26, 29, 42,
    3, 8, 12, 17, 25, 30, 41, 43,
    9, 11, 18, 24, 31, 40, 44, 53,
    10, 19, 23, 32, 39, 45, 52, 54,
    20, 22, 33, 38, 46, 51, 55, 60,
    21, 34, 37, 47, 50, 56, 59, 61,
    35, 36, 48, 49, 57, 58, 62, 63,
]


def test_zigzag_is_jpeg():
    order = scan.order("zigzag")
    for raster, idx in enumerate(JPEG_ZIGZAG_INDEX):
        assert order[idx] == raster


def test_scan_roundtrip():
    b = torch.arange(3 * 64, dtype=torch.int32).reshape(3, 8, 8)
    for name in scan.ORDERS:
        s = scan.scan(b, name)
        assert torch.equal(scan.unscan(s, name), b)
    assert scan.scan(b, "column")[0, :3].tolist() == [0, 8, 16]


def test_block_order_and_replication():
    # (N=1, C=2, H=9, W=17): 2 blocks down, 3 across, per channel
    x = torch.arange(2 * 9 * 17, dtype=torch.int32).reshape(2, 9, 17) % 251
    b = tiling.to_blocks(x.to(torch.uint8))
    assert b.shape == (12, 8, 8)
    assert torch.equal(b[1], x[0, 0:8, 8:16])           # block column fastest
    assert torch.equal(b[3, 0, :], x[0, 8, 0:8])        # second block row
    assert torch.equal(b[3, 1:, :], x[0, 8:9, 0:8].expand(7, 8))  # rows replicated
    assert torch.equal(b[2][:, 1:], x[0, 0:8, 16:17].expand(8, 7))  # columns replicated
    assert torch.equal(b[6], x[1, 0:8, 0:8])            # then the next channel
    y = tiling.from_blocks(b, (2, 9, 17))
    assert torch.equal(y, x)


def test_quantizer_written_rule():
    c = torch.tensor([-7, -6, -5, -2, -1, 0, 1, 2, 3, 5, 6, 7], dtype=torch.int32)
    c = c.reshape(1, 12).expand(64, 12).T.reshape(12, 8, 8)[:, :, :]
    c = c.contiguous()
    q4 = quantizer.quantize(c, [4] * 64, 8)[:, 0, 0].tolist()
    # round half away from zero: 6/4 = 1.5 -> 2, 2/4 = 0.5 -> 1, 5/4 -> 1
    assert q4 == [-2, -2, -1, -1, 0, 0, 0, 1, 1, 1, 2, 2]
    q4dz = quantizer.quantize(c, [4] * 64, 4)[:, 0, 0].tolist()  # r = 1
    assert q4dz == [-2, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 2]
    q3 = quantizer.quantize(c, [3] * 64, 8)[:, 0, 0].tolist()  # r = 1
    assert q3 == [-2, -2, -2, -1, 0, 0, 0, 1, 1, 2, 2, 2]
    assert torch.equal(quantizer.quantize(c, [1] * 64, 8), c)
    assert quantizer.dequantize(torch.full((1, 8, 8), 100), [50] * 64, 13)[0, 0, 0] == 4095
    assert quantizer.dequantize(torch.full((1, 8, 8), -100), [50] * 64, 13)[0, 0, 0] == -4096
    assert quantizer.max_error([4, 3, 1] + [1] * 61, 8)[:3] == [2, 1, 0]


def test_quantizer_error_within_max_error():
    g = torch.Generator().manual_seed(4)
    c = torch.randint(-4000, 4000, (5000, 8, 8), generator=g, dtype=torch.int32)
    table = torch.randint(1, 256, (64,), generator=g).tolist()
    for rounding in (0, 5, 8):
        q = quantizer.quantize(c, table, rounding)
        err = (quantizer.dequantize(q, table, 13) - c).abs().reshape(-1, 64).max(0).values
        assert (err <= torch.tensor(quantizer.max_error(table, rounding))).all()
        assert (q.abs() <= c.abs()).all()
