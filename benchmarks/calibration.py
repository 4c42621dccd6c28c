"""Calibration: how often the whole catalog's verdict differs from each claim's expected one, over
many run seeds, on the built-in implementations (issue 15 item 9).

    python benchmarks/calibration.py --seeds 50 [--profile quick] [--jobs 2] [--out /tmp/calibration]

Runs `flatcheck verify --profile P --seed s` for s = 0 … N−1 (a seed whose results.json is already
in --out is read, not rerun, so an interrupted campaign resumes), then prints one Markdown row per
claim: its expected verdict and how many seeds gave each verdict. A claim expected `verified` that
comes out `falsified` on some seed is a false alarm; the catalog states at most 1e-3 of them per
run (all claims together), so over N seeds more than a handful is a failure of the statistics, and
an expected erratum that is not `falsified` on some seed is a loss of power.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

VERDICTS = ("verified", "falsified", "inconclusive", "error")


def run_seed(seed: int, profile: str, jobs: int, out: Path) -> dict:
    target = out / f"seed{seed}"
    done = target / "results.json"
    if not done.exists():
        cmd = [sys.executable, "-m", "flatcheck.cli", "verify", "--profile", profile, "--seed", str(seed)]
        cmd += ["--jobs", str(jobs), "--out", str(target), "--quiet"]
        # Exit 1 only says a verdict differs from its expectation: that is what is being counted.
        code = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
        if code not in (0, 1):
            raise SystemExit(f"seed {seed}: flatcheck verify exited {code}")
    return json.loads(done.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/flatcheck-calibration"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    tally: dict[str, Counter] = {}
    expected: dict[str, str] = {}
    for seed in range(args.seeds):
        doc = run_seed(seed, args.profile, args.jobs, args.out)
        for rec in doc["claims"]:
            tally.setdefault(rec["id"], Counter())[rec["verdict"]] += 1
            expected[rec["id"]] = (rec.get("expected") or {}).get("verdict", "verified")
        print(f"seed {seed} done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    n = args.seeds
    differ = {c: n - t[expected[c]] for c, t in tally.items()}
    false_alarms = sum(t["falsified"] for c, t in tally.items() if expected[c] != "falsified")
    missed = sum(n - t["falsified"] for c, t in tally.items() if expected[c] == "falsified")
    print(f"{len(tally)} claims × {n} seeds, profile {args.profile}, {time.perf_counter() - t0:.0f} s")
    print(f"false `falsified` verdicts: {false_alarms} in {n} catalog runs (stated budget: ≤ 1e-3 per run)")
    print(f"expected errata not found: {missed} of {n * sum(e == 'falsified' for e in expected.values())}")
    print()
    print("| claim | expected | " + " | ".join(VERDICTS) + " | differs |")
    print("|---|---|" + "---|" * (len(VERDICTS) + 1))
    for c in sorted(tally, key=lambda c: (-differ[c], c)):
        cells = " | ".join(str(tally[c][v]) for v in VERDICTS)
        print(f"| {c} | {expected[c]} | {cells} | {differ[c]} |")


if __name__ == "__main__":
    main()
