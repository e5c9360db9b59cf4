"""Spatial prediction (transform pred) against its written rule."""
import torch

import golden
from golden import expgolomb, predict


def test_med_rule():
    # (a, b, d) -> prediction, from the LOCO-I definition
    cases = [((10, 20, 25), 10), ((10, 20, 5), 20), ((10, 20, 15), 15), ((7, 7, 7), 7),
             ((0, 9, 3), 6)]
    a, b, d = (torch.tensor(v) for v in zip(*(c[0] for c in cases)))
    assert predict.med(a, b, d).tolist() == [c[1] for c in cases]


def test_edges_and_lossless_residuals():
    # 1..50 as int8: no prediction at an end of the range, so no level is
    # folded, and int8 data has no low-value remap
    x = torch.arange(64, dtype=torch.int32).reshape(1, 8, 8) * 3 % 50 + 1
    lv, rec, act = predict.encode(x, [1] * 64, 8, -128, 127)
    x = x.reshape(64).tolist()
    lv = lv.reshape(64).tolist()
    assert lv[0] == x[0]                      # corner: predicted 0
    assert lv[1:8] == [x[c] - x[c - 1] for c in range(1, 8)]       # row 0: left
    assert [lv[8 * r] for r in range(1, 8)] == [x[8 * r] - x[8 * r - 8] for r in range(1, 8)]
    a, b, d = x[9 - 1], x[9 - 8], x[0]
    assert lv[9] == x[9] - int(predict.med(torch.tensor(a), torch.tensor(b), torch.tensor(d)))
    assert torch.equal(rec.reshape(64), torch.tensor(x, dtype=torch.int32))
    assert act[0, 9] == abs(a - d) + abs(b - d) + abs(a - b)


def test_fold_at_the_low_end():
    # se(v) numbers: 2|q| (- 1 for q > 0), but at pred = lo (where q >= 0)
    # the number is q; the high end is not folded
    lo = 0
    q = torch.tensor([0, 1, -1, 2, -2, 0, 1, 2, 3, 255, 0, -1, -2])
    pred = torch.tensor([9] * 5 + [lo] * 5 + [255] * 3)
    v = predict.fold(q, pred, lo)
    assert expgolomb.map_signed(v).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 255, 0, 2, 4]
    assert torch.equal(predict.unfold(v, pred, lo), q)


def test_low_value_remap():
    # uint8, step 1, pred >= 2: x = 0 has number 3 and the numbers 3 .. t - 1
    # (t = 2 pred, the plain number of x = 0) move up by one; the rest stay
    lo = 0
    pred = torch.tensor([5] * 9 + [2] * 3 + [1] * 2)
    x = torch.tensor([0, 5, 6, 4, 7, 3, 10, 1, 11, 0, 3, 4, 0, 2])
    q = x - pred
    v = predict.fold(q, pred, lo, predict.remaps(lo, 1))
    # plain numbers: 10, 0, 1, 2, 3, 4, 9, 8, 11 | 4, 1, 3 | 2, 1
    assert expgolomb.map_signed(v).tolist() == [3, 0, 1, 2, 4, 5, 10, 9, 11, 3, 1, 4, 2, 1]
    assert torch.equal(predict.unfold(v, pred, lo, predict.remaps(lo, 1)), q)
    # not for int8 data, nor at a coarser step
    assert not predict.remaps(-128, 1) and not predict.remaps(0, 3)
    assert torch.equal(predict.fold(q, pred, lo, predict.remaps(lo, 3)), q)


def test_unfold_is_a_permutation_of_the_numbers():
    # whatever a (corrupted) stream holds decodes to exactly one level
    u = torch.arange(600).repeat(3)
    pred = torch.tensor([0, 1, 200]).repeat_interleave(600)
    v = expgolomb.unmap_signed(u)
    for lo, step in ((0, 1), (0, 3), (-128, 1)):
        q = predict.unfold(v, pred + lo, lo, predict.remaps(lo, step))
        for p in (0, 1, 200):
            got = q[pred == p]
            assert got.unique().numel() == 600
            assert torch.equal(predict.fold(got, pred[pred == p] + lo, lo,
                                            predict.remaps(lo, step)), v[pred == p])


def test_edge_levels_through_encode():
    # the first value is predicted 0 (= lo for uint8), then its left
    # neighbour: 0 -> 7 codes 7 as the number 7 (folded); 7 -> 5 is -2,
    # number 4, moved up to 5 by the remap; 5 -> 0 has number 3 (remapped)
    x = torch.zeros(1, 8, 8, dtype=torch.int32)
    x[0, 0, 1], x[0, 0, 2] = 7, 5
    lv, _, _ = predict.encode(x, [1] * 64, 8, 0, 255)
    assert expgolomb.map_signed(lv[0, :4].long()).tolist() == [0, 7, 5, 3]


def test_context_order_thresholds():
    # step 1: thresholds 4, 8, 16, 32; the order stops at 4
    act = torch.tensor([0, 3, 4, 7, 8, 15, 16, 31, 32, 255, 256, 10 ** 5])
    assert predict.context_order(act, 1).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4]
    # step 3: thresholds 12, 24, 48, 96
    act = torch.tensor([0, 11, 12, 23, 24, 47, 48, 95, 96, 10 ** 5])
    assert predict.context_order(act, 3).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_in_loop_quantization_does_not_drift():
    g = torch.Generator().manual_seed(9)
    x = torch.randint(0, 256, (500, 8, 8), generator=g, dtype=torch.int32)
    for step, bound in ((3, 1), (5, 2), (4, 2)):
        lv, rec, _ = predict.encode(x, [step] * 64, 8, 0, 255)
        assert (rec - x).abs().max() <= bound
        assert torch.equal(predict.decode(lv, [step] * 64, 0, 255), rec)


def test_run_symbols_written_rule():
    """The run mode's numbers on a hand-made uint8 block (docs/format.md
    section 4.4): a flat context (activity 0) codes a run to the row's
    end as 0, a run of n stopped by another value as n, and a value that
    is not its left neighbour's as its own number plus 7 - c."""
    x = torch.zeros(1, 8, 8, dtype=torch.int64)
    x[0, 1] = torch.tensor([0, 0, 0, 5, 5, 0, 0, 0])
    x[0, 2] = 7
    lv, rec, act = predict.encode(x.to(torch.int32), [1] * 64, 8, 0, 255)
    u = expgolomb.map_signed(lv.to(torch.int64))
    k = predict.context_order(act, 1)
    present = torch.ones(1, 64, dtype=torch.bool)
    us, ks, coded, stops = predict.run_symbols(rec, u, k, present)
    T, F = True, False
    want_coded = [[T] + [F] * 7,                 # row 0: zeros, a run to the end
                  [T, F, F, T, T, T, T, F],      # run of 3, interrupt 5, 5, 0, run to end
                  [T] * 8,                       # 7 at column 0: not flat after it
                  [T] * 8,                       # below the 7s: not flat
                  ] + [[T] + [F] * 7] * 4        # zeros under zeros
    assert coded.reshape(8, 8).tolist() == want_coded
    us = us.reshape(8, 8)
    assert us[0, 0] == 0 and us[1, 0] == 3 and us[1, 6] == 0
    assert all(us[r, 0] == 0 for r in range(4, 8))
    # the interrupt keeps its own number (5 over a 0 predicted 0: folded, 5)
    assert us[1, 3] == u.reshape(8, 8)[1, 3] == 5
    # 7 at (2, 0): flat (a, b, d all 0), not a run: number 7 (folded) + 7
    assert us[2, 0] == 14 and ks.reshape(8, 8)[2, 0] == 0
    assert stops.reshape(8, 8).nonzero().tolist() == [[1, 0]]
    # the stream: these numbers at order 0 where flat, else the context order
    cfg = golden.Config(runs=True, tile_blocks=1, align=1)
    enc = golden.encode(x.to(torch.uint8).reshape(1, 8, 8), cfg)
    _, length = expgolomb.codewords(us.reshape(-1)[coded.reshape(-1)],
                                    ks.reshape(-1)[coded.reshape(-1)])
    assert enc.tile_bits == [int(length.sum())]
    assert torch.equal(golden.decode(enc.container()), x.to(torch.uint8).reshape(1, 8, 8))


def _runs_by_hand(g, fl, u, k, here):
    """The run mode's rule for one block row, position by position."""
    us, ks, coded, stops = list(u), list(k), list(here), [False] * 8
    left, after = 0, False
    for c in range(8):
        if left:
            left -= 1
            coded[c] = False
            continue
        if here[c] and fl[c] and not after:
            a = g[c - 1] if c else 0
            same = 0
            while c + same < 8 and g[c + same] == a:
                same += 1
            us[c] = 0 if same == 8 - c else (same if same else u[c] + 7 - c)
            ks[c] = 0
            stops[c] = 0 < same < 8 - c
            left = max(same - 1, 0)
        after = stops[c]
    return us, ks, coded, stops


def test_run_symbols_match_the_rule_by_hand():
    # mostly 0 and 1, so that runs, interrupts and runs to the end all occur,
    # with positions outside the tensor scattered about
    g = torch.Generator().manual_seed(4)
    n = 300
    x = (torch.randint(0, 8, (n, 8, 8), generator=g) // 6).to(torch.int32)
    x[::7] = 3
    u = torch.randint(0, 40, (n, 64), generator=g)
    k = torch.randint(0, 5, (n, 64), generator=g)
    present = torch.rand(n, 64, generator=g) < 0.9
    fl = (predict.activity(*predict.neighbour_planes(x)) == 0).reshape(n * 8, 8)
    got = predict.run_symbols(x, u, k, present)
    rows = [t.reshape(n * 8, 8).tolist() for t in got]
    want = [_runs_by_hand(x.reshape(-1, 8)[r].tolist(), fl[r].tolist(), u.reshape(-1, 8)[r].tolist(),
                          k.reshape(-1, 8)[r].tolist(), present.reshape(-1, 8)[r].tolist())
            for r in range(n * 8)]
    for i in range(4):
        assert [w[i] for w in want] == rows[i]
    assert sum(sum(r) for r in rows[3]) > 100  # runs that stop do occur
