"""Rate versus accuracy on the real network: ``python -m golden eval`` and
``python -m golden sweep``.

Every activation tensor an accelerator writes to DRAM (the taps of
:mod:`golden.network`) is quantized to 8 bits, coded by a method, and the
network continues on the reconstruction. The reference is the same network
with the 8-bit tensors uncompressed (the "8-bit network"). Rates count
every bit of the stream; lossless baselines are measured on the 8-bit
network's own tensors.
"""
import math
import time

import torch
from tqdm import tqdm

from . import codec, dct, expgolomb, network
from .config import Config

#: DDR3-1066 energy per bit (pJ), from the power model of Chmiel et al.'s
#: reference code (CompressTeam/TransformCodingInference, FPGA/power/cnn_power.py).
DRAM_READ_PJ = 77.0
DRAM_WRITE_PJ = 63.0


# ---- 8-bit view of the taps --------------------------------------------------

def calibrate(model, inputs, batch=16):
    """Per-tensor int8 scales of the signed taps: max |x| / 127 over the
    calibration inputs."""
    peak = {}

    def tap(name, kind, v):
        if kind == "block":
            peak[name] = max(peak.get(name, 0.0), float(v.abs().max()))

    for i in range(0, len(inputs), batch):
        network.run(model, inputs[i:i + batch], tap)
    return {k: (v / 127 if v > 0 else 1.0) for k, v in peak.items()}


def to_8bit(kind, v, scale):
    if kind == "relu6":
        return network.relu6_to_uint8(v)
    return torch.round(v / scale).clamp(-128, 127).to(torch.int8)


def from_8bit(kind, q, scale):
    return q.float() * (network.RELU6_SCALE if kind == "relu6" else scale)


# ---- methods -------------------------------------------------------------------

def _entropy_bits(hist):
    n = hist.sum()
    if n == 0:
        return 0.0
    p = hist[hist > 0].double() / n
    return float(-(p * p.log2()).sum() * n)


def _column_entropy_bits(y):
    """The sum over the columns of integer-valued ``y`` (N, C) of each
    column's zeroth-order entropy times N: one histogram of (column, value)
    pairs for all columns."""
    n, c = y.shape
    yi = y.to(torch.int64)
    lo = int(yi.min()) if yi.numel() else 0
    span = int(yi.max()) - lo + 1 if yi.numel() else 1
    cnt = torch.bincount((yi - lo + torch.arange(c) * span).reshape(-1), minlength=c * span)
    cnt = cnt[cnt > 0].double()
    # per column n log2 n - sum(cnt log2 cnt), summed over the columns
    return float(c * n * math.log2(n) - (cnt * cnt.log2()).sum()) if n else 0.0


def _add_hist(acc, key, h):
    old = acc.get(key)
    if old is None:
        acc[key] = h.clone()
        return
    n = max(old.numel(), h.numel())
    acc[key] = torch.nn.functional.pad(old, (0, n - old.numel())) + \
        torch.nn.functional.pad(h, (0, n - h.numel()))


class Fmcodec:
    """fmcodec with one configuration, or one per tap (``per_layer(name,
    kind) -> Config``)."""

    lossy = True

    def __init__(self, config=Config(), name=None, per_layer=None):
        self.config = config
        self.per_layer = per_layer
        self.name = name or describe(config)

    def config_for(self, name, kind):
        return self.per_layer(name, kind) if self.per_layer else self.config

    def code(self, name, kind, q):
        cfg = self.config_for(name, kind)
        dtype = "uint8" if q.dtype == torch.uint8 else "int8"
        lv, signed, korder, rec = codec.analyse(q, cfg)
        if rec is not None:  # pred: the encoder's own reconstruction
            recon = codec._to_tensor(rec, tuple(q.shape), dtype)
        else:
            # lossless reconstructs the input exactly (tests/test_real_tensors.py)
            recon = q if cfg.lossless else codec._reconstruct(lv, cfg, tuple(q.shape), dtype)
        # one stream per image, as in DRAM
        bits, hist = codec.measure_batch(lv, signed, cfg, q.shape[0], korder,
                                         tuple(q.shape[1:]), rec)
        return recon, {"bits": sum(bits), "hist": hist}


class PCA:
    """Channel-wise PCA, uniform quantization and an entropy estimate
    (Chmiel et al., "Feature Map Transform Coding for Energy-Efficient CNN
    Inference"): an optimistic bound, since no bitstream or side
    information is counted. Bases come from the calibration inputs."""

    lossy = True

    def __init__(self, step, bases):
        self.step = step
        self.bases = bases
        self.name = f"pca step {step}"

    def code(self, name, kind, q):
        mean, basis = self.bases[name]
        b, c, h, w = q.shape
        x = q.double().permute(0, 2, 3, 1).reshape(-1, c)
        y = torch.round(((x - mean) @ basis) / self.step)
        bits = _column_entropy_bits(y)
        r = (y * self.step) @ basis.T + mean
        lo, hi = dct.input_range("uint8" if q.dtype == torch.uint8 else "int8")
        r = torch.round(r).clamp(lo, hi).reshape(b, h, w, c).permute(0, 3, 1, 2)
        return r.to(q.dtype).contiguous(), {"bits": int(math.ceil(bits)), "hist": {}}


def pca_bases(model, inputs, scales, batch=16):
    """Per-tap channel means and eigenvectors (columns, by decreasing
    variance) of the 8-bit tensors over the calibration inputs."""
    acc = {}

    def tap(name, kind, v):
        q = to_8bit(kind, v, scales.get(name, 1.0))
        x = q.double().permute(0, 2, 3, 1).reshape(-1, q.shape[1])
        s = acc.setdefault(name, [0, 0.0, 0.0])
        s[0] += x.shape[0]
        s[1] = s[1] + x.sum(0)
        s[2] = s[2] + x.T @ x

    for i in range(0, len(inputs), batch):
        network.run(model, inputs[i:i + batch], tap)
    out = {}
    for name, (n, sx, sxx) in acc.items():
        mean = sx / n
        cov = sxx / n - torch.outer(mean, mean)
        _, vec = torch.linalg.eigh(cov)
        out[name] = (mean, vec.flip(1))
    return out


def describe(cfg):
    q = cfg.qtable
    steps = f"step {q[0]}" if len(set(q)) == 1 else f"table {min(q)}..{max(q)}"
    k = "adaptive" if cfg.adaptive else (f"k{cfg.ktable[0]}" if len(set(cfg.ktable)) == 1 else "ktable")
    rnd = "" if cfg.rounding == 8 or cfg.lossless else f" rounding {cfg.rounding}"
    return f"{cfg.transform} {steps}{rnd} {k} {'runs' if cfg.runs else 'values'}"


# ---- lossless baselines on the 8-bit tensors ------------------------------------

def _eg_len(u, k):
    return expgolomb.codewords(u, torch.full_like(u, k))[1]


def baseline_bits(q):
    """Bits of the lossless baselines for one 8-bit tensor (all images).

    Each baseline spends a fixed number of bits on each 8-bit value, so
    they are all sums over the histogram of the values."""
    signed = q.dtype == torch.int8
    lo = -128 if signed else 0
    hist = torch.bincount(q.reshape(-1).to(torch.int32) - lo, minlength=256)
    v = torch.arange(lo, lo + 256, dtype=torch.int64)
    # the exp-Golomb number of each value: ue for uint8, se for int8
    m = torch.where(v > 0, 2 * v - 1, -2 * v) if signed else v
    nz = v != 0
    n = int(hist.sum())

    def total(bits):
        return int((hist * bits).sum())

    return {
        "raw 8-bit": 8 * n,
        # NVIDIA cDMA zero-value compression: a mask bit per value, the non-zero bytes
        "zero-value compression": n + 8 * int(hist[nz].sum()),
        # exp-Golomb order 0 of every value
        "exp-Golomb k=0": total(_eg_len(m, 0)),
        # seed 1's sparse EG: one bit per zero, a flag plus order-4 EG per non-zero
        "sparse exp-Golomb": total(torch.where(nz, 1 + _eg_len((m - 1).clamp(min=0), 4), 1)),
        "entropy of 8-bit values": _entropy_bits(hist),
    }


# ---- evaluation ---------------------------------------------------------------------

def run_pass(model, inputs, scales, method=None, batch=16, progress=None, baselines=False,
             lossless=()):
    """One pass over the inputs. ``method`` None is the 8-bit network.

    Returns (logits, layers, baseline bits) where layers maps each tap to
    its shape and accumulated bits, values, squared error and symbol
    histograms.
    """
    layers = {}
    base = {}
    logits = []

    def tap(name, kind, v):
        scale = scales.get(name, 1.0)
        q = to_8bit(kind, v, scale)
        L = layers.setdefault(name, {"kind": kind, "shape": list(q.shape[1:]), "bits": 0,
                                     "values": 0, "sqerr": 0.0, "hist": {}})
        L["values"] += q.numel()
        if baselines:
            found = baseline_bits(q)
            for m in lossless:  # lossless methods need no forward pass of their own
                found[m.name] = m.code(name, kind, q)[1]["bits"]
            for k, b in found.items():
                base.setdefault(k, {}).setdefault(name, 0)
                base[k][name] += b
        if method is None:
            L["bits"] += 8 * q.numel()
            return from_8bit(kind, q, scale)
        r, st = method.code(name, kind, q)
        L["bits"] += st["bits"]
        L["sqerr"] += float(((r.double() - q.double()) ** 2).sum())
        for k, h in st["hist"].items():
            _add_hist(L["hist"], k, h)
        return from_8bit(kind, r, scale)

    for i in range(0, len(inputs), batch):
        logits.append(network.run(model, inputs[i:i + batch], tap))
        if progress:
            progress.update(min(batch, len(inputs) - i))
    return torch.cat(logits), layers, base


def agreement(ref, out):
    top1 = ref.argmax(1)
    p_ref = ref.log_softmax(1)
    return {
        "top1_agreement": float((out.argmax(1) == top1).float().mean()),
        # the 8-bit network's top-1 class is among the method's top 5
        "top5_agreement": float((out.topk(5, 1).indices == top1[:, None]).any(1).float().mean()),
        "kl_mean": float((p_ref.exp() * (p_ref - out.log_softmax(1))).sum(1).mean()),
    }


def summarize(layers, n_inputs):
    bits = sum(L["bits"] for L in layers.values())
    values = sum(L["values"] for L in layers.values())
    out = []
    for name, L in layers.items():
        mse = L["sqerr"] / L["values"]
        ent = sum(_entropy_bits(h) for h in L["hist"].values())
        out.append({"name": name, "kind": L["kind"], "shape": L["shape"],
                    "bits_per_value": L["bits"] / L["values"],
                    "psnr_db": None if mse == 0 else 10 * math.log10(255 ** 2 / mse),
                    "entropy_bits_per_value": ent / L["values"] if L["hist"] else None})
    ent_total = sum(sum(_entropy_bits(h) for h in L["hist"].values()) for L in layers.values())
    per_image_bits = bits / n_inputs
    return {
        "bits_per_value": bits / values,
        "compression_ratio": 8 * values / bits,
        "values_per_input": values // n_inputs,
        "symbol_entropy_bits_per_value": ent_total / values if ent_total else None,
        "dram_energy_uj_per_input": per_image_bits * (DRAM_READ_PJ + DRAM_WRITE_PJ) * 1e-6,
        "layers": out,
    }


class Evaluator:
    """Holds the model, inputs, scales and the 8-bit reference."""

    def __init__(self, n_inputs, model_name="efficientnet-lite0", batch=16, progress=True):
        self.model = network.load_model(model_name)
        self.model_name = model_name
        size = network.image_size(model_name)
        self.inputs = network.make_inputs(n_inputs, size=size)
        self.calib = network.calibration_inputs(size=size)
        self.batch = batch
        self.progress = progress
        self.scales = calibrate(self.model, self.calib, batch)
        self._bases = None
        with self._bar("8-bit reference") as bar:
            self.ref_logits, self.ref_layers, base = run_pass(
                self.model, self.inputs, self.scales, None, batch, bar, baselines=True)
        values = sum(L["values"] for L in self.ref_layers.values())
        self.baselines = {k: {"bits_per_value": sum(v.values()) / values,
                              "layers": {n: b / self.ref_layers[n]["values"] for n, b in v.items()}}
                          for k, v in base.items()}

    def _bar(self, desc):
        return tqdm(total=len(self.inputs), desc=desc, unit="input", disable=not self.progress,
                    leave=False)

    def measure_lossless(self, methods, n=None):
        """Bits/value of configurations on the 8-bit network's own tensors
        (the first ``n`` inputs): no forward pass of their own is needed,
        whether or not they are lossless; agreement is not measured."""
        n = len(self.inputs) if n is None else min(n, len(self.inputs))
        with self._bar(f"rates of {len(methods)} configurations") as bar:
            bar.total = n
            _, layers, base = run_pass(self.model, self.inputs[:n], self.scales, None, self.batch,
                                       bar, baselines=True, lossless=methods)
        values = sum(L["values"] for L in layers.values())
        return {m.name: {"bits_per_value": sum(base[m.name].values()) / values,
                         "layers": {t: b / layers[t]["values"] for t, b in base[m.name].items()},
                         "n_inputs": n}
                for m in methods}

    def bases(self):
        if self._bases is None:
            self._bases = pca_bases(self.model, self.calib, self.scales, self.batch)
        return self._bases

    def evaluate(self, method, n=None):
        """Evaluate ``method`` on the inputs (the first ``n`` of them)."""
        n = len(self.inputs) if n is None else min(n, len(self.inputs))
        t0 = time.time()
        with self._bar(method.name) as bar:
            bar.total = n
            logits, layers, _ = run_pass(self.model, self.inputs[:n], self.scales, method,
                                         self.batch, bar)
        res = {"method": method.name, "n_inputs": n}
        res.update(summarize(layers, n))
        res.update(agreement(self.ref_logits[:n], logits))
        res["seconds"] = time.time() - t0
        return res


# ---- reports -------------------------------------------------------------------------

def config_dict(cfg):
    return {"transform": cfg.transform, "qtable": list(cfg.qtable), "rounding": cfg.rounding,
            "ktable": list(cfg.ktable), "adaptive": cfg.adaptive, "runs": cfg.runs,
            "krun": cfg.krun, "scan": cfg.scan, "tile_blocks": cfg.tile_blocks,
            "align": cfg.align}


def plot(points, path, title):
    """Bits/value against top-1 agreement and KL for every method.

    ``points``: dicts with name, family, bits_per_value, top1_agreement,
    kl_mean (None for lossless methods, drawn at 100% and KL 0).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.2))
    families = sorted({p["family"] for p in points})
    markers = dict(zip(families, "osD^vP*Xh<>p8d"))
    colors = {f: plt.cm.tab20(i % 20) for i, f in enumerate(families)}
    for fam in families:
        ps = sorted((p for p in points if p["family"] == fam), key=lambda p: p["bits_per_value"])
        lossy = any(p["top1_agreement"] is not None for p in ps)
        style = dict(marker=markers[fam], color=colors[fam], label=fam,
                     linestyle="-" if lossy and len(ps) > 1 else "")
        a1.plot([p["bits_per_value"] for p in ps],
                [100 * (p["top1_agreement"] if p["top1_agreement"] is not None else 1.0)
                 for p in ps], **style)
        kl = [(p["bits_per_value"], p["kl_mean"]) for p in ps if p["kl_mean"]]
        if kl:
            a2.plot(*zip(*kl), **style)
    a1.axhline(99, color="grey", linestyle=":", linewidth=1)
    a1.axvline(3.0, color="grey", linestyle=":", linewidth=1)
    a1.set_xlabel("bits per value (whole stream)")
    a1.set_ylabel("top-1 agreement with the 8-bit network (%)")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7)
    a2.set_xlabel("bits per value (whole stream)")
    a2.set_ylabel("mean KL divergence of logits (nats)")
    a2.set_yscale("log")
    a2.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def baseline_points(ev):
    return [{"name": k, "family": k, "bits_per_value": v["bits_per_value"],
             "top1_agreement": None, "kl_mean": None}
            for k, v in ev.baselines.items() if not k.startswith("entropy")]


def cmd_eval(a, cfg):
    import json
    ev = Evaluator(a.inputs, a.model, a.batch, progress=not a.quiet)
    res = ev.evaluate(Fmcodec(cfg))
    report = {"config": config_dict(cfg), "model": a.model, "n_inputs": a.inputs}
    report.update({k: res[k] for k in ("bits_per_value", "compression_ratio", "top1_agreement",
                                        "top5_agreement", "kl_mean",
                                        "symbol_entropy_bits_per_value",
                                        "dram_energy_uj_per_input", "values_per_input",
                                        "seconds")})
    report["dram_energy_raw_uj_per_input"] = (8 * res["values_per_input"]
                                              * (DRAM_READ_PJ + DRAM_WRITE_PJ) * 1e-6)
    report["dram_pj_per_bit"] = {"read": DRAM_READ_PJ, "write": DRAM_WRITE_PJ}
    report["layers"] = res["layers"]
    report["baselines"] = {k: {"bits_per_value": v["bits_per_value"]}
                           for k, v in ev.baselines.items()}
    points = baseline_points(ev)
    if a.pca_step:
        p = ev.evaluate(PCA(a.pca_step, ev.bases()))
        report["baselines"][p["method"]] = {k: p[k] for k in ("bits_per_value", "top1_agreement",
                                                              "top5_agreement", "kl_mean")}
        points.append({"name": p["method"], "family": "channel PCA (entropy estimate)", **p})
    points.append({"name": res["method"], "family": "fmcodec " + res["method"], **res})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if a.plot:
        plot(points, a.plot, f"{a.model}, {a.inputs} inputs")
    print(f"{res['method']}: {res['bits_per_value']:.3f} bits/value "
          f"({res['compression_ratio']:.2f}x), top-1 agreement {100 * res['top1_agreement']:.1f}%, "
          f"top-5 {100 * res['top5_agreement']:.1f}%, KL {res['kl_mean']:.4f}, "
          f"{res['dram_energy_uj_per_input']:.0f} uJ DRAM per input "
          f"(raw 8-bit {report['dram_energy_raw_uj_per_input']:.0f})")
    for k, v in report["baselines"].items():
        extra = f", top-1 {100 * v['top1_agreement']:.1f}%" if "top1_agreement" in v else ""
        print(f"  baseline {k}: {v['bits_per_value']:.3f} bits/value{extra}")
    return 0


# ---- per-layer allocation ------------------------------------------------------------

class PerLayer(Fmcodec):
    """``lossy`` at the taps in ``taps``, ``lossless`` elsewhere (every tap
    coded). With ``only_lossy``, the other taps pass uncoded (for
    sensitivity runs, where only the accuracy matters)."""

    def __init__(self, taps, lossy, lossless, name=None, only_lossy=False):
        self.taps = set(taps)
        self.only_lossy = only_lossy
        super().__init__(lossless, name or f"{len(self.taps)} taps lossy",
                         per_layer=lambda n, k: lossy if n in self.taps else lossless)

    def code(self, name, kind, q):
        if self.only_lossy and name not in self.taps:
            return q, {"bits": 0, "hist": {}}
        return super().code(name, kind, q)


def allocate(ev, lossy, lossless, target=0.99, progress=True, rate_inputs=32,
             sensitivity_inputs=96):
    """Greedy per-layer choice: rank taps by KL added per bit saved when
    only that tap is lossy, then take the longest prefix of the ranking
    whose combined agreement still meets ``target``.

    Returns (ranking rows, chosen taps, evaluation of the choice, rates of
    the two configurations on the 8-bit tensors).
    """
    name_lossy, name_lossless = describe(lossy), describe(lossless)
    rates = ev.measure_lossless([Fmcodec(lossy), Fmcodec(lossless)], rate_inputs)
    rows = []
    taps = list(ev.ref_layers)
    for tap in tqdm(taps, desc="sensitivity", unit="tap", disable=not progress, leave=False):
        r = ev.evaluate(PerLayer([tap], lossy, lossless, f"only {tap}", only_lossy=True),
                        sensitivity_inputs)
        values = ev.ref_layers[tap]["values"]
        saved = (rates[name_lossless]["layers"][tap] - rates[name_lossy]["layers"][tap]) * values
        rows.append({"tap": tap, "kl_mean": r["kl_mean"], "top1_agreement": r["top1_agreement"],
                     "bits_saved_per_input": saved / len(ev.inputs)})
    rows.sort(key=lambda r: r["kl_mean"] / max(r["bits_saved_per_input"], 1e-9))
    # binary search on the prefix length (agreement falls as taps are added);
    # the other taps are lossless, so they need no coding to find agreement
    lo, hi = 0, len(rows)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        chosen = [r["tap"] for r in rows[:mid]]
        res = ev.evaluate(PerLayer(chosen, lossy, lossless, f"{mid} taps", only_lossy=True))
        if res["top1_agreement"] >= target:
            lo = mid
        else:
            hi = mid - 1
    chosen = [r["tap"] for r in rows[:lo]]
    final = ev.evaluate(PerLayer(chosen, lossy, lossless, f"{lo} most tolerant taps lossy"))
    return rows, chosen, final, rates
