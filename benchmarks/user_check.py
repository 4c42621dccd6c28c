"""`flatcheck check` of a user's class, end to end, this tree against another, interleaved (issue 17).

    OMP_NUM_THREADS=1 python benchmarks/user_check.py broken_sam:ReferenceSAM --old TREE \
        [--profile quick] [--repeats 2] [--jobs 2] [--seed 0]

Runs the whole check (every claim it runs, its default 2 workers) in a child process per tree,
old and new alternately `--repeats` times, and prints per run: wall and CPU seconds (the process and
its workers), the load average beside them, each claim's time and verdict, and what the claim spent
— the optimizer steps of the user's class (rows × steps of `Chains`, the slow part: one optimizer
per chain) and of flatcheck's batched built-ins. The counts are load-independent. The verdicts and
evidence of the two trees are compared claim by claim (`evidence` identical or not).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
FIXTURES = HERE / "tests" / "fixtures"


def child(argv: list[str], counts_file: str) -> None:
    """Run `flatcheck check` here with step counters installed (inherited by the forked workers):
    every worker appends one JSON line per claim it ran to counts_file."""
    from flatcheck import cli
    from flatcheck.impl import protocol
    from flatcheck.verify import runner

    counts: Counter = Counter()
    step = protocol.Chains.step

    def counted_step(self, *args, **kwargs):
        x = step(self, *args, **kwargs)
        counts["user_steps" if self.impl.batched_step is None else "builtin_steps"] += x.shape[0]
        return x

    run_claim = runner.run_claim

    def counted_run_claim(claim, *args, **kwargs):
        counts.clear()
        try:
            return run_claim(claim, *args, **kwargs)
        finally:
            with open(counts_file, "a") as f:
                f.write(json.dumps({"claim": claim.id, **counts}) + "\n")

    protocol.Chains.step, runner.run_claim = counted_step, counted_run_claim
    try:
        cli.main(argv)
    except SystemExit:
        pass


def run(tree: Path, target: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{FIXTURES}"}
    with tempfile.TemporaryDirectory() as out:
        counts_file = str(Path(out) / "counts.jsonl")
        argv = ["check", target, "--profile", args.profile, "--jobs", str(args.jobs), "--seed", str(args.seed)]
        argv += ["--quiet", "--out", str(Path(out) / "run")]
        load = os.getloadavg()[0]
        before = os.times()
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--child", counts_file, "--", *argv]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
        wall = time.perf_counter() - t0
        after = os.times()
        try:
            results = json.loads((Path(out) / "run" / "results.json").read_text())
        except OSError as e:
            raise RuntimeError(f"{tree}: {proc.stderr[-3000:]}") from e
        spent: dict[str, Counter] = {}
        for line in Path(counts_file).read_text().splitlines():
            rec = json.loads(line)
            spent.setdefault(rec.pop("claim"), Counter()).update(rec)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    claims = {c["id"]: c for c in results["claims"]}
    return {"wall": wall, "cpu": cpu, "load": load, "claims": claims, "spent": spent}


def _evidence(run: dict, cid: str) -> str:
    return json.dumps(run["claims"][cid].get("evidence"), sort_keys=True)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # --child COUNTS_FILE -- flatcheck's arguments
        child(sys.argv[4:], sys.argv[2])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("--old", type=Path, help="another checkout (e.g. `git archive` of the commit before)")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    trees = [("old", args.old), ("new", HERE)] if args.old else [("new", HERE)]
    last: dict[str, dict] = {}
    print(f"# {args.target}, profile {args.profile}, seed {args.seed}, --jobs {args.jobs}")
    print("| run | tree | load (1 min) | wall s | CPU s | user steps | built-in steps |")
    print("|---|---|---|---|---|---|---|")
    for i in range(args.repeats):
        for name, tree in trees:
            r = last[name] = run(tree, args.target, args)
            user = sum(c["user_steps"] for c in r["spent"].values())
            built = sum(c["builtin_steps"] for c in r["spent"].values())
            cells = [i + 1, name, f"{r['load']:.1f}", f"{r['wall']:.1f}", f"{r['cpu']:.1f}", user, built]
            print("| " + " | ".join(map(str, cells)) + " |", flush=True)
    print()
    print("| claim | verdict | time s | user steps | built-in steps | evidence |")
    print("|---|---|---|---|---|---|")
    new, old = last["new"], last.get("old")
    for cid, c in sorted(new["claims"].items()):

        def cell(key: str, fmt: str, cid: str = cid) -> str:
            get = (lambda r: r["claims"][cid]["time_s"]) if key == "time" else (lambda r: r["spent"][cid][key])
            return f"{fmt.format(get(old))} → {fmt.format(get(new))}" if old else fmt.format(get(new))

        verdict = c["verdict"] if not old or old["claims"][cid]["verdict"] == c["verdict"] else "CHANGED"
        same = "—"
        if old:
            same = "identical" if _evidence(old, cid) == _evidence(new, cid) else "differs"
        steps = [cell(k, "{}") for k in ("user_steps", "builtin_steps")]
        print(f"| {cid} | {verdict} | {cell('time', '{:.1f}')} | {' | '.join(steps)} | {same} |", flush=True)


if __name__ == "__main__":
    main()
