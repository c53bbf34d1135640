#!/usr/bin/python3
"""Check vim_model.VisionMamba against the float64 vim-toy fixture.

Loads toy_pert.weights.safetensors into the model (names and order must match the
official state_dict exactly), runs the fixture input in float64 and compares the logits
and every recorded intermediate with toy_pert.io.safetensors: each must be within
1e-4 * max|ref| (the fixture README's acceptance bound). Also runs the float32 forward
against `logits_f32`. Exit status 1 on any failure.

Usage: /usr/bin/python3 tools/train/check_fixture.py [--dir /work/shared/fixtures/vim-toy]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402
import vim_model  # noqa: E402

TOL = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/work/shared/fixtures/vim-toy")
    args = ap.parse_args()
    weights, wmeta = st.load(os.path.join(args.dir, "toy_pert.weights.safetensors"))
    io, _ = st.load(os.path.join(args.dir, "toy_pert.io.safetensors"))
    cfg = json.loads(wmeta["config"])
    torch.manual_seed(0)
    model = vim_model.from_config(cfg)
    sd = model.state_dict()
    ok = True
    if list(sd.keys()) != list(weights.keys()):
        print("FAIL state_dict key order differs from the fixture")
        for a, b in zip(sd.keys(), weights.keys()):
            if a != b:
                print(f"  first mismatch: model {a} vs fixture {b}")
                break
        ok = False
    for k, v in weights.items():
        if tuple(sd[k].shape) != v.shape:
            print(f"FAIL shape {k}: model {tuple(sd[k].shape)} fixture {v.shape}")
            ok = False
    if int(wmeta.get("cls_position", model.cls_position)) != model.cls_position:
        print(f"FAIL cls_position {model.cls_position} vs {wmeta['cls_position']}")
        ok = False
    if not ok:
        return 1
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.eval()

    x = torch.from_numpy(io["input"])
    worst = 0.0
    with torch.no_grad():
        m64 = model.double()
        trace = {}
        logits = m64(x.double(), trace)
        trace["logits"] = logits
        names = [k for k in io if k not in ("input", "logits_f32")]
        for name in names:
            ref = io[name].astype(np.float64)
            if name not in trace:
                print(f"FAIL missing intermediate {name}")
                ok = False
                continue
            got = trace[name].numpy()
            if got.shape != ref.shape:
                print(f"FAIL {name}: shape {got.shape} vs {ref.shape}")
                ok = False
                continue
            rel = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-300))
            worst = max(worst, rel)
            flag = "ok  " if rel <= TOL else "FAIL"
            ok &= rel <= TOL
            if name in ("logits", "features", "final_norm", "tokens", "patch_embed") or rel > TOL:
                print(f"{flag} {name:32s} max rel err {rel:.3e}")
        print(f"checked {len(names)} tensors (logits + intermediates) in float64: worst max rel err {worst:.3e} (tol {TOL:g})")
        m32 = model.float()
        l32 = m32(x.float()).numpy()
        ref = io["logits_f32"].astype(np.float64)
        rel32 = float(np.abs(l32 - ref).max() / np.abs(ref).max())
        rel32_64 = float(np.abs(l32 - io["logits"]).max() / np.abs(io["logits"]).max())
        print(f"float32 forward: vs logits_f32 {rel32:.3e}, vs float64 logits {rel32_64:.3e}")
        ok &= rel32 <= TOL and rel32_64 <= TOL
    # The fast scan (hand-written backward) against the obvious autograd reference, float64.
    g = torch.Generator().manual_seed(0)
    b, e, n, l = 2, 6, 4, 9
    args_ = [torch.randn(b, e, l, generator=g, dtype=torch.float64),
             torch.rand(b, e, l, generator=g, dtype=torch.float64) + 0.05,
             -torch.rand(e, n, generator=g, dtype=torch.float64) * 4 - 0.1,
             torch.randn(b, n, l, generator=g, dtype=torch.float64),
             torch.randn(b, n, l, generator=g, dtype=torch.float64),
             torch.randn(e, generator=g, dtype=torch.float64)]
    gout = torch.randn(b, e, l, generator=g, dtype=torch.float64)
    res = []
    for fn in (vim_model.selective_scan, vim_model.selective_scan_ref):
        a = [t.clone().requires_grad_() for t in args_]
        y = fn(*a)
        grads = torch.autograd.grad(y, a, gout)
        res.append([y] + list(grads))
    names = ["y", "du", "ddelta", "dA", "dB", "dC", "dD"]
    errs = {nm: float((p - q).abs().max() / q.abs().max()) for nm, p, q in zip(names, res[0], res[1])}
    scan_err = max(errs.values())
    print("fast scan vs reference scan (float64 forward + gradients): worst max rel err %.3e" % scan_err)
    ok &= scan_err <= 1e-10
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
