import os
import subprocess
import sys

import numpy as np
import pytest

from golden.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "golden", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_help_lists_every_flag():
    r = run_cli("encode", "--help")
    assert r.returncode == 0
    for flag in ("--transform", "--qstep", "--qtable", "--k", "--runs", "--no-runs", "--raw",
                 "--rounding", "--krun", "--scan", "--tile-blocks", "--align", "--ktable"):
        assert flag in r.stdout


def test_roundtrip_and_info(tmp_path, capsys):
    x = np.random.default_rng(0).integers(0, 256, (2, 3, 20, 12)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "q.txt").write_text(" ".join(str(1 + (i % 5)) for i in range(64)))
    assert main(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc"),
                 "--qtable", str(tmp_path / "q.txt"), "--k", "adaptive", "--runs",
                 "--transform", "dct2d"]) == 0
    assert main(["decode", str(tmp_path / "x.fmc"), "-o", str(tmp_path / "y.npy")]) == 0
    y = np.load(tmp_path / "y.npy")
    import golden
    cfg = golden.Config(transform="dct2d", qtable=tuple(1 + (i % 5) for i in range(64)),
                        adaptive=True, runs=True)
    assert (y == golden.reconstruct(x, cfg).numpy()).all()
    capsys.readouterr()
    assert main(["info", str(tmp_path / "x.fmc")]) == 0
    out = capsys.readouterr().out
    assert "uint8 (2, 3, 20, 12), 1440 values" in out
    assert "runs on" in out and "adaptive" in out
    size = os.path.getsize(tmp_path / "x.fmc")
    assert f"{8 * size / 1440:.4f} bits/value" in out


def test_corrupt_file_exits_nonzero_without_output(tmp_path):
    x = np.zeros((1, 8, 8), np.int8)
    np.save(tmp_path / "x.npy", x)
    assert main(["encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc")]) == 0
    data = (tmp_path / "x.fmc").read_bytes()
    (tmp_path / "bad.fmc").write_bytes(data[:-1])
    r = run_cli("decode", str(tmp_path / "bad.fmc"), "-o", str(tmp_path / "out.npy"))
    assert r.returncode == 2
    assert "byte offset" in r.stderr and "truncated" in r.stderr
    assert not (tmp_path / "out.npy").exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".fmc-")] == []


@pytest.mark.parametrize("array,message", [
    (np.zeros((1, 8, 8), np.float32), "is not uint8 or int8"),
    (np.zeros((8, 8), np.uint8), "is not (C, H, W) or (N, C, H, W)"),
    (np.zeros((1, 0, 8), np.uint8), "is not (C, H, W)"),
])
def test_bad_inputs(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    r = run_cli("encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc"))
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "x.fmc").exists()


def test_bad_flags(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 8, 8), np.uint8))
    r = run_cli("encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc"), "--qstep", "300")
    assert r.returncode == 2 and "qtable[0] = 300 is outside 1..255" in r.stderr
    r = run_cli("encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc"), "--k", "9")
    assert r.returncode == 2 and "--k must be 0..7 or 'adaptive'" in r.stderr
    (tmp_path / "q.txt").write_text("1 2 3")
    r = run_cli("encode", str(tmp_path / "x.npy"), "-o", str(tmp_path / "x.fmc"), "--qtable",
                str(tmp_path / "q.txt"))
    assert r.returncode == 2 and "expected 64 integers, found 3" in r.stderr
    r = run_cli("decode", str(tmp_path / "missing.fmc"), "-o", str(tmp_path / "y.npy"))
    assert r.returncode == 2 and "cannot read" in r.stderr
