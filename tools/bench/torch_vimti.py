"""Peer timing for BenchmarkForwardVimTi: one Vim-Ti image through the PyTorch
port of the official model (tools/train/vim_model.py), float64 or float32, on
one thread. Run: /usr/bin/python3 tools/bench/torch_vimti.py [f64|f32]"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import torch  # noqa: E402
import vim_model  # noqa: E402


def main():
    prec = sys.argv[1] if len(sys.argv) > 1 else "f64"
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = {"img_size": 224, "patch_size": 16, "stride": 16, "embed_dim": 192, "depth": 24,
           "d_state": 16, "d_conv": 4, "expand": 2, "channels": 3, "num_classes": 1000}
    m = vim_model.from_config(cfg).eval()
    dtype = torch.float64 if prec == "f64" else torch.float32
    m = m.to(dtype)
    x = torch.randn(1, 3, 224, 224, dtype=dtype)
    with torch.no_grad():
        m(x)  # warm-up
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            m(x)
            times.append(time.perf_counter() - t0)
    print(f"pytorch {torch.__version__} vim-ti {prec} 1 thread: min {min(times):.3f} s, runs {[round(t, 3) for t in times]}")


if __name__ == "__main__":
    main()
