"""A run's bookkeeping, shared by the two front doors (`flatcheck.cli`, `flatcheck.pytest_plugin`):
where the report goes, the options that shaped the run (recorded in run.json and the provenance,
compared on --resume, carried by every replay), the stream of finished claims (results.jsonl) that
a Ctrl-C or a crash never loses, and the results document written from it, each record judged
against its claim's expectation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from flatcheck.errors import FlatcheckError


def out_dir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise FlatcheckError(f"cannot write the report to {out}: {e.strerror or e}; choose another --out") from e
    return out


RUN_FILE = "run.json"
DEFAULT_OUT = "reports/run"
# Options that do not change what a run finds: where the report and the summary go, how progress
# is shown, how the claims are spread over processes or machines, and which claims (recorded as `ids`);
# nor whether flatcheck's cache is read (what it keeps is what the run would compute).
NOT_SHAPING = frozenset(
    {"cmd", "func", "ids", "claims", "exact", "out", "summary", "quiet", "resume", "jobs", "workers", "scheduler"}
    | {"no_cache"}
)


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """Every option that shaped the run, as the command line took it, whatever options a command
    has: what run.json, the provenance and the replay commands record."""
    opts = {k: v for k, v in vars(args).items() if k not in NOT_SHAPING and not callable(v)}
    return {"command": args.cmd, **opts}


def identity(options: dict[str, Any], time_limit_s: float) -> dict[str, Any]:
    """What must match for `--resume` to continue a run: the options, the time limit as applied."""
    return {**{k: v for k, v in options.items() if k != "time_limit"}, "time_limit_s": time_limit_s}


def start_stream(
    out: Path, ident: dict[str, Any], ids: list[str], resume: bool
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Records already finished (on --resume) and the time spent on them; the stream is ready to append to."""
    from flatcheck.report import read_stream

    stream, run_file = out / "results.jsonl", out / RUN_FILE
    if not resume:
        stream.write_text("")
        write_run_file(run_file, ident, ids, {})
        return [], {}
    if not run_file.exists():
        raise FlatcheckError(f"nothing to resume in {out}: no {RUN_FILE}; run without --resume first")
    before = json.loads(run_file.read_text())
    was = before.get("options") or {}
    differ = [
        f"{k}={was.get(k)!r} (now {ident.get(k)!r})"
        for k in sorted(set(was) | set(ident))
        if was.get(k) != ident.get(k)
    ]
    if differ:
        raise FlatcheckError(
            f"the run in {out} was made with {', '.join(differ)}; resume with the same options or choose another --out"
        )
    wanted = set(ids)
    done = {r["id"]: r for r in read_stream(stream) if r["id"] in wanted}
    # Rewrite the stream without a line a crash may have cut short.
    stream.write_text("".join(json.dumps(r) + "\n" for r in done.values()))
    return list(done.values()), before.get("spent") or {}


def write_run_file(path: Path, ident: dict[str, Any], ids: list[str], spent: dict[str, float]) -> None:
    # Written under a temporary name and renamed: a crash mid-write must not lose the run's options.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"options": ident, "ids": ids, "spent": spent}, indent=1) + "\n")
    tmp.replace(path)


def resume_ids(out: str) -> list[str] | None:
    """The claim ids of the run being resumed, when the command line names none."""
    run_file = Path(out) / RUN_FILE
    return json.loads(run_file.read_text()).get("ids") if run_file.exists() else None


def write_results(
    prov: dict[str, Any],
    records: list[dict[str, Any]],
    claims: dict[str, Any],
    set_aside: list[dict[str, Any]] | None,
    spent: dict[str, float],
    planned: int,
    since: dict[str, float],
    out: Path,
) -> dict[str, Any]:
    """The results document, each record with its claim's expectation, judged and written; `spent`
    holds this part's wall and CPU time and all parts' (a resumed run), `planned` the claims to run."""
    from flatcheck.report import document, write_report
    from flatcheck.report.outcome import judge
    from flatcheck.verify.expectations import annotate

    annotated = [annotate(r, claims[r["id"]]) for r in records]
    doc = document(prov, annotated, spent["part_wall_time_s"], since=since, spent=spent, planned=planned)
    if set_aside is not None:
        doc["set_aside"] = set_aside
    doc["outcome"] = judge(doc)
    write_report(doc, out)
    return doc


def summary_path(path: str | None) -> Path | None:
    """--summary FILE: checked writable before the run, so that a typo does not cost a whole run."""
    if not path:
        return None
    target = Path(path)
    try:
        with target.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise FlatcheckError(
            f"cannot write the summary to {target}: {e.strerror or e}; choose another --summary"
        ) from e
    return target


def append_shared(out: Path, record: dict[str, Any]) -> None:
    """Append a finished claim's record to out/results.jsonl under a lock: several processes
    (pytest-xdist workers) stream into one file."""
    import fcntl

    from flatcheck.report import append_record

    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        append_record(out / "results.jsonl", record)
