"""python -m hw verilog."""
import json
import subprocess
import sys


def hw(*args):
    return subprocess.run([sys.executable, "-m", "hw", *args], capture_output=True, text=True)


def test_verilog_writes_both_tops(tmp_path):
    r = hw("verilog", "--out", str(tmp_path), "--transform", "dct2d", "--runs", "--qstep", "4")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "compressor.v").read_text()
    assert "module fmcodec_compressor" in text
    for port in ("i__payload", "i__valid", "i__ready", "o__payload", "lengths__payload",
                 "table__addr", "table__data", "table__en", "error"):
        assert port in text
    meta = json.loads((tmp_path / "compressor.json").read_text())
    assert meta["config"]["transform"] == "dct2d" and meta["config"]["runs"]
    assert meta["config"]["align"] == 4
    assert meta["ports"]["i__payload"] == {"data": [0, 8], "present": [8, 1], "last": [9, 1]}
    text = (tmp_path / "decompressor.v").read_text()
    assert "module fmcodec_decompressor" in text
    for port in ("words__payload", "lengths__payload", "shape__payload", "shape__valid",
                 "o__payload", "table__en", "error", "cause", "error_tile"):
        assert port in text
    meta = json.loads((tmp_path / "decompressor.json").read_text())
    assert meta["module"] == "fmcodec_decompressor"
    assert meta["ports"]["o__payload"] == {"data": [0, 8], "present": [8, 1], "last": [9, 1]}
    assert meta["ports"]["shape__payload"] == {"planes": [0, 24], "height": [24, 16],
                                               "width": [40, 16], "first": [56, 32],
                                               "count": [88, 32]}


def test_verilog_eight_lanes(tmp_path):
    r = hw("verilog", "--out", str(tmp_path), "--lanes", "8", "--word-width", "64")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "compressor.json").read_text())
    assert meta["lanes"] == 8
    row = {"data": [0, 64, 8], "present": [64, 8], "last": [72, 1]}
    assert meta["ports"]["i__payload"] == row
    assert meta["ports"]["o__7__payload"] == {"data": [0, 64]}
    text = (tmp_path / "compressor.v").read_text()
    assert "o__7__valid" in text and "lengths__7__payload" in text
    meta = json.loads((tmp_path / "decompressor.json").read_text())
    assert meta["ports"]["o__payload"] == row
    assert meta["ports"]["words__7__payload"] == {"data": [0, 64]}
    text = (tmp_path / "decompressor.v").read_text()
    assert "words__7__ready" in text and "error_tile" in text


def test_verilog_lossless_only_decompressor(tmp_path):
    r = hw("verilog", "--out", str(tmp_path), "--top", "decompressor", "--lossless-only",
           "--dtype", "int8", "--word-width", "64")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "compressor.v").exists()
    text = (tmp_path / "decompressor.v").read_text()
    assert "table__en" not in text and "words__payload" in text


def test_verilog_rejects_a_bad_configuration(tmp_path):
    r = hw("verilog", "--out", str(tmp_path), "--qstep", "0")
    assert r.returncode == 2
    assert "qtable[0] = 0 is outside 1..255" in r.stderr
    assert not (tmp_path / "compressor.v").exists()


def test_soak_runs_random_cases():
    r = hw("soak", "--cases", "2", "--seed", "5", "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 cases in" in r.stdout and "0 failed (seed 5)" in r.stdout


def test_verilog_dma_tops(tmp_path):
    """The DRAM engines' Verilog: AXI4 ports with IDs, AXI4-Lite registers;
    eight lanes refused."""
    import subprocess
    import sys
    for top, ports in (
            ("compressor_dma", ("mem__awid", "mem__wstrb", "mem__bresp", "i__payload")),
            ("decompressor_dma", ("mem__arid", "mem__rresp", "mem__rlast", "o__payload"))):
        r = subprocess.run([sys.executable, "-m", "hw", "verilog", "--out", str(tmp_path),
                            "--top", top, "--word-width", "64"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        text = (tmp_path / f"{top}.v").read_text()
        assert f"module fmcodec_{top}" in text
        for port in ports + ("ctl__awaddr", "ctl__rdata", "busy", "done"):
            assert port in text, port
    r = subprocess.run([sys.executable, "-m", "hw", "verilog", "--out", str(tmp_path), "--top",
                        "compressor_dma", "--lanes", "8"], capture_output=True, text=True)
    assert r.returncode == 2 and "one lane" in r.stderr


def test_verilog_interleaved_decompressor(tmp_path):
    """--interleaved writes the decompressor of interleaved lanes with the
    lossless-only decompressor's ports, and refuses a configuration it
    cannot decode with a message and exit status 2."""
    r = hw("verilog", "--out", str(tmp_path), "--top", "decompressor", "--interleaved")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "decompressor.json").read_text())
    assert meta["interleaved"] and meta["lossless_only"]
    assert meta["ports"]["o__payload"] == {"data": [0, 8], "present": [8, 1], "last": [9, 1]}
    text = (tmp_path / "decompressor.v").read_text()
    assert "table__en" not in text and "words__payload" in text and "error_tile" in text
    r = hw("verilog", "--out", str(tmp_path / "no"), "--top", "decompressor", "--interleaved",
           "--no-runs")
    assert r.returncode == 2 and "default configuration" in r.stderr
    assert not (tmp_path / "no").exists()
