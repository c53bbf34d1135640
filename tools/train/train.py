#!/usr/bin/python3
"""Train a small official-architecture Vim (vim_model.py) on Fashion-MNIST.

Writes models/vim-fmnist.safetensors (F32 tensors under the official state_dict names
in official order, metadata config/mean/std/class_names/cls_position/test_top1/seed)
and models/vim-fmnist.train.md (training log summary).

Usage (defaults = the committed model: patch 4, stride 4 -> 49 patches, L = 50, D 64,
depth 4, d_state 8, 8 epochs; about 50 min on the shared 2-core machine):
  /usr/bin/python3 tools/train/train.py
  /usr/bin/python3 tools/train/train.py --epochs 1 --limit 2048 --out /tmp/x.safetensors  # smoke
If the process is killed, rerunning the same command resumes from the state file written
after every epoch (<out stem>.resume.pt) and gives a bit-identical result.

Performance notes (measured on this machine, see the train.md): glibc returns large
freed blocks to the OS, so every big temporary is a fresh mmap + page faults (5-15x
slower elementwise ops); the script re-executes itself with MALLOC_* tunables that keep
the heap. OMP_WAIT_POLICY=PASSIVE avoids busy-waiting threads on the oversubscribed CPU.
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
import math  # noqa: E402
import time  # noqa: E402
from collections import OrderedDict  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fmnist  # noqa: E402
import st  # noqa: E402
import vim_model  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def evaluate(model, x, y, batch=500):
    """Return (top1, top5, predictions) of model on normalized x (N,1,H,W) float32."""
    model.eval()
    preds, c1, c5 = [], 0, 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = model(torch.from_numpy(x[i:i + batch]))
            yy = torch.from_numpy(y[i:i + batch])
            top5 = logits.topk(5, dim=1).indices
            preds.append(top5[:, 0].numpy())
            c1 += int((top5[:, 0] == yy).sum())
            c5 += int((top5 == yy[:, None]).any(1).sum())
    n = x.shape[0]
    return c1 / n, c5 / n, np.concatenate(preds)


def augment(xb, gen, shift, fill):
    """Random horizontal flip and random translation by up to `shift` pixels (zero-pixel fill)."""
    b = xb.shape[0]
    flip = torch.rand(b, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    if shift > 0:
        h, w = xb.shape[-2:]
        padded = F.pad(xb, (shift, shift, shift, shift), value=fill)
        dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        xb = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    return xb


def param_groups(model, wd):
    """AdamW groups: no weight decay on 1-D params, cls_token, pos_embed, A_log, D (official)."""
    decay, no_decay = [], []
    skip = ("cls_token", "pos_embed")
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name in skip or name.endswith(("A_log", "A_b_log")):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=fmnist.DEFAULT_DIR)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "vim-fmnist.safetensors"))
    ap.add_argument("--log-md", default=None, help="summary path (default: <out stem>.train.md)")
    ap.add_argument("--patch", type=int, default=4)
    ap.add_argument("--stride", type=int, default=4)
    ap.add_argument("--embed-dim", type=int, default=64)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--d-state", type=int, default=8)
    ap.add_argument("--d-conv", type=int, default=4)
    ap.add_argument("--expand", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0, help="max grad norm (0 = off)")
    ap.add_argument("--shift", type=int, default=1, help="random translation, pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1 measured faster than 2 on the shared, oversubscribed CPU)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke tests)")
    ap.add_argument("--eval-every", type=int, default=1, help="evaluate on the test set every N epochs")
    ap.add_argument("--state", default=None,
                    help="resume file written after every epoch (default: <out stem>.resume.pt); "
                         "a rerun with the same arguments continues from it, bit-identically")
    args = ap.parse_args()
    state_path = args.state or os.path.splitext(args.out)[0] + ".resume.pt"
    # Arguments that must match for a resume (paths and the resume file itself may differ).
    run_key = {k: v for k, v in vars(args).items() if k not in ("out", "log_md", "state", "data")}

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)

    t_load = time.time()
    xtr_u8, ytr = fmnist.load_split("train", args.data)
    xte_u8, yte = fmnist.load_split("t10k", args.data)
    pix = xtr_u8.astype(np.float64) / 255.0
    mean, std = float(pix.mean()), float(pix.std())
    del pix
    xtr = fmnist.normalize(xtr_u8, mean, std)
    xte = fmnist.normalize(xte_u8, mean, std)
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]
    fill = float((0.0 - mean) / std)
    print(f"data: train {xtr.shape} test {xte.shape} mean {mean:.6f} std {std:.6f} "
          f"({time.time() - t_load:.1f}s)", flush=True)

    h, w = xtr.shape[-2:]
    model = vim_model.VisionMamba(img_size=(h, w), patch_size=args.patch, stride=args.stride,
                                  embed_dim=args.embed_dim, depth=args.depth, d_state=args.d_state,
                                  d_conv=args.d_conv, expand=args.expand, channels=1,
                                  num_classes=len(fmnist.CLASS_NAMES))
    nparams = sum(p.numel() for p in model.parameters())
    cfg = model.config
    print(f"model: {json.dumps(cfg)} params {nparams} L {model.num_patches + 1} cls {model.cls_position}",
          flush=True)

    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.999))
    n = xtr.shape[0]
    steps_per_epoch = n // args.batch                     # drop the last partial batch
    total = steps_per_epoch * args.epochs

    def lr_at(step):
        if step < args.warmup_steps:
            return args.lr * (step + 1) / args.warmup_steps
        p = (step - args.warmup_steps) / max(1, total - args.warmup_steps)
        return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * p))

    history = []
    step, start_epoch, prev_seconds = 0, 0, 0.0
    if os.path.exists(state_path):
        ck = torch.load(state_path, map_location="cpu")
        if ck.get("run_key") != run_key:
            raise SystemExit(f"{state_path}: resume file is for other arguments {ck.get('run_key')}; "
                             "delete it or pass --state")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["torch_rng"])
        step, start_epoch, prev_seconds = ck["step"], ck["epoch"], ck["seconds"]
        history = ck["history"]
        print(f"resumed from {state_path} after epoch {start_epoch} (step {step})", flush=True)
    t0 = time.time() - prev_seconds
    for epoch in range(start_epoch, args.epochs):
        model.train()
        te = time.time()
        perm = torch.randperm(n, generator=gen)
        loss_sum, correct, seen = 0.0, 0, 0
        for it in range(steps_per_epoch):
            idx = perm[it * args.batch:(it + 1) * args.batch]
            xb = augment(torch.from_numpy(xtr[idx.numpy()]), gen, args.shift, fill)
            yb = torch.from_numpy(ytr[idx.numpy()])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            step += 1
            loss_sum += float(loss) * yb.shape[0]
            correct += int((logits.argmax(1) == yb).sum())
            seen += yb.shape[0]
            if it % 50 == 0:
                el = time.time() - t0
                print(f"  epoch {epoch + 1} it {it}/{steps_per_epoch} loss {float(loss):.4f} "
                      f"lr {lr_at(step - 1):.2e} elapsed {el / 60:.1f} min", flush=True)
        rec = OrderedDict(epoch=epoch + 1, train_loss=loss_sum / seen, train_acc=correct / seen,
                          epoch_seconds=time.time() - te)
        if (epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs:
            t1, t5, _ = evaluate(model, xte, yte)
            rec["test_top1"], rec["test_top5"] = t1, t5
        rec["elapsed_min"] = (time.time() - t0) / 60
        history.append(rec)
        print("epoch " + json.dumps(rec), flush=True)
        tmp_state = state_path + ".tmp"
        torch.save({"run_key": run_key, "model": model.state_dict(), "opt": opt.state_dict(),
                    "gen": gen.get_state(), "torch_rng": torch.get_rng_state(), "step": step,
                    "epoch": epoch + 1, "seconds": time.time() - t0, "history": history}, tmp_state)
        os.replace(tmp_state, state_path)
    train_min = (time.time() - t0) / 60

    top1, top5, preds = evaluate(model, xte, yte)
    print(f"final test top1 {top1:.4f} top5 {top5:.4f} (training {train_min:.1f} min)", flush=True)

    sd = model.state_dict()
    tensors = OrderedDict((k, v.detach().to(torch.float32).contiguous().numpy()) for k, v in sd.items())
    meta = OrderedDict(
        format="pt",
        config=json.dumps(cfg),
        mean=json.dumps([mean]),
        std=json.dumps([std]),
        class_names=json.dumps(fmnist.CLASS_NAMES),
        cls_position=str(model.cls_position),
        test_top1=f"{top1:.4f}",
        test_top5=f"{top5:.4f}",
        seed=str(args.seed),
        dataset="fashion-mnist",
        preprocessing="pixel/255, then (x-mean)/std; 28x28, 1 channel, no resize",
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    st.save(args.out, tensors, meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", flush=True)

    md = args.log_md or os.path.splitext(args.out)[0] + ".train.md"
    lines = [
        "# vim-fmnist training summary",
        "",
        "Produced by `tools/train/train.py` (PyTorch %s, %d thread(s)); command:" % (torch.__version__, args.threads),
        "",
        "    /usr/bin/python3 tools/train/train.py " + " ".join(sys.argv[1:]),
        "",
        "## Model",
        "",
        "Official Vim architecture (bimamba v2, middle cls token, abs pos embed, RMSNorm, div2),",
        "implementation `tools/train/vim_model.py`, checked against the vim-toy fixture by",
        "`tools/train/check_fixture.py`.",
        "",
        "- config: `%s`" % json.dumps(cfg),
        "- tokens L = %d (cls at %d), parameters %d" % (model.num_patches + 1, model.cls_position, nparams),
        "- preprocessing: pixel/255, (x - %.6f) / %.6f (mean/std of the training set)" % (mean, std),
        "",
        "## Training",
        "",
        "- data: Fashion-MNIST train %d images, test %d images" % (xtr.shape[0], xte.shape[0]),
        "- AdamW lr %g (warmup %d steps, cosine to %g), weight decay %g (not on 1-D params, "
        "cls_token, pos_embed, A_log), betas (0.9, 0.999), batch %d, grad clip %g, label smoothing %g"
        % (args.lr, args.warmup_steps, args.min_lr, args.wd, args.batch, args.clip, args.label_smoothing),
        "- augmentation: random horizontal flip, random translation up to %d px" % args.shift,
        "- seed %d, epochs %d (%d steps), training time %.1f min (sum of epoch wall times incl. per-epoch test evaluation)" % (args.seed, args.epochs, total, train_min),
        "",
        "| epoch | train loss | train acc | test top-1 | test top-5 | epoch s | elapsed min |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in history:
        lines.append("| %d | %.4f | %.4f | %s | %s | %.0f | %.1f |" % (
            r["epoch"], r["train_loss"], r["train_acc"],
            "%.4f" % r["test_top1"] if "test_top1" in r else "-",
            "%.4f" % r["test_top5"] if "test_top5" in r else "-",
            r["epoch_seconds"], r["elapsed_min"]))
    lines += ["", "## Result", "",
              "- final test top-1 **%.4f**, top-5 %.4f (float32, 10,000 test images)" % (top1, top5),
              "- checkpoint `%s`" % os.path.relpath(args.out, REPO), ""]
    tmp = md + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines))
    os.replace(tmp, md)
    print(f"wrote {md}", flush=True)
    os.unlink(state_path)


if __name__ == "__main__":
    main()
