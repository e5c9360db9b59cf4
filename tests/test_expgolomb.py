import torch

from golden import expgolomb as eg


def bits_of(code, length):
    return format(code, "b").rjust(length, "0")


def test_ue_table_h264():
    # ITU-T H.264 table 9-2
    want = ["1", "010", "011", "00100", "00101", "00110", "00111", "0001000", "0001001"]
    u = torch.arange(9)
    code, length = eg.codewords(u, torch.zeros(9, dtype=torch.int64))
    assert [bits_of(c, l) for c, l in zip(code.tolist(), length.tolist())] == want


def test_order_k():
    # order k = order-0 code of u >> k, then the k low bits of u
    for k in range(8):
        u = torch.arange(300)
        code, length = eg.codewords(u, torch.full_like(u, k))
        c0, l0 = eg.codewords(u >> k, torch.zeros_like(u))
        for i in range(300):
            low = format(i & ((1 << k) - 1), "b").rjust(k, "0") if k else ""
            assert bits_of(code[i].item(), length[i].item()) == bits_of(c0[i].item(), l0[i].item()) + low


def test_se_mapping_h264():
    v = torch.tensor([0, 1, -1, 2, -2, 3, -3])
    assert eg.map_signed(v).tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert torch.equal(eg.unmap_signed(eg.map_signed(torch.arange(-300, 300))), torch.arange(-300, 300))


def test_adaptive_rule():
    # thresholds 3 << (j + 1): 12, 24, 48, 96, 192, 384, 768
    a = torch.tensor([0, 11, 12, 23, 24, 47, 48, 383, 384, 767, 768, 10 ** 6])
    assert eg.order_from_state(a).tolist() == [0, 0, 1, 1, 2, 2, 3, 5, 6, 6, 7, 7]
    for k in range(8):  # the initial state of order k selects k
        assert eg.order_from_state(torch.tensor([eg.initial_state([k])[0]])).item() == k
    assert eg.update_state(torch.tensor(100), torch.tensor(7)).item() == 100 - 25 + 7


def test_run_symbols_stream_order():
    lv = torch.zeros(2, 64, dtype=torch.int32)
    lv[0, 0], lv[0, 3], lv[0, 63] = 5, -1, 2      # ends on position 63: no EOB
    lv[1, 2] = 1                                   # then EOB
    u, k, blk = eg.symbols(lv, tuple(range(64)), (0,) * 64, False, True, 1, True, 16)
    # run+1, se(v)-1 ...
    assert u.tolist() == [1, 8, 3, 1, 60, 2, 3, 0, 0]
    assert k.tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 1]
    assert blk.tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1]
    empty = torch.zeros(1, 64, dtype=torch.int32)
    u, _, _ = eg.symbols(empty, tuple(range(64)), (0,) * 64, False, True, 0, True, 16)
    assert u.tolist() == [0]


def test_adaptive_orders_restart_per_tile():
    u = torch.full((4, 64), 100, dtype=torch.int64)
    coded = torch.ones(4, 64, dtype=torch.bool)
    k = eg.adaptive_orders(u, coded, torch.zeros(64, dtype=torch.int64), 2)
    # A: 0 -> 100 -> 175: orders 0, 4 in each tile of two blocks
    assert k[:, 0].tolist() == [0, 4, 0, 4]
