"""Driver and monitor for Amaranth stream ports in cocotb.

Amaranth's Verilog names a stream member ``<name>__valid``,
``<name>__ready`` and ``<name>__payload`` (a flat vector; the bit fields of
a struct payload are in the JSON that ``python -m hw verilog`` writes
beside the Verilog, see :func:`pack` and :func:`unpack`). An array of
streams (8 lanes) is ``<name>__<lane>__valid`` and so on.

Both ends take their handshake at the rising edge, reading ``ready`` and
``valid`` as the flip-flops saw them; the sink checks the stream rules
(``valid`` stays high and the payload holds until the transfer).
"""
import random

from cocotb.triggers import RisingEdge
from cocotb.utils import get_sim_time


def pack(fields, item):
    """A payload integer from ``item`` (an int, or a dict of field values;
    a list for an array field) and the port's ``fields`` ({name: [offset,
    width] or [offset, width, count]})."""
    if isinstance(item, int):
        return item
    out = 0
    for name, spec in fields.items():
        offset, width = spec[0], spec[1]
        value = item[name]
        if len(spec) == 3:
            ew = width // spec[2]
            value = sum((v & ((1 << ew) - 1)) << (ew * i) for i, v in enumerate(value))
        out |= (value & ((1 << width) - 1)) << offset
    return out


def unpack(fields, value, signed=()):
    """The inverse of :func:`pack`; fields named in ``signed`` are two's
    complement (elementwise for an array field)."""
    out = {}
    for name, spec in fields.items():
        offset, width = spec[0], spec[1]
        raw = (value >> offset) & ((1 << width) - 1)
        if len(spec) == 3:
            ew = width // spec[2]
            out[name] = [_sign((raw >> (ew * i)) & ((1 << ew) - 1), ew, name in signed)
                         for i in range(spec[2])]
        else:
            out[name] = _sign(raw, width, name in signed)
    return out


def _bit(signal, name):
    """A handshake bit; X or Z is a design bug worth its own message."""
    v = signal.value
    if not v.is_resolvable:
        raise AssertionError(f"{signal._name} of stream {name} is {v} at "
                             f"{get_sim_time(unit='ns')} ns")
    return int(v)


def _sign(v, width, signed):
    return v - (1 << width) if signed and v >> (width - 1) else v


class Pattern:
    """Random idle cycles: ``rate`` is the probability of a pause on each
    cycle; ``burst`` makes pauses come in runs of 1..burst cycles (a bursty
    memory, a busy consumer)."""

    def __init__(self, rate=0.0, burst=1, seed=0):
        self.rate, self.burst = rate, burst
        self.rng = random.Random(seed)
        self._left = 0

    def pause(self):
        if self._left:
            self._left -= 1
            return True
        if self.rate and self.rng.random() < self.rate:
            self._left = self.rng.randint(1, self.burst) - 1
            return True
        return False

    @property
    def name(self):
        return "none" if not self.rate else f"{self.rate:g}x{self.burst}"


class StreamSource:
    """Drives ``items`` into the stream ``<name>`` of ``dut``."""

    def __init__(self, dut, name, clk, fields=None, pattern=None):
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.name = name
        self.clk, self.fields = clk, fields
        self.pattern = pattern or Pattern()
        self.valid.value = 0
        self.payload.value = 0   # an undriven payload is X, and X spreads
        self.sent = 0
        self.idle = 0   # cycles held back by the pattern

    async def send(self, items):
        for item in items:
            while self.pattern.pause():
                self.valid.value = 0
                self.idle += 1
                await RisingEdge(self.clk)
            self.valid.value = 1
            self.payload.value = pack(self.fields, item) if self.fields else item
            while True:
                await RisingEdge(self.clk)
                if _bit(self.ready, self.name):
                    break
            self.sent += 1
        self.valid.value = 0


class StreamSink:
    """Takes items from the stream ``<name>`` of ``dut`` with random
    back-pressure, checking the stream rules; ``items`` collects the raw
    payload integers."""

    def __init__(self, dut, name, clk, pattern=None):
        self.name = name
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.clk = clk
        self.pattern = pattern or Pattern()
        self.ready.value = 0
        self.items = []
        self.stalled = 0   # cycles with valid high and ready low

    async def receive(self, count):
        held = None
        while len(self.items) < count:
            ready = not self.pattern.pause()
            self.ready.value = ready
            await RisingEdge(self.clk)
            if _bit(self.valid, self.name):
                value = int(self.payload.value)
                if held is not None and value != held:
                    raise AssertionError(f"{self.name}: payload changed before its transfer "
                                         f"({held:#x} -> {value:#x})")
                if ready:
                    self.items.append(value)
                    held = None
                else:
                    held = value
                    self.stalled += 1
            elif held is not None:
                raise AssertionError(f"{self.name}: valid dropped before the transfer")
        self.ready.value = 0
        return self.items
