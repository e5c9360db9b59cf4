"""The board demo (boards/demo.py) in Amaranth's simulator: the protocol
of boards/protocol.py over its UART, replies against the golden model."""
import struct

import pytest
import torch
from amaranth.sim import Simulator

from boards import protocol
from boards.demo import Demo
from boards.uart import UartRx, UartTx
from golden import Config
from hw.bench import run_shallow

DIV = 4


async def uart_send(ctx, line, data, div=DIV):
    for b in data:
        for bit in [0] + [(b >> i) & 1 for i in range(8)] + [1]:
            ctx.set(line, bit)
            await ctx.tick().repeat(div)


async def uart_receive(ctx, line, n, div=DIV, limit=200_000):
    """``n`` bytes from ``line`` (or fewer if it stays idle ``limit`` clocks)."""
    out = bytearray()
    idle = 0
    while len(out) < n and idle < limit:
        if ctx.get(line):
            await ctx.tick()
            idle += 1
            continue
        idle = 0
        await ctx.tick().repeat(div + div // 2)
        b = 0
        for i in range(8):
            b |= ctx.get(line) << i
            await ctx.tick().repeat(div)
        assert ctx.get(line) == 1, "stop bit"
        out.append(b)
    return bytes(out)


def talk(dut, requests, reply_bytes, deadline=2_000_000):
    """Send ``requests`` (bytes) to ``dut.rx`` and collect ``reply_bytes``
    bytes from ``dut.tx``."""
    got = {}
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def host(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(20)
        for part in ([requests] if isinstance(requests, bytes) else requests):
            if isinstance(part, int):
                await ctx.tick().repeat(part)   # a silence
            else:
                await uart_send(ctx, dut.rx, part)

    async def listen(ctx):
        got["bytes"] = await uart_receive(ctx, dut.tx, reply_bytes)

    sim.add_testbench(host)
    sim.add_testbench(listen)
    run_shallow(sim.run)
    return got["bytes"]


def frames(data):
    """Split reply bytes into (kind, payload), checking every CRC."""
    out = []
    while data:
        assert data[0] == protocol.SYNC
        kind, n = data[1:2], struct.unpack_from("<I", data, 2)[0]
        body = data[1:6 + n]
        assert struct.unpack_from("<H", data, 6 + n)[0] == protocol.crc16(body)
        out.append((kind, data[6:6 + n]))
        data = data[8 + n:]
    return out


def small_demo(**kw):
    return Demo(Config(), divider=DIV, clock_hz=1_000_000, value_words=256, data_words=256,
                index_entries=16, frame_timeout=400, **kw)


def test_uart_loopback():
    """Bytes through UartTx into UartRx come out unchanged, back to back."""
    from amaranth import Module
    m = Module()
    m.submodules.tx = tx = UartTx(DIV)
    m.submodules.rx = rx = UartRx(DIV)
    m.d.comb += rx.rx.eq(tx.tx)
    data = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80]
    got = []
    sim = Simulator(m)
    sim.add_clock(1e-6)

    async def send(ctx):
        for b in data:
            ctx.set(tx.i.valid, 1)
            ctx.set(tx.i.payload, b)
            await ctx.tick().until(tx.i.ready)
        ctx.set(tx.i.valid, 0)

    async def receive(ctx):
        ctx.set(rx.o.ready, 1)
        while len(got) < len(data):
            _, _, v, p = await ctx.tick().sample(rx.o.valid, rx.o.payload)
            if v:
                got.append(p)

    sim.add_testbench(send)
    sim.add_testbench(receive)
    sim.run_until(1e-6 * 20 * DIV * len(data))
    assert got == data


def test_info():
    dut = small_demo()
    reply = talk(dut, protocol.frame(b"I"), 8 + protocol.INFO.size)
    assert frames(reply) == [(b"I", dut.info_bytes())]
    info = dict(zip(protocol.INFO_FIELDS, protocol.INFO.unpack(dut.info_bytes())))
    assert info["config_id"] == protocol.config_id(Config(), "uint8")
    assert info["data_bytes"] == 1024 and info["divider"] == DIV


@pytest.mark.parametrize("shape", [(1, 1, 8, 8), (1, 2, 10, 13)])
def test_round_trip(shape):
    """A tensor in; the stream and the reconstruction out, as golden."""
    torch.manual_seed(3)
    x = torch.randint(0, 40, shape, dtype=torch.uint8) * (torch.rand(shape) < 0.6)
    planes, h, w = protocol.shape_of(x)
    req = protocol.frame(b"C", protocol.SHAPE.pack(planes, h, w) + protocol.positions(x))
    lengths, stream, values, _ = protocol.expected(x, Config())
    nz = 8 + 8 + 4 * len(lengths) + len(stream)
    nr = 8 + protocol.RESULT.size + len(values)
    reply = frames(talk(small_demo(), req, nz + nr))
    (kz, z), (kr, r) = reply
    assert kz == b"Z" and kr == b"R"
    assert struct.unpack_from("<II", z) == (len(lengths), len(stream) + (-len(stream) % 4))
    assert list(struct.unpack_from(f"<{len(lengths)}I", z, 8)) == lengths
    assert z[8 + 4 * len(lengths):] == stream
    res = dict(zip(protocol.RESULT_FIELDS, protocol.RESULT.unpack_from(r)))
    assert res["error"] == 0
    assert res["compress_cycles"] >= x.numel() and res["decompress_cycles"] > 0
    got = r[protocol.RESULT.size:]
    assert [i for i in range(len(values)) if got[i:i+1] != values[i:i+1]] == [] and got == values


def refusal(code, detail=0):
    return (b"E", struct.pack("<B3xI", code, detail))


def test_bad_frames_are_refused_and_the_next_one_works():
    """Bad CRC, unknown kind, a frame cut short, a wrong length, a shape
    that does not match its payload, a bad shape, a tensor too large, a
    step table on a lossless build: each gets its ``E`` reply and the
    board answers the next frame."""
    dut = small_demo()
    bad_crc = bytearray(protocol.frame(b"I"))
    bad_crc[-1] ^= 1
    x = torch.arange(64, dtype=torch.uint8).reshape(1, 1, 8, 8)
    short = protocol.frame(b"C", protocol.SHAPE.pack(1, 8, 8) + protocol.positions(x)[:-1])
    long = protocol.frame(b"C", protocol.SHAPE.pack(1, 8, 8) + protocol.positions(x) + b"\0")
    zero = protocol.frame(b"C", protocol.SHAPE.pack(1, 0, 8))
    big = protocol.frame(b"C", protocol.SHAPE.pack(1, 40, 40) + bytes(1025))
    sent = [bytes(bad_crc), protocol.frame(b"X"), protocol.frame(b"C")[:5],
            protocol.frame(b"I", b"\0"), short, long, zero, big,
            protocol.frame(b"T", bytes(64)), protocol.frame(b"I")]
    # one request at a time, as a host does: each reply (or the silence
    # that drops the cut frame) is over before the next request
    requests = [part for r in sent for part in (r, 1200)]
    want = [refusal(1, struct.unpack("<H", bad_crc[-2:])[0]), refusal(2, ord("X")),
            refusal(7), refusal(8, 1), refusal(3, 71), refusal(3, 73), refusal(6),
            refusal(4, 1033), refusal(9), (b"I", dut.info_bytes())]
    n = sum(8 + len(p) for _, p in want)
    assert frames(talk(dut, requests, n)) == want
