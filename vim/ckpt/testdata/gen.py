#!/usr/bin/python3
"""Generates the PyTorch test checkpoints of package ckpt.

Run from anywhere with Debian's python3-torch:  /usr/bin/python3 gen.py
Writes, next to this script:

  dtypes.pth        bare OrderedDict state_dict: one tensor per storage type
                    (F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL), a scalar, an
                    empty tensor; F16/BF16 hold chosen bit patterns.
  views.pth         bare state_dict of views sharing one storage: transpose,
                    row, column, sub-block, stepped slice, an expanded
                    (stride 0) view, a view of a larger storage.
  train.pth         a training checkpoint like hustvl/Vim's: {"model": state_dict
                    of nn.Parameters, "optimizer": Adam state, "epoch",
                    "args": argparse.Namespace, "np": numpy scalar}.
  state_dict_p4.pth {"state_dict": ..., "step": ...} pickled with protocol 4
                    (frames, STACK_GLOBAL, MEMOIZE).
  legacy.pth        the pre-1.6 (non-zip) format, which must be refused.
  expected.safetensors  every tensor above as contiguous F64 computed by torch,
                    named FILE/NAME (e.g. "views.pth/t"), written by the small
                    writer below (no safetensors package needed).
"""
import argparse
import collections
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def f16_patterns():
    # Every 61st bit pattern plus the edge cases: ±0, smallest/largest
    # subnormal, smallest normal, 1, largest finite, ±inf, NaNs.
    bits = sorted(set(range(0, 65536, 61)) | {
        0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0xFBFF,
        0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFFFF})
    return torch.tensor(bits, dtype=torch.int32).to(torch.int16)


def dtypes_sd():
    g = torch.Generator().manual_seed(0)
    sd = collections.OrderedDict()
    sd["f64"] = torch.randn(2, 3, generator=g, dtype=torch.float64)
    sd["f32"] = torch.randn(3, 2, generator=g)
    sd["f16"] = f16_patterns().view(torch.float16)
    sd["bf16"] = f16_patterns().view(torch.bfloat16)
    sd["i64"] = torch.tensor([-(2**53), -1, 0, 2**53], dtype=torch.int64)
    sd["i32"] = torch.tensor([-(2**31), -1, 0, 2**31 - 1], dtype=torch.int32)
    sd["i16"] = torch.tensor([-(2**15), 7, 2**15 - 1], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def views_sd():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    big = torch.arange(100, dtype=torch.float64)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["t"] = base.t()                 # stride (1, 4)
    sd["row"] = base[1]                # offset 4
    sd["col"] = base[:, 2]             # offset 2, stride 4
    sd["sub"] = base[1:, 1:3]          # offset 5, stride (4, 1)
    sd["step"] = base[:, ::2]          # stride (4, 2)
    sd["exp"] = base[0, :1].expand(3, 2)  # stride (0, 0)
    sd["tail"] = big[90:]              # offset 90 of a 100-element storage
    sd["mid_t"] = big[10:22].reshape(3, 4).t()
    return sd


def train_ckpt():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 4)).sum().backward()
    opt.step()
    args = argparse.Namespace(model="vim_tiny", lr=5e-4, epochs=300, drop_path=0.05)
    sd = model.state_dict(keep_vars=True)  # nn.Parameters
    return {"model": sd, "optimizer": opt.state_dict(), "epoch": 299,
            "args": args, "np": np.float64(81.2)}, model.state_dict()


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors:
        b = t.detach().contiguous().to(torch.float64).numpy().astype("<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    expected = []

    def save(obj, name, sd, **kw):
        torch.save(obj, os.path.join(HERE, name), **kw)
        expected.extend((name + "/" + k, v) for k, v in sd.items())

    sd = dtypes_sd()
    save(sd, "dtypes.pth", sd)
    sd = views_sd()
    save(sd, "views.pth", sd)
    obj, sd = train_ckpt()
    save(obj, "train.pth", sd)
    sd = collections.OrderedDict((k, v * 2) for k, v in views_sd().items() if k in ("base", "t", "exp"))
    save({"state_dict": sd, "step": 7}, "state_dict_p4.pth", sd, pickle_protocol=4)
    torch.save({"w": torch.ones(2)}, os.path.join(HERE, "legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(HERE, "expected.safetensors"), expected)


if __name__ == "__main__":
    main()
