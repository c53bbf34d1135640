#!/usr/bin/python3
"""Drive SCALE-Sim v2 (USER bandwidth mode) and record what it reports.

This script contains no SCALE-Sim code: it writes a .cfg and a one-row GEMM
topology per case, runs SCALE-Sim's library exactly as `scalesim/scale.py -i
gemm` does, and copies the numbers of its three report files into a record.
Records use the layout of ../shared/fixtures/scalesim-user-bw/records.json,
plus `scalesim_seconds` and `scalesim_cpu_seconds` (SCALE-Sim's wall and
CPU time for the run).

Usage (the checkout path is SCALE-Sim's repository root, commit 22f88b17):

  make_records.py run  SCALESIM_DIR --random N --seed S --out records.jsonl
  make_records.py run  SCALESIM_DIR --conv N --seed S --out records.jsonl
  make_records.py run  SCALESIM_DIR --cases cases.json --out records.jsonl
  make_records.py json records.jsonl --out records.json
  make_records.py reports SCALESIM_DIR CFG TOPOLOGY [--gemm] --out DIR

`run` appends one JSON line per finished case and skips ids already in the
output, so an interrupted run resumes; each case runs in a child process,
and one that SCALE-Sim does not finish within --timeout seconds is listed
in OUT.timeouts instead. `json` turns the lines into the
fixture's JSON layout (sorted by id). `reports` runs SCALE-Sim on a
user-supplied config and topology and copies its report CSVs to DIR (golden
files for the report writers' tests).

Python: /usr/bin/python3 with Debian's python3-numpy, python3-pandas and
python3-tqdm; SCALE-Sim is imported from SCALESIM_DIR (no installation).
"""

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

CFG_TEMPLATE = """[general]
run_name = {run_name}

[architecture_presets]
ArrayHeight:    {R}
ArrayWidth:     {C}
IfmapSramSzkB:   {ikb}
FilterSramSzkB:  {fkb}
OfmapSramSzkB:   {okb}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : {bw}
Dataflow : {df}
MemoryBanks:   1

[run_presets]
InterfaceBandwidth: USER
"""


def import_scalesim(root):
    sys.path.insert(0, os.path.abspath(root))
    from scalesim.scale_sim import scalesim  # noqa: E402  (path set above)
    return scalesim


def read_report(path):
    """Returns the data rows of a SCALE-Sim report as lists of strings."""
    rows = []
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines[1:]:
        if line.strip() == "":
            continue
        fields = [x.strip() for x in line.split(",")]
        if fields and fields[-1] == "":
            fields = fields[:-1]
        rows.append(fields)
    return rows


def run_case(scalesim, case, workdir):
    """Runs one case through SCALE-Sim and returns its record."""
    cfg = os.path.join(workdir, "case.cfg")
    topo = os.path.join(workdir, "case.csv")
    with open(cfg, "w") as f:
        f.write(CFG_TEMPLATE.format(run_name="rec", R=case["R"], C=case["C"],
                                    ikb=case["sram_kb"]["ifmap"],
                                    fkb=case["sram_kb"]["filter"],
                                    okb=case["sram_kb"]["ofmap"],
                                    bw=case["bandwidth_words_per_cycle"],
                                    df=case["dataflow"]))
    conv = case.get("conv")
    with open(topo, "w") as f:
        if conv:
            f.write("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                    "Channels, Num Filter, Stride Height, Stride Width,\n")
            f.write("{}, {}, {}, {}, {}, {}, {}, {}, {},\n".format(
                case["shape"], conv["IfmapH"], conv["IfmapW"], conv["FilterH"], conv["FilterW"],
                conv["Channels"], conv["Filters"], conv["StrideH"], conv["StrideW"]))
        else:
            f.write("Layer, M, N, K,\n")
            f.write("{}, {}, {}, {},\n".format(case["shape"], case["M"], case["N"], case["K"]))
    out = os.path.join(workdir, "out")
    shutil.rmtree(out, ignore_errors=True)
    t0, c0 = time.time(), time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        s = scalesim(save_disk_space=True, verbose=False, config=cfg,
                     topology=topo, input_type_gemm=not conv)
        s.run_scale(top_path=out)
    seconds, cpu = time.time() - t0, time.process_time() - c0
    rep = os.path.join(out, "rec")
    comp = read_report(os.path.join(rep, "COMPUTE_REPORT.csv"))[0]
    bw = read_report(os.path.join(rep, "BANDWIDTH_REPORT.csv"))[0]
    det = read_report(os.path.join(rep, "DETAILED_ACCESS_REPORT.csv"))[0]
    total, stall = int(comp[1]), int(comp[2])
    rec = dict(case)
    rec.update({
        "word_bytes": 1,
        "total_cycles": total,
        "stall_cycles": stall,
        "stall_free_cycles": total - stall,
        "overall_util_pct": float(comp[3]),
        "mapping_eff_pct": float(comp[4]),
        "compute_util_pct": float(comp[5]),
        "sram_reads": {"ifmap": int(det[3]), "filter": int(det[6])},
        "sram_writes": {"ofmap": int(det[9])},
        "dram_reads": {"ifmap": int(det[12]), "filter": int(det[15])},
        "dram_writes": {"ofmap": int(det[18])},
        "sram_cycles": {"ifmap": [float(det[1]), float(det[2])],
                        "filter": [float(det[4]), float(det[5])],
                        "ofmap": [float(det[7]), float(det[8])]},
        "dram_cycles": {"ifmap": [float(det[10]), float(det[11])],
                        "filter": [float(det[13]), float(det[14])],
                        "ofmap": [float(det[16]), float(det[17])]},
        "avg_bw_words_per_cycle": {
            "sram_ifmap": float(bw[1]), "sram_filter": float(bw[2]),
            "sram_ofmap": float(bw[3]), "dram_ifmap": float(bw[4]),
            "dram_filter": float(bw[5]), "dram_ofmap": float(bw[6])},
        "scalesim_seconds": round(seconds, 3),
        "scalesim_cpu_seconds": round(cpu, 3),
    })
    return rec


def case_id(c):
    return "{}_{}x{}_{}_i{}f{}o{}_bw{}".format(
        c["shape"], c["R"], c["C"], c["dataflow"], c["sram_kb"]["ifmap"],
        c["sram_kb"]["filter"], c["sram_kb"]["ofmap"], c["bandwidth_words_per_cycle"])


def make_case(shape, M, K, N, R, C, df, kb, bw, conv=None):
    c = {"shape": shape, "M": M, "K": K, "N": N, "array": "{}x{}".format(R, C),
         "R": R, "C": C, "dataflow": df,
         "sram_kb": {"ifmap": kb[0], "filter": kb[1], "ofmap": kb[2]},
         "bandwidth_words_per_cycle": bw}
    if conv:
        c["conv"] = conv
    c = {"id": case_id(c), **c}
    return c


def conv_gemm(conv):
    """The GEMM SCALE-Sim lowers a convolution to: M ofmap pixels, K window words, N filters."""
    oh = -(-(conv["IfmapH"] - conv["FilterH"] + conv["StrideH"]) // conv["StrideH"])
    ow = -(-(conv["IfmapW"] - conv["FilterW"] + conv["StrideW"]) // conv["StrideW"])
    return oh * ow, conv["FilterH"] * conv["FilterW"] * conv["Channels"], conv["Filters"]


def random_conv_cases(n, seed, max_lines, max_reads):
    """n random convolutions: overlapping windows, strides that overrun the edge, 1x1."""
    rng = random.Random(seed)
    arrays = [(2, 3), (4, 4), (8, 8), (8, 32), (32, 8), (16, 16), (5, 7), (3, 48)]
    kbs = [1, 2, 4, 8, 16, 64, 256]
    bws = [1, 2, 3, 4, 7, 10, 16, 25, 32, 64, 100, 128]
    out = []
    seen = set()
    while len(out) < n:
        R, C = rng.choice(arrays)
        df = rng.choice(["os", "ws", "is"])
        H, W = rng.randint(1, 24), rng.randint(1, 24)
        FH, FW = rng.randint(1, min(H, 5)), rng.randint(1, min(W, 5))
        conv = {"IfmapH": H, "IfmapW": W, "FilterH": FH, "FilterW": FW,
                "Channels": rng.choice([1, 2, 3, rng.randint(1, 16)]),
                "Filters": rng.choice([1, rng.randint(1, 8), rng.randint(1, 64)]),
                "StrideH": rng.choice([1, 1, 2, 3]), "StrideW": rng.choice([1, 1, 2, 3])}
        M, K, N = conv_gemm(conv)
        kb = (rng.choice(kbs), rng.choice(kbs), rng.choice(kbs))
        bw = rng.choice(bws)
        admit(out, seen, "conv", (M, K, N, R, C, df, kb, bw), max_lines, max_reads, conv)
    return out


def admit(out, seen, prefix, case, max_lines, max_reads, conv=None):
    """Appends the case unless SCALE-Sim would take too long on it or it is a repeat."""
    M, K, N, R, C, df, kb, bw = case
    reads = M * K * -(-N // C) + K * N * -(-M // R)
    if lines_estimate(M, K, N, R, C, df) > max_lines or reads > max_reads:
        return
    c = make_case("{}{:04d}".format(prefix, len(out)), M, K, N, R, C, df, kb, bw, conv)
    if c["id"] not in seen:
        seen.add(c["id"])
        out.append(c)


def lines_estimate(M, K, N, R, C, df):
    """Demand lines (stall-free cycles) of a GEMM, a proxy for SCALE-Sim's time."""
    ceil = lambda a, b: -(-a // b)
    if df == "os":
        return ceil(M, R) * ceil(N, C) * (K + R + C - 2)
    if df == "ws":
        return ceil(K, R) * ceil(N, C) * (M + 2 * R + C - 2)
    return ceil(K, R) * ceil(M, C) * (N + 2 * R + C - 2)


def random_cases(n, seed, max_lines, max_reads):
    """n random GEMM cases: odd shapes, M=1, tiny and large SRAMs, bandwidths 1..128."""
    rng = random.Random(seed)
    arrays = [(1, 1), (2, 3), (4, 4), (8, 8), (8, 32), (32, 8), (16, 16), (12, 20),
              (32, 32), (5, 7), (64, 16), (16, 64), (3, 48)]
    kbs = [1, 2, 4, 8, 16, 32, 64, 256, 1024]
    bws = [1, 2, 3, 4, 7, 10, 16, 25, 32, 64, 100, 128]
    out = []
    seen = set()
    while len(out) < n:
        R, C = rng.choice(arrays)
        df = rng.choice(["os", "ws", "is"])
        pick = rng.random()
        dim = lambda hi: rng.choice([1, rng.randint(1, 8), rng.randint(1, hi), rng.randint(1, hi)])
        M, K, N = dim(400), dim(400), dim(400)
        if pick < 0.1:
            M = 1
        elif pick < 0.2:
            M, K, N = R * rng.randint(1, 6), R * rng.randint(1, 6), C * rng.randint(1, 6)
        if pick > 0.7:
            kb = (rng.choice(kbs[:4]), rng.choice(kbs[:4]), rng.choice(kbs[:4]))
        else:
            kb = (rng.choice(kbs), rng.choice(kbs), rng.choice(kbs))
        bw = rng.choice(bws + [rng.randint(1, 128)])
        admit(out, seen, "rnd", (M, K, N, R, C, df, kb, bw), max_lines, max_reads)
    return out


def cmd_run(args):
    if args.cases:
        with open(args.cases) as f:
            cases = json.load(f)
        cases = [make_case(c["shape"], c["M"], c["K"], c["N"], c["R"], c["C"], c["dataflow"],
                           (c["sram_kb"]["ifmap"], c["sram_kb"]["filter"], c["sram_kb"]["ofmap"]),
                           c["bandwidth_words_per_cycle"], c.get("conv")) for c in cases]
    elif args.conv:
        cases = random_conv_cases(args.conv, args.seed, args.max_lines, args.max_reads)
    else:
        cases = random_cases(args.random, args.seed, args.max_lines, args.max_reads)
    skipped_path = args.out + ".timeouts"
    done = set()
    for path in (args.out, skipped_path):
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.strip():
                        done.add(json.loads(line)["id"])
    for i, c in enumerate(cases):
        if c["id"] in done:
            continue
        # Each case runs in a child process so that a run SCALE-Sim cannot
        # finish in time (its traces grow quadratically with the number of
        # prefetches) is stopped and listed instead of blocking the rest.
        try:
            p = subprocess.run([sys.executable, os.path.abspath(__file__), "one", args.scalesim],
                               input=json.dumps(c), capture_output=True, text=True,
                               timeout=args.timeout, check=True)
        except subprocess.TimeoutExpired:
            with open(skipped_path, "a") as f:
                f.write(json.dumps({"id": c["id"], "case": c, "timeout_s": args.timeout}) + "\n")
            print("{}/{} {} timed out".format(i + 1, len(cases), c["id"]), file=sys.stderr, flush=True)
            continue
        rec = json.loads(p.stdout)
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print("{}/{} {} {:.1f}s".format(i + 1, len(cases), c["id"], rec["scalesim_seconds"]),
              file=sys.stderr, flush=True)


def cmd_one(args):
    """Runs the case read from stdin and prints its record."""
    scalesim = import_scalesim(args.scalesim)
    case = json.load(sys.stdin)
    work = tempfile.mkdtemp(prefix="scalesim-rec-")
    try:
        rec = run_case(scalesim, case, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    json.dump(rec, sys.stdout)


def cmd_json(args):
    recs = []
    with open(args.jsonl) as f:
        for line in f:
            if line.strip():
                recs.append(json.loads(line))
    recs.sort(key=lambda r: r["id"])
    doc = {
        "tool": "SCALE-Sim v2",
        "repo": "github.com/scalesim-project/scale-sim-v2",
        "commit": "22f88b17f1dd3160e18bff5df165035bf8146e83",
        "mode": "GEMM topology (name, M, N, K), [run_presets] InterfaceBandwidth: USER, one layer per run",
        "units": "words (1 word = 1 byte); cycles",
        "made_by": "tools/scalesim/make_records.py",
        "n": len(recs),
        "records": recs,
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.out)


def cmd_reports(args):
    scalesim = import_scalesim(args.scalesim)
    work = tempfile.mkdtemp(prefix="scalesim-rep-")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            s = scalesim(save_disk_space=True, verbose=False, config=args.cfg,
                         topology=args.topology, input_type_gemm=args.gemm)
            s.run_scale(top_path=work)
        (run_dir,) = [os.path.join(work, d) for d in os.listdir(work)]
        os.makedirs(args.out, exist_ok=True)
        for name in ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"):
            shutil.copy(os.path.join(run_dir, name), os.path.join(args.out, name))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("scalesim")
    r.add_argument("--cases")
    r.add_argument("--random", type=int, default=0)
    r.add_argument("--conv", type=int, default=0)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--max-lines", type=int, default=60000)
    r.add_argument("--max-reads", type=int, default=400000)
    r.add_argument("--timeout", type=float, default=300,
                   help="seconds SCALE-Sim may take for one case")
    r.add_argument("--out", required=True)
    o = sub.add_parser("one")
    o.add_argument("scalesim")
    j = sub.add_parser("json")
    j.add_argument("jsonl")
    j.add_argument("--out", required=True)
    g = sub.add_parser("reports")
    g.add_argument("scalesim")
    g.add_argument("cfg")
    g.add_argument("topology")
    g.add_argument("--gemm", action="store_true")
    g.add_argument("--out", required=True)
    args = p.parse_args()
    {"run": cmd_run, "one": cmd_one, "json": cmd_json, "reports": cmd_reports}[args.cmd](args)


if __name__ == "__main__":
    main()
