"""Generate the Pillow golden files of package data's preprocessing tests.

Run from the repository root with Debian's python3-pil and python3-numpy:

    /usr/bin/python3 data/testdata/mkgolden.py

It writes data/testdata/pil/: two source images (deterministic pseudo-random
content) and what Pillow's Image.resize(..., Image.BICUBIC) and the official
eval transform (torchvision Resize(int(S/0.875), BICUBIC) + CenterCrop(S), here
re-implemented in a few lines because torchvision is not packaged in Debian)
produce from them, and JPEG files with what Pillow decodes from them. All
outputs are 8-bit PNG, so the Go test compares bytes.
Generated with Pillow 9.4.0.
"""
import math
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pil")


def sources():
    rng = np.random.RandomState(20240601)
    # Smooth structure plus noise: exercises the filter's negative lobes
    # (overshoot, clipping) as well as flat areas.
    h, w = 23, 37
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / (w - 1), yy * 255 / (h - 1), (xx + yy) % 7 * 36], axis=-1)
    noise = rng.randint(-60, 61, size=(h, w, 3))
    rgb = np.clip(base + noise, 0, 255).astype(np.uint8)
    rgb[5:9, 10:20] = 255  # a hard-edged block
    rgb[12:14, 3:30] = 0
    g = rng.randint(0, 256, size=(28, 28)).astype(np.uint8)
    g[:, :6] = 0
    g[10:18, 8:20] = 250
    return {"rgb": Image.fromarray(rgb, "RGB"), "gray": Image.fromarray(g, "L")}


def torchvision_resize_shorter(img, size):
    # torchvision.transforms.functional._compute_resized_output_size with an
    # int size, then PIL resize (F_pil.resize: img.resize(size[::-1], ...)).
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return img
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), Image.BICUBIC)


def center_crop(img, ch, cw):
    # torchvision.transforms.functional.center_crop (image at least crop size).
    w, h = img.size
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return img.crop((left, top, left + cw, top + ch))


def main():
    os.makedirs(OUT, exist_ok=True)
    src = sources()
    for name, img in src.items():
        img.save(os.path.join(OUT, f"src_{name}.png"))
    # Plain resizes: up, down, one axis only, strong downscale.
    sizes = {
        "rgb": [(50, 31), (20, 13), (37, 60), (64, 23), (5, 3), (111, 69)],
        "gray": [(32, 32), (13, 17), (100, 90), (28, 9), (256, 256)],
    }
    for name, ss in sizes.items():
        for w, h in ss:
            src[name].resize((w, h), Image.BICUBIC).save(os.path.join(OUT, f"resize_{name}_{w}x{h}.png"))
    # JPEG decoding: the files Pillow writes, and what Pillow (libjpeg)
    # decodes from them, for each chroma subsampling; odd and even sizes.
    big = Image.fromarray(np.asarray(src["rgb"].resize((70, 45), Image.BICUBIC)))
    for name, img in [("rgb", src["rgb"]), ("big", big)]:
        for sub, label in [(0, "444"), (1, "422"), (2, "420")]:
            path = os.path.join(OUT, f"jpeg_{name}_{label}.jpg")
            img.save(path, quality=90, subsampling=sub)
            Image.open(path).convert("RGB").save(os.path.join(OUT, f"jpeg_{name}_{label}.png"))
    # Eval transform for (H, W) model inputs; S = max(H, W).
    for name, mode in [("rgb", "RGB"), ("gray", "L"), ("rgb", "L")]:
        for h, w in [(16, 16), (12, 20), (21, 9), (224, 224)]:
            img = src[name].convert(mode)
            s = int(max(h, w) / 0.875)
            out = center_crop(torchvision_resize_shorter(img, s), h, w)
            out.save(os.path.join(OUT, f"eval_{name}_{mode}_{h}x{w}.png"))


if __name__ == "__main__":
    main()
