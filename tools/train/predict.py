#!/usr/bin/python3
"""Predict every Fashion-MNIST test image with a vim-fmnist safetensors checkpoint.

Preprocessing is the checkpoint's: pixel/255, then (x - mean)/std (metadata "mean"/"std"),
28x28, 1 channel, no resize. Writes the predicted class of each test image, in file
order, one integer per line (or a .npy int64 vector when --out ends in .npy), prints
top-1/top-5, and optionally the float32 logits (--logits X.npy). With --compare-f64 it
also runs the forward in float64 and reports how many predictions differ (a measure of
how close to a tie the checkpoint's decisions are, relevant for the Go port's 99.9 %).

Usage:
  /usr/bin/python3 tools/train/predict.py [--ckpt models/vim-fmnist.safetensors]
      [--data /usr/share/datasets/fashion-mnist] [--out models/vim-fmnist.test-predictions.txt]
      [--logits /tmp/logits.npy] [--compare-f64]
"""
import os
import sys

_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "2147483647",
        "MALLOC_TOP_PAD_": "536870912", "OMP_WAIT_POLICY": "PASSIVE"}
if __name__ == "__main__" and any(os.environ.get(k) != v for k, v in _ENV.items()):
    os.environ.update(_ENV)
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import st  # noqa: E402
import vim_model  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def load_model(path):
    """Build the model of a checkpoint; returns (model, metadata)."""
    tensors, meta = st.load(path)
    if "config" not in meta:
        raise ValueError(f"{path}: no 'config' metadata")
    cfg = json.loads(meta["config"])
    model = vim_model.from_config(cfg)
    sd = model.state_dict()
    if list(sd.keys()) != list(tensors.keys()):
        raise ValueError(f"{path}: tensor names/order differ from the official state_dict")
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()})
    model.eval()
    return model, meta


def logits_of(model, x, dtype, batch=500):
    out = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            out.append(model(torch.from_numpy(x[i:i + batch]).to(dtype)).double().numpy())
    return np.concatenate(out)


def atomic_write(path, write):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=os.path.join(REPO, "models", "vim-fmnist.safetensors"))
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "vim-fmnist.test-predictions.txt"))
    ap.add_argument("--logits", default="", help="also write float32 logits (N,10) to this .npy")
    ap.add_argument("--compare-f64", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model, meta = load_model(args.ckpt)
    mean = json.loads(meta["mean"])
    std = json.loads(meta["std"])
    if len(mean) != 1 or len(std) != 1:
        raise ValueError(f"{args.ckpt}: expected one mean/std value for 1-channel Fashion-MNIST")
    x_u8, y = fmnist.load_split("t10k", args.data)
    x = fmnist.normalize(x_u8, mean[0], std[0])

    logits = logits_of(model, x, torch.float32)
    pred = logits.argmax(1)
    top5 = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    top1_acc = float((pred == y).mean())
    top5_acc = float((top5 == y[:, None]).any(1).mean())
    srt = np.sort(logits, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    print(f"{args.ckpt}: {x.shape[0]} test images, top1 {top1_acc:.4f} top5 {top5_acc:.4f} "
          f"(metadata test_top1 {meta.get('test_top1', '?')})")
    print(f"top-1 logit margin: min {margin.min():.3e}, images with margin < 1e-3: {(margin < 1e-3).sum()}, "
          f"< 1e-2: {(margin < 1e-2).sum()}")

    if args.out.endswith(".npy"):
        atomic_write(args.out, lambda p: np.save(p, pred.astype(np.int64)))
    else:
        atomic_write(args.out, lambda p: open(p, "w").write("".join(f"{int(c)}\n" for c in pred)))
    print(f"wrote {args.out}")
    if args.logits:
        atomic_write(args.logits, lambda p: np.save(p, logits.astype(np.float32)))
        print(f"wrote {args.logits}")
    if args.compare_f64:
        l64 = logits_of(model.double(), x.astype(np.float64), torch.float64)
        diff = int((l64.argmax(1) != pred).sum())
        rel = float(np.abs(l64 - logits).max() / np.abs(l64).max())
        print(f"float64 forward: {diff} predictions differ from float32; max |dlogits|/max|logits| {rel:.3e}")


if __name__ == "__main__":
    main()
