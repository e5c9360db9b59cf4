"""The main job (``./fmc demo``, ``python -m boards job``): a real activation
tensor through the golden codec, the hardware compressor and decompressor
in cocotb (bit-exact against golden), the host program against the
simulated board over its UART, and a board's bitstream; one summary."""
import time


def step(msg):
    print(f"[job] {msg}", flush=True)


def main(a):
    import torch

    from golden import Config, codec, network
    from sim.runner import SimulatorMissing, check_simulator, run_bench
    from sim.cases import pair

    t0 = time.monotonic()
    summary, ok = {}, True
    step(f"activation {a.layer} of EfficientNet-Lite0 on photo '{a.photo}'")
    x = network.activation(a.layer, a.photo, network.load_model())
    config = Config()
    enc = codec.encode(x, config)
    exact = torch.equal(codec.decode(enc.container()), x)
    summary["tensor"] = f"{a.layer} uint8 {tuple(x.shape)}, {x.numel()} values"
    summary["golden"] = (f"{enc.bits_per_value:.3f} bits/value lossless "
                         f"({x.numel() / len(enc.container()):.2f}x), "
                         f"round trip {'exact' if exact else 'MISMATCH'}")
    ok &= exact
    try:
        check_simulator("icarus")
        step("cocotb: the hardware compressor, then the decompressor on its words (Icarus)")
        runs = pair("job-" + a.layer, [x], config, "uint8", 1, a.work, "icarus", False)
        passed = all(r.passed for r in runs) and len(runs) == 2
        cycles = {r.case["bench"]: r.cycles for r in runs}
        summary["hardware"] = (
            f"compressor {'matches' if passed else 'MISMATCH'} golden bit for bit "
            f"({cycles.get('compressor', 0)} clocks), decompressor "
            f"{'matches' if passed else 'MISMATCH'} ({cycles.get('decompressor', 0)} clocks)"
            if passed else "; ".join(f"{r.name}: {r.message}" for r in runs if not r.passed))
        ok &= passed
        part = x.reshape(-1, *x.shape[-2:])[:8].contiguous()   # fits the simulated memory
        step(f"cocotb: the host program against the simulated board, 8 channels "
             f"{tuple(part.shape)} over the UART")
        r = run_bench("job-board", "board", [part], config, "uint8", lossy=False, work=a.work)
        s = r.report["runs"][0]["summary"] if r.passed else {}
        summary["board (simulated)"] = (
            f"stream and reconstruction match golden, {s['bits_per_value']:.3f} bits/value "
            f"with the tile lengths" if r.passed else f"FAILED: {r.message}")
        ok &= r.passed
    except SimulatorMissing as e:
        summary["hardware"] = f"not run: {e}"
    if a.no_build:
        summary["bitstream"] = "not built (--no-build)"
    else:
        from .build import build
        from .ip import BuildFailed
        step(f"bitstream for {a.board} with Yosys and nextpnr (about two minutes, "
                 f"four on ECP5)")
        try:
            rep = build(a.board)
            fmax = ", ".join(f"{v:.1f} MHz (target {rep['target_mhz'][c]:g})"
                             for c, v in rep["fmax_mhz"].items())
            used = ", ".join(f"{b} {u['used']}/{u['available']}"
                             for b, u in rep["utilization"].items()
                             if b in ("ICESTORM_LC", "TRELLIS_COMB", "TRELLIS_FF", "DP16KD",
                                      "ICESTORM_RAM", "ICESTORM_SPRAM"))
            summary["bitstream"] = f"{rep['bitstream']}: Fmax {fmax}; {used}"
        except BuildFailed as e:
            summary["bitstream"] = f"FAILED: {e}"
            ok = False
    print()
    for k, v in summary.items():
        print(f"{k:18s} {v}")
    print(f"{'result':18s} {'all match' if ok else 'FAILED'} in {time.monotonic() - t0:.0f} s")
    return 0 if ok else 1


def add_parser(sub):
    j = sub.add_parser("job", help="the main job: golden, cocotb, host link, bitstream",
                       description="Take a real activation tensor, compress it with the golden "
                                   "model, run the hardware compressor and decompressor in "
                                   "cocotb and compare bit for bit, run the host program "
                                   "against the simulated board, build a board's bitstream, "
                                   "and print one summary.")
    j.add_argument("--layer", default="b5.dw", help="activation tap (default: %(default)s)")
    j.add_argument("--photo", default="astronaut", help="skimage photo (default: %(default)s)")
    j.add_argument("--board", choices=("icebreaker", "orangecrab", "ulx3s"),
                   default="icebreaker", help="bitstream to build (default: %(default)s)")
    j.add_argument("--no-build", action="store_true", help="skip the bitstream")
    j.add_argument("--work", default="build/sim", help="cocotb work directory")
    return j
