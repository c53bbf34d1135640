#!/usr/bin/python3
"""Convert the vim-toy fixture weights (safetensors) into PyTorch .pth test files.

Writes, in the official state_dict order (vim-forward.md §4), all float32:
  <out>            torch.save({"model": state_dict})   (training-checkpoint layout of main.py)
  <out_bare>       torch.save(state_dict)              (bare state_dict)

Usage: /usr/bin/python3 tools/mkpth/make_pth.py [--weights W] [--out P] [--out-bare P]
"""
import argparse
import os
import sys
import tempfile
from collections import OrderedDict

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import st  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def atomic_save(obj, path):
    """torch.save to a temp file with the same basename (torch names the zip's root folder
    after the file stem, so this keeps the output byte-identical), then rename."""
    d = os.path.dirname(os.path.abspath(path))
    tmpdir = tempfile.mkdtemp(dir=d, prefix=".tmp-")
    tmp = os.path.join(tmpdir, os.path.basename(path))
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        os.rmdir(tmpdir)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="/work/shared/fixtures/vim-toy/toy_pert.weights.safetensors")
    ap.add_argument("--out", default=os.path.join(REPO, "vim", "testdata", "toy_pert.pth"))
    ap.add_argument("--out-bare", default=os.path.join(REPO, "vim", "testdata", "toy_pert_bare.pth"))
    args = ap.parse_args()
    tensors, _ = st.load(args.weights)
    sd = OrderedDict((k, torch.from_numpy(v.astype("float32"))) for k, v in tensors.items())
    atomic_save({"model": sd}, args.out)
    atomic_save(sd, args.out_bare)
    for p in (args.out, args.out_bare):
        back = torch.load(p, map_location="cpu")
        back = back["model"] if "model" in back else back
        assert list(back.keys()) == list(sd.keys()), p
        assert all(torch.equal(back[k], sd[k]) for k in sd), p
        print(f"{p}: {os.path.getsize(p)} bytes, {len(sd)} tensors")


if __name__ == "__main__":
    main()
