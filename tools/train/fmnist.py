"""Fashion-MNIST loading and preprocessing shared by train.py and predict.py."""
import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _open(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            return gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")
    raise FileNotFoundError(f"{path}[.gz]: no such file")


def read_idx(path):
    """Read an IDX file (gzipped or not) into a numpy array (uint8 data only)."""
    with _open(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: bad IDX magic {raw[:4].hex()}")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    n = int(np.prod(dims))
    data = raw[4 + 4 * ndim:]
    if len(data) != n:
        raise ValueError(f"{path}: {len(data)} data bytes, want {n} for shape {dims}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def load_split(split, data_dir=DEFAULT_DIR):
    """Return (images uint8 (N,28,28), labels int64 (N,)) for split "train" or "t10k"."""
    x = read_idx(os.path.join(data_dir, f"{split}-images-idx3-ubyte"))
    y = read_idx(os.path.join(data_dir, f"{split}-labels-idx1-ubyte")).astype(np.int64)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{data_dir}/{split}: {x.shape[0]} images but {y.shape[0]} labels")
    return x, y


def normalize(images_u8, mean, std):
    """pixel/255 then (x - mean)/std, float32, shape (N,1,H,W)."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(mean)) / np.float32(std)
    return x[:, None, :, :]
