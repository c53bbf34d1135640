#!/usr/bin/python3
"""Tabulate CACTI 7 SRAM energies at 45 nm as Accelergy 0.4's CACTI plug-in
computes them, for hw/cost's SRAM fit (docs/PERFMODEL.md §5).

Usage: cacti_grid.py PLUGIN_DIR OUT.json

PLUGIN_DIR is a checkout of Accelergy-Project/accelergy-cacti-plug-in with a
built CACTI (HewlettPackard/cacti) in PLUGIN_DIR/cacti; Accelergy itself
(Accelergy-Project/accelergy) must be importable (PYTHONPATH). Every value is
the plug-in's: its CactiSRAM class is called with technology 45 nm, one
read/write port and one bank, as Accelergy calls it for a component of class
SRAM with those attributes.
"""
import json
import logging
import sys

sys.path.insert(0, sys.argv[1])
import cacti_wrapper  # noqa: E402

KIB = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
WIDTHS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
ODD = [(24, 64), (48, 64), (96, 128), (192, 64), (384, 256), (768, 64), (3, 16), (40, 32)]


def main():
    logging.basicConfig(level=logging.WARNING)
    points = [(k, w) for k in KIB for w in WIDTHS] + ODD
    out = []
    for kib, width in points:
        depth = kib * 1024 * 8 // width
        s = cacti_wrapper.CactiSRAM(technology="45nm", width=width, depth=depth)
        s.logger = logging.getLogger("cacti")
        s._interpolate_and_call_cacti()
        row = {
            "kib": kib, "width_bits": width, "depth": depth,
            "read_pj": s.read_energy * 1e12, "write_pj": s.write_energy * 1e12,
            "leak_mw": s.leak_power * 1e3, "area_um2": s.area * 1e12,
            "cycle_ns": s.random_cycle_time * 1e9,
        }
        print(json.dumps(row), flush=True)
        out.append(row)
    doc = {
        "tool": "CACTI 7 (HewlettPackard/cacti 1ffd8dfb) through Accelergy's CACTI plug-in "
                "(Accelergy-Project/accelergy-cacti-plug-in 291018b1), technology 45 nm, "
                "1 read/write port, 1 bank, cache type ram",
        "made_by": "tools/accelergy/cacti_grid.py",
        "points": out,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
