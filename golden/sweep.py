"""The rate/accuracy sweep (python -m golden sweep)."""
import json
import os

from tqdm import tqdm

from . import evaluate as E
from .config import Config
from .quantizer import table


def lossless_modes():
    modes = [E.Fmcodec(Config(transform=t, runs=r, adaptive=a))
             for t in ("none", "dct1d", "dct2d") for r in (False, True) for a in (False, True)]
    # pred: its value mode and its run mode (the default)
    return modes + [E.Fmcodec(Config(transform="pred", adaptive=a, runs=r))
                    for r in (False, True) for a in (False, True)]


#: The --quick subset: every family, fewer points.
QUICK = {"none step 2 adaptive values", "none step 3 adaptive values", "dct1d base 2",
         "dct2d base 2", "dct2d base 4", "dct2d base 2 slope 0.5", "pred step 2 adaptive values",
         "pred step 3 adaptive values", "pred step 5 adaptive values",
         "pred relu6 step 3, blocks lossless", "pca step 4", "pca step 8"}


def lossy_methods():
    """(family, method) pairs. Steps of the DCT modes are compensated for
    the transform's gains (golden.quantizer.table)."""
    out = []
    for step in (2, 3, 4):
        for rnd in (8, 4):
            cfg = Config(transform="none", qtable=step, rounding=rnd, adaptive=True, runs=False)
            out.append((f"none, flat step, rounding {rnd}", E.Fmcodec(cfg)))
    for t in ("dct1d", "dct2d"):
        for base in (2, 3, 4, 6):
            cfg = Config(transform=t, qtable=table(t, base), adaptive=True, runs=False)
            out.append((f"{t}, gain-compensated step", E.Fmcodec(cfg, f"{t} base {base}")))
    for base in (2, 4):
        for slope in (0.25, 0.5):
            cfg = Config(transform="dct2d", qtable=table("dct2d", base, slope), adaptive=True,
                         runs=False)
            out.append(("dct2d, frequency-weighted", E.Fmcodec(cfg, f"dct2d base {base} slope {slope}")))
    for step in (2, 3, 4, 5):
        cfg = Config(transform="pred", qtable=step, adaptive=True)
        out.append(("pred, flat step", E.Fmcodec(cfg)))
    lossless = Config(transform="pred", adaptive=True)
    for step in (2, 3):
        lossy = Config(transform="pred", qtable=step, adaptive=True)
        out.append(("pred, ReLU6 maps lossy, block outputs lossless", E.Fmcodec(
            name=f"pred relu6 step {step}, blocks lossless",
            per_layer=lambda n, k, a=lossy: a if k == "relu6" else lossless)))
    return out


def render(rows, out, model, n):
    with open(os.path.join(out, "sweep.md"), "w") as f:
        f.write(table_markdown(rows, model, n))
    E.plot([r for r in rows if not r["name"].startswith("entropy")],
           os.path.join(out, "rate.png"), f"{model}, {n} inputs")


def main(a):
    os.makedirs(a.out, exist_ok=True)
    if a.render:
        with open(os.path.join(a.out, "sweep.json")) as f:
            d = json.load(f)
        render(d["rows"], a.out, d["model"], d["n_inputs"])
        print(table_markdown(d["rows"], d["model"], d["n_inputs"]))
        return 0
    lossless = lossless_modes()
    ev = E.Evaluator(a.inputs, a.model, a.batch, progress=not a.quiet)
    rates = ev.measure_lossless(lossless, a.rate_inputs)
    rows = []
    for name, v in list(ev.baselines.items()) + list(rates.items()):
        fam = "fmcodec lossless" if name in rates else name
        rows.append({"family": fam, "name": name, "bits_per_value": v["bits_per_value"],
                     "top1_agreement": None, "top5_agreement": None, "kl_mean": None,
                     "layers": v["layers"], "n_inputs": v.get("n_inputs", a.inputs)})
    rows.append(best_per_layer(ev, lossless, rates))
    methods = lossy_methods()
    methods += [("channel PCA (entropy estimate)", E.PCA(s, ev.bases())) for s in (2, 4, 8)]
    if a.quick:
        methods = [m for m in methods if m[1].name in QUICK]
    if a.only:
        methods = [m for m in methods if a.only in m[1].name]
    for fam, m in tqdm(methods, desc="sweep", unit="config", disable=a.quiet):
        r = ev.evaluate(m)
        rows.append({"family": fam, "name": m.name, "bits_per_value": r["bits_per_value"],
                     "top1_agreement": r["top1_agreement"], "top5_agreement": r["top5_agreement"],
                     "kl_mean": r["kl_mean"],
                     "symbol_entropy_bits_per_value": r["symbol_entropy_bits_per_value"],
                     "layers": {L["name"]: L["bits_per_value"] for L in r["layers"]}})
        with open(os.path.join(a.out, "sweep.json"), "w") as f:
            json.dump({"model": a.model, "n_inputs": a.inputs, "rows": rows}, f, indent=1)
    render(rows, a.out, a.model, a.inputs)
    print(table_markdown(rows, a.model, a.inputs))
    return 0


def best_per_layer(ev, modes, rates):
    """The lossless mode with the fewest bits chosen for each tap (a per-layer
    mode choice: a different configuration per tensor, no format change)."""
    values = {t: L["values"] for t, L in ev.ref_layers.items()}
    choice = {t: min(modes, key=lambda m: rates[m.name]["layers"][t]).name for t in values}
    bits = sum(rates[choice[t]]["layers"][t] * values[t] for t in values)
    return {"family": "fmcodec lossless, best mode per layer", "name": "best lossless mode per layer",
            "bits_per_value": bits / sum(values.values()), "top1_agreement": None,
            "top5_agreement": None, "kl_mean": None, "choice": choice,
            "layers": {t: rates[choice[t]]["layers"][t] for t in values}}


def table_markdown(rows, model, n):
    def pct(v):
        return "lossless" if v is None else f"{100 * v:.1f}%"

    lines = [f"{model}, {n} inputs; bits/value count the whole stream (lossy rows: "
             "every DRAM activation coded, the network continuing on the reconstruction)", "",
             "| method | family | bits/value | top-1 agreement | top-5 agreement | KL |",
             "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["top1_agreement"] is not None, r["bits_per_value"])):
        kl = "" if r["kl_mean"] is None else f"{r['kl_mean']:.4f}"
        lines.append(f"| {r['name']} | {r['family']} | {r['bits_per_value']:.3f} | "
                     f"{pct(r['top1_agreement'])} | {pct(r['top5_agreement'])} | {kl} |")
    return "\n".join(lines) + "\n"
