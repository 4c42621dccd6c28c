"""Draws and time per claim, stopped sequentially or at a fixed budget (issue 17, item 1).

    OMP_NUM_THREADS=1 python benchmarks/sequential.py TARGET ID… [--old TREE] [--profile quick]

Runs `flatcheck check TARGET --claims ID` (or `flatcheck verify ID` when TARGET is `builtin`) once
per claim in a child process for this tree and, with --old, for another checkout (e.g. `git archive`
of the commit before), interleaved claim by claim so both see the same load. The child counts what
the Monte Carlo costs, whatever code it runs: the chains started (draws: rows of `Chains`) and
the optimizer steps taken (rows × steps), and reads the verdict from results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
FIXTURES = HERE / "tests" / "fixtures"


def child(target: str, claim: str, profile: str, out: str) -> None:
    """Run one claim in this process with the counters installed; print one JSON line."""
    from flatcheck import cli
    from flatcheck.impl import protocol

    counts = {"draws": 0, "steps": 0}
    init, step = protocol.Chains.__init__, protocol.Chains.step

    def counted_init(self, impl, problem, x, *args, **kwargs):
        counts["draws"] += x.shape[0]
        return init(self, impl, problem, x, *args, **kwargs)

    def counted_step(self, *args, **kwargs):
        x = step(self, *args, **kwargs)
        counts["steps"] += x.shape[0]
        return x

    protocol.Chains.__init__, protocol.Chains.step = counted_init, counted_step
    argv = ["verify", claim] if target == "builtin" else ["check", target, "--claims", claim]
    argv += ["--profile", profile, "--jobs", "1", "--quiet", "--out", out]
    t0 = time.perf_counter()
    try:
        cli.main(argv)
    except SystemExit:
        pass
    wall = time.perf_counter() - t0
    record = next(c for c in json.loads((Path(out) / "results.json").read_text())["claims"] if c["id"] == claim)
    print(json.dumps({**counts, "wall_s": wall, "claim_s": record["time_s"], "verdict": record["verdict"]}))


def run(tree: Path, target: str, claim: str, profile: str) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{FIXTURES}"}
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, __file__, "--child", target, claim, "--profile", profile, "--out", out]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=FIXTURES)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"{claim} on {tree}: {proc.stderr[-2000:]}")
    return json.loads(lines[-1])


def cell(old: dict | None, new: dict, key: str, fmt: str) -> str:
    return f"{fmt.format(old[key])} → {fmt.format(new[key])}" if old else fmt.format(new[key])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("ids", nargs="+")
    ap.add_argument("--old", type=Path, help="another checkout to compare with (run interleaved)")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.target, args.ids[0], args.profile, args.out)
        return
    print(f"# {args.target}, profile {args.profile}, load {os.getloadavg()[0]:.1f}")
    print("| claim | draws (old → new) | steps (old → new) | time s (old → new) | verdict |")
    print("|---|---|---|---|---|")
    for claim in args.ids:
        new = run(HERE, args.target, claim, args.profile)
        old = run(args.old, args.target, claim, args.profile) if args.old else None

        cells = [cell(old, new, key, fmt) for key, fmt in (("draws", "{}"), ("steps", "{}"), ("claim_s", "{:.1f}"))]
        same = not old or old["verdict"] == new["verdict"]
        verdict = new["verdict"] if same else f"{old['verdict']} → {new['verdict']}"
        print(f"| {claim} | {' | '.join(cells)} | {verdict} |", flush=True)


if __name__ == "__main__":
    main()
