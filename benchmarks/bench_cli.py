"""Wall time of the commands about spaces (`ofa list`, `ofa info`, `ofa arch`), two source trees
side by side, interleaved:

    git archive BASE src | tar -x -C /tmp/base
    python benchmarks/bench_cli.py --before /tmp/base/src [--repeats 3]

Each command runs in a fresh interpreter (what a user waits for), the trees alternating; medians
and the before/after ratio go to benchmarks/results/cli.json with the load average (a shared
2-core machine: absolute times are inflated by other jobs, the ratio is the figure).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from onceforall.atomic_files import atomic_write_json

COMMANDS = (
    ("list",),
    ("info", "ofa_mbv3_w12"),
    ("info", "ofa_resnet50"),
    ("arch", "sample", "ofa_mbv3_w12", "-n", "5"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="the older tree's src/")
    parser.add_argument("--after", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cli.json"))
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    result: dict[str, object] = {
        "command": "python " + " ".join(sys.argv),
        "load_average_at_start": os.getloadavg(),
    }
    commands = {}
    for command in COMMANDS:
        seconds: dict[str, list[float]] = {label: [] for label in trees}
        for _ in range(args.repeats):
            for label, source in trees.items():
                env = dict(os.environ, PYTHONPATH=str(source))
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "onceforall.cli.main", *command],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                seconds[label].append(time.perf_counter() - start)
        median = {label: statistics.median(values) for label, values in seconds.items()}
        commands[" ".join(command)] = {
            "seconds_median": median,
            "seconds": seconds,
            "before_over_after": median["before"] / median["after"],
        }
        print(command, median, flush=True)
    result["commands"] = commands
    result["load_average_at_end"] = os.getloadavg()
    atomic_write_json(args.out, result)


if __name__ == "__main__":
    main()
