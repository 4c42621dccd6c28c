"""Wall time, peak memory and power of `flatcheck verify` over the catalog, per claim against the last run.

    python benchmarks/catalog.py [--profile quick|default] [IDS …] [--device cpu|cuda] [--jobs N]
                                 [--mutate] [--record PATH] [--no-record] [--fail-on-regression]

Runs the CLI in a child process exactly as a user would (`flatcheck verify --profile P --out DIR
--quiet`; with --mutate also `flatcheck mutate --profile P --out DIR --quiet`), measures its wall
time and peak resident memory (getrusage of the children), reads DIR/results.json (and
DIR/mutants.json when present) and prints one table, a row per claim: time now against the last
recorded run (marking claims over their per-claim budget, DESIGN: quick ≤ 1.5 s; default ≤ 6 s,
≤ 30 s for dynamics, rate and reproduction claims), verdict now against last, and power now
against last — mutants of the claim killed (of those decided), instances tried, the tightest
ratio (lhs/rhs of the instance closest to failing) and the evidence's margin. A slowdown (over
1.5× and over 0.5 s) or a loss of power (fewer mutants killed, or a verdict changed) is flagged;
--fail-on-regression makes either exit 1.

The run is then recorded in PATH (default benchmarks/catalog_last_<profile>.json, committed):
claims that ran replace their old entries, the others are kept. --profile-python adds a cProfile
of the run (the top functions by cumulative time).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

CATALOG_TARGET_S = {"quick": 60.0, "default": 300.0, "thorough": float("inf")}
HEAVY_KINDS = ("dynamics", "reproduction", "rate")
SLOWDOWN_RATIO = 1.5  # flagged only when slower by this factor …
SLOWDOWN_ABS_S = 0.5  # … and by this many seconds (sub-second claims jitter by more than 1.5× under load)
HERE = Path(__file__).resolve().parent


def claim_budget(profile: str, kind: str) -> float:
    if profile == "quick":
        return 1.5
    if profile == "default":
        return 30.0 if kind in HEAVY_KINDS else 6.0
    return float("inf")


def _margin(claim: dict[str, Any]) -> float | None:
    rec = claim.get("counterexample") if claim.get("verdict") == "falsified" else claim.get("evidence")
    m = (rec or {}).get("margin") if isinstance(rec, dict) else None
    return float(m) if isinstance(m, (int, float)) else None


def record_of(results: dict[str, Any], mutants: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """One entry per claim of a results.json (and of a mutants.json of the same run, if any)."""
    out = {}
    for c in results["claims"]:
        out[c["id"]] = {
            "kind": c["kind"],
            "time_s": round(float(c["time_s"]), 3),
            "verdict": c["verdict"],
            "instances": c.get("examples"),
            "tightness": c.get("tightness"),
            "margin": _margin(c),
        }
    for m in (mutants or {}).get("mutants", []):
        entry = out.get(m["claim"])
        if entry is None:
            continue
        entry.setdefault("mutants_killed", 0)
        entry.setdefault("mutants_decided", 0)
        entry.setdefault("mutants", 0)
        entry["mutants"] += 1
        entry["mutants_killed"] += m["status"] == "killed"
        entry["mutants_decided"] += m["status"] in ("killed", "survived")
    return out


@dataclass
class Row:
    """A claim's line of the comparison, with what it flags."""

    claim: str
    now: dict[str, Any] | None
    last: dict[str, Any] | None
    flags: list[str] = field(default_factory=list)


def compare(now: dict[str, dict[str, Any]], last: dict[str, dict[str, Any]]) -> list[Row]:
    """Every claim of `now` (slowest first) against its entry in `last`, then the claims that were
    recorded last time and are gone. Flags: 'slower' (> 1.5× and > 0.5 s), 'verdict' (changed),
    'fewer kills' (fewer mutants killed, when both runs mutated), 'gone' (claim missing now)."""
    rows = []
    for cid, n in sorted(now.items(), key=lambda kv: -kv[1]["time_s"]):
        row = Row(cid, n, last.get(cid))
        old = row.last
        if old is not None:
            if n["time_s"] > SLOWDOWN_RATIO * old["time_s"] and n["time_s"] - old["time_s"] > SLOWDOWN_ABS_S:
                row.flags.append("slower")
            if n["verdict"] != old["verdict"]:
                row.flags.append("verdict")
            if "mutants_killed" in n and "mutants_killed" in old and n["mutants_killed"] < old["mutants_killed"]:
                row.flags.append("fewer kills")
        rows.append(row)
    rows += [Row(cid, None, old, ["gone"]) for cid, old in last.items() if cid not in now]
    return rows


def _fmt(x: Any, spec: str = "") -> str:
    if x is None:
        return "–"
    return format(x, spec) if spec else str(x)


def _kills(e: dict[str, Any] | None) -> str:
    if e is None or "mutants_killed" not in e:
        return "–"
    return f"{e['mutants_killed']}/{e['mutants_decided']}"


def table(rows: list[Row], profile: str) -> str:
    head = (
        f"{'claim':<34}{'time s now':>11}{'last':>8}  {'verdict now':<13}{'last':<13}{'kills now':>10}{'last':>7}"
        f"{'inst now':>9}{'last':>6}{'tightness':>11} {'margin':>10}  flags"
    )
    lines = [head]
    for r in rows:
        n, o = r.now or {}, r.last or {}
        over = "*" if r.now and n["time_s"] > claim_budget(profile, n["kind"]) else " "
        lines.append(
            f"{r.claim:<34}{_fmt(n.get('time_s'), '.2f'):>10}{over}{_fmt(o.get('time_s'), '.2f'):>8}  "
            f"{_fmt(n.get('verdict')):<13}{_fmt(o.get('verdict')):<13}{_kills(r.now):>10}{_kills(r.last):>7}"
            f"{_fmt(n.get('instances')):>9}{_fmt(o.get('instances')):>6}{_fmt(n.get('tightness'), '.3g'):>11} "
            f"{_fmt(n.get('margin'), '.3g'):>10}  {' '.join(r.flags)}"
        )
    return "\n".join(lines)


def _commit() -> str | None:
    """The checkout's HEAD (with '+' when the tree has changes): which code the record measured."""
    git = ["git", "-C", str(HERE)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return None
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def _run(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    return proc, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ids", nargs="*")
    ap.add_argument("--profile", default="quick", choices=list(CATALOG_TARGET_S))
    ap.add_argument("--out", default="/tmp/flatcheck-bench")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, default=None, help="passed to verify and mutate (default: every core)")
    ap.add_argument("--mutate", action="store_true", help="also run `flatcheck mutate` into --out")
    ap.add_argument("--record", default=None, help="the run record (default benchmarks/catalog_last_<profile>.json)")
    ap.add_argument("--no-record", action="store_true", help="compare, but leave the record as it is")
    ap.add_argument("--fail-on-regression", action="store_true", help="exit 1 on a slowdown or a loss of power")
    ap.add_argument("--profile-python", action="store_true", help="cProfile the run; print the top 25 functions")
    args = ap.parse_args()

    common = [*args.ids, "--profile", args.profile, "--out", args.out, "--quiet", "--device", args.device]
    if args.jobs:
        common += ["--jobs", str(args.jobs)]
    runner = ["-m", "flatcheck.cli"]
    if args.profile_python:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        runner = ["-m", "cProfile", "-o", str(Path(args.out) / "cprofile.out"), find_spec("flatcheck.cli").origin]
    proc, wall = _run([*runner, "verify", *common])
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    results = Path(args.out) / "results.json"
    if not results.exists():
        print(proc.stdout, proc.stderr, sep="\n")
        return 2
    mutants_path = Path(args.out) / "mutants.json"
    if args.mutate:
        mproc, mwall = _run(["-m", "flatcheck.cli", "mutate", *common])
        if mproc.returncode != 0 or not mutants_path.exists():
            print(mproc.stdout, mproc.stderr, sep="\n")
            return 2
    doc = json.loads(results.read_text())
    mutants = json.loads(mutants_path.read_text()) if mutants_path.exists() else None
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    jobs = doc["provenance"].get("jobs")
    print(
        f"# flatcheck verify --profile {args.profile}: {len(doc['claims'])} claims, {jobs} jobs, "
        f"OMP_NUM_THREADS={threads}"
    )
    print(f"wall {wall:.1f} s (target ≤ {CATALOG_TARGET_S[args.profile]:.0f} s), peak memory {peak_mib:.0f} MiB")
    print(f"summary {doc['summary']}; load average {os.getloadavg()[0]:.1f}")
    if mutants is not None:
        s = mutants["summary"]
        took = f" in {mwall:.1f} s" if args.mutate else f" (read from {mutants_path}, not run now)"
        print(f"mutants{took}: {s['killed']} killed of {s['killed'] + s['survived']} decided")

    path = Path(args.record) if args.record else HERE / f"catalog_last_{args.profile}.json"
    last_doc = json.loads(path.read_text()) if path.exists() else {"claims": {}}
    now = record_of(doc, mutants)
    rows = compare(now, {k: v for k, v in last_doc["claims"].items() if not args.ids or k in now})
    when_last = f"{last_doc['when']}, {last_doc.get('commit')}" if "when" in last_doc else "no earlier run"
    print(f"\nagainst {path.name} ({when_last}); * over the per-claim budget\n")
    print(table(rows, args.profile))
    total = sum(r["time_s"] for r in doc["claims"])
    cpu = doc["provenance"].get("cpu_time_s", 0.0)
    print(f"\nsum of claim times {total:.1f} s (over {jobs} processes); CPU time {cpu:.1f} s")
    flagged = [r for r in rows if r.flags]
    listed = ", ".join(f"{r.claim} ({' '.join(r.flags)})" for r in flagged)
    print(f"{len(flagged)} claims flagged" + (f": {listed}" if flagged else ""))
    if not args.no_record:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        path.write_text(
            json.dumps(
                {
                    "when": when,
                    "commit": _commit(),
                    "profile": args.profile,
                    "jobs": jobs,
                    "wall_s": round(wall, 1),
                    "mutate_wall_s": round(mwall, 1) if args.mutate else None,
                    "load_average": round(os.getloadavg()[0], 1),
                    "claims": {**last_doc["claims"], **now},
                },
                indent=1,
                ensure_ascii=False,
            )
            + "\n"
        )
    if args.profile_python:
        import pstats

        pstats.Stats(str(Path(args.out) / "cprofile.out")).sort_stats("cumulative").print_stats(25)
    return 1 if args.fail_on_regression and flagged else 0


if __name__ == "__main__":
    sys.exit(main())
