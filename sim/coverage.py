"""Functional coverage of a set of bench runs: which modes, parameters and
events the cases exercised, and which symbol statistics the golden model
says the stimulus reached (exp-Golomb orders, codeword lengths, zero-run
lengths), with the bins nobody reached named as holes."""
from golden.config import MAX_K, SCANS, TRANSFORMS

# bins of codeword lengths (bits) and zero runs (zeros before a level)
LENGTH_BINS = [(1, 1), (2, 3), (4, 7), (8, 11), (12, 15), (16, 19), (20, 23), (24, 27)]
# (27 bits: golden.codec.max_codeword_length of dct2d)
RUN_BINS = [(0, 0), (1, 1), (2, 3), (4, 7), (8, 15), (16, 31), (32, 63)]


def _count(table, key, n=1):
    table[key] = table.get(key, 0) + n


def collect(results):
    """Fold the runs' cases and reports (:class:`sim.runner.Result`) into
    counters: ``features`` (name -> value -> bench runs), ``orders``,
    ``lengths``, ``runs`` (value -> symbols), ``stalls``."""
    features, orders, lengths, runs = {}, {}, {}, {}
    idle = {"inputs": 0, "outputs": 0}
    patterns = {"inputs": {}, "outputs": {}}
    values = 0
    for r in results:
        case = r.case
        if not case:
            continue
        cfg = case["config"]
        steps, ks = set(cfg["qtable"]), set(cfg["ktable"])
        feats = {
            "top": case["bench"],
            "transform": cfg["transform"],
            "scan": cfg["scan"],   # resolved (pred codes in raster order)
            "run mode": "runs" if cfg["runs"] else "levels",
            "order rule": "adaptive" if cfg["adaptive"] else "fixed",
            "order table": "flat" if len(ks) == 1 else "per position",
            "steps": "lossless" if steps == {1} else "flat" if len(steps) == 1 else
                     "per position",
            "build": "lossy" if "table" in case["inputs"] else "lossless-only",
            "type": case["dtype"],
            "word": f"{case['word_width']}-bit",
            "lanes": str(case["lanes"]),
        }
        for name, value in feats.items():
            _count(features.setdefault(name, {}), value)
        events = features.setdefault("events", {})
        if case.get("reset"):
            _count(events, "reset mid-tile")
        if case.get("retable"):
            _count(events, "table change between tiles")
        if case.get("tables"):
            _count(events, "table change between tensors")
        if case.get("corrupt"):
            _count(events, f"corrupt ({case['corrupt']['how']})")
        if case.get("words"):
            _count(events, "round trip")
        _count(patterns["inputs"], _pattern(case["gaps"]))
        _count(patterns["outputs"], _pattern(case["stalls"]))
        idle["inputs"] += r.report.get("gapped", 0)
        idle["outputs"] += r.report.get("stalled", 0)
        values += case.get("values", 0)
        for cov in r.report.get("coverage", []):
            for k, n in cov["orders"].items():
                _count(orders, int(k), n)
            for k, n in cov["codeword_lengths"].items():
                _count(lengths, int(k), n)
            for k, n in cov["runs"].items():
                _count(runs, k if k == "eob" else int(k), n)
    return {"runs_of_benches": sum(1 for r in results if r.case), "values": values,
            "features": features, "orders": orders, "codeword_lengths": lengths,
            "zero_runs": runs, "patterns": patterns, "idle_cycles": idle}


def _pattern(p):
    rate, burst = p
    return "none" if not rate else f"{rate:g} x{burst}"


def _binned(hist, bins):
    return [(lo, hi, sum(n for v, n in hist.items() if v != "eob" and lo <= v <= hi))
            for lo, hi in bins]


def _label(lo, hi):
    return str(lo) if lo == hi else f"{lo}-{hi}"


def summary(cov):
    """The coverage as printable lines."""
    f = cov["features"]
    out = [f"Functional coverage: {cov['runs_of_benches']} bench runs, "
           f"{cov['values']:,} values"]

    def row(title, counts, expected=()):
        items = [f"{v} {counts[v]}" for v in sorted(counts, key=str)]
        holes = [v for v in expected if v not in counts]
        out.append(f"  {title:<18}" + ", ".join(items) +
                   (f"   (not hit: {', '.join(holes)})" if holes else ""))

    expect = {"top": ("compressor", "decompressor"), "transform": TRANSFORMS,
              "scan": SCANS, "run mode": ("runs", "levels"), "order rule": ("adaptive", "fixed"),
              "order table": ("flat", "per position"),
              "steps": ("lossless", "flat", "per position"),
              "build": ("lossy", "lossless-only"), "type": ("uint8", "int8"),
              "word": ("32-bit", "64-bit"), "lanes": ("1", "8"),
              "events": ("reset mid-tile", "table change between tiles",
                         "table change between tensors", "corrupt (flip)", "corrupt (truncate)",
                         "corrupt (garbage)", "round trip")}
    for name, want in expect.items():
        row(name, f.get(name, {}), want)
    orders = cov["orders"]
    out.append("  exp-Golomb order  " + ", ".join(f"k={k} {orders[k]:,}" for k in sorted(orders))
               + _holes([str(k) for k in range(MAX_K + 1) if k not in orders]))
    lb = _binned(cov["codeword_lengths"], LENGTH_BINS)
    longest = max(cov["codeword_lengths"], default=0)
    out.append("  codeword bits     " + ", ".join(f"{_label(lo, hi)}: {n:,}" for lo, hi, n in lb)
               + f"; longest {longest}" + _holes([_label(lo, hi) for lo, hi, n in lb if not n]))
    rb = _binned(cov["zero_runs"], RUN_BINS)
    out.append("  zero runs         " + ", ".join(f"{_label(lo, hi)}: {n:,}" for lo, hi, n in rb)
               + f", end of block: {cov['zero_runs'].get('eob', 0):,}"
               + _holes([_label(lo, hi) for lo, hi, n in rb if not n]))
    for side, what, cycles in (("inputs", "input gaps", "cycles without valid"),
                               ("outputs", "back-pressure", "cycles stalled")):
        pats = cov["patterns"][side]
        out.append(f"  {what:<18}" + ", ".join(f"{p} {pats[p]}" for p in sorted(pats))
                   + f"; {cov['idle_cycles'][side]:,} {cycles}")
    return out


def _holes(names):
    return f"   (not hit: {', '.join(names)})" if names else ""
