"""Wall time and peak memory of `flatcheck verify` over the catalog, with every claim's time.

    python benchmarks/catalog.py [--profile quick|default] [IDS …] [--device cpu|cuda] [--jobs N]

Runs the CLI in a child process exactly as a user would (`flatcheck verify --profile P --out DIR
--quiet`), measures its wall time and peak resident memory (getrusage of the child), reads the
per-claim times from DIR/results.json and prints them slowest first, marking each claim over its
per-claim budget (DESIGN: quick ≤ 1.5 s; default ≤ 6 s, ≤ 30 s for dynamics and reproductions)
and the run against the catalog targets (quick ≤ 60 s, default ≤ 5 min). --profile-python adds a
cProfile of the run (the top functions by cumulative time) to find common hot spots.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

CATALOG_TARGET_S = {"quick": 60.0, "default": 300.0, "thorough": float("inf")}
HEAVY_KINDS = ("dynamics", "reproduction", "rate")


def claim_budget(profile: str, kind: str) -> float:
    if profile == "quick":
        return 1.5
    if profile == "default":
        return 30.0 if kind in HEAVY_KINDS else 6.0
    return float("inf")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--profile", default="quick", choices=list(CATALOG_TARGET_S))
    ap.add_argument("--out", default="/tmp/flatcheck-bench")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=None, help="passed to verify (default: every core)")
    ap.add_argument("--profile-python", action="store_true", help="cProfile the run; print the top 25 functions")
    args = ap.parse_args()

    cli = ["verify", *args.ids, "--profile", args.profile, "--out", args.out, "--quiet", "--device", args.device]
    if args.jobs:
        cli += ["--jobs", str(args.jobs)]
    runner = ["-m", "flatcheck.cli"]
    if args.profile_python:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        runner = ["-m", "cProfile", "-o", str(Path(args.out) / "cprofile.out"), find_spec("flatcheck.cli").origin]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *runner, *cli], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    results = Path(args.out) / "results.json"
    if not results.exists():
        print(proc.stdout, proc.stderr, sep="\n")
        return 2
    doc = json.loads(results.read_text())
    claims = sorted(doc["claims"], key=lambda r: -r["time_s"])
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    jobs = doc["provenance"].get("jobs")
    print(f"# flatcheck verify --profile {args.profile}: {len(claims)} claims, {jobs} jobs, OMP_NUM_THREADS={threads}")
    print(f"wall {wall:.1f} s (target ≤ {CATALOG_TARGET_S[args.profile]:.0f} s), peak memory {peak_mib:.0f} MiB")
    print(f"summary {doc['summary']}")
    print(f"\n{'claim':<34}{'kind':<22}{'verdict':<13}{'time s':>8}  instances")
    for r in claims:
        over = " OVER" if r["time_s"] > claim_budget(args.profile, r["kind"]) else ""
        print(f"{r['id']:<34}{r['kind']:<22}{r['verdict']:<13}{r['time_s']:8.2f}  {r['examples']}{over}")
    total = sum(r["time_s"] for r in claims)
    cpu = doc["provenance"].get("cpu_time_s", 0.0)
    print(f"\nsum of claim times {total:.1f} s (over {jobs} processes); CPU time {cpu:.1f} s")
    if args.profile_python:
        import pstats

        pstats.Stats(str(Path(args.out) / "cprofile.out")).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
