"""`ofa demo` from scratch, timed: the figures README's demo table shows.

    python benchmarks/bench_demo.py [--out runs/demo-bench]

Deletes --out, runs `ofa demo --out OUT` in a fresh process (wall time includes start-up), then
copies OUT/summary.json (plus the wall time) to benchmarks/results/demo.json and OUT/pareto.png
to benchmarks/results/demo_pareto.png. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from onceforall.atomic_files import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "onceforall", "demo", "--out", str(args.out)], check=True)
    wall = time.perf_counter() - start
    summary = json.loads((args.out / "summary.json").read_text())
    summary["command"] = "python benchmarks/bench_demo.py  (runs: ofa demo --out OUT)"
    summary["wall_seconds"] = round(wall, 1)
    results = ROOT / "benchmarks" / "results"
    atomic_write_json(results / "demo.json", summary)
    shutil.copyfile(args.out / "pareto.png", results / "demo_pareto.png")
    print(f"wall time {wall:.0f} s")


if __name__ == "__main__":
    main()
