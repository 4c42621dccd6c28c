"""The command line: list, show, verify, check, diff, mutate, report.

Exit status: 0 when every verdict is as expected (check: no defect of the implementation; diff: no
verdict changed), 1 when one differs (check: a defect; diff: a verdict changed), 2 on bad input."""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import queue
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from flatcheck.bookkeeping import (
    DEFAULT_OUT,
    RUN_FILE,
    identity,
    out_dir,
    resume_ids,
    run_options,
    start_stream,
    summary_path,
    write_results,
    write_run_file,
)
from flatcheck.cache import OFF_ENV
from flatcheck.errors import FlatcheckError


def _claims_table(claims: list) -> str:
    width = max(len(c.id) for c in claims)
    return "\n".join(f"{c.id:<{width}}  {c.kind:<21} {c.algorithm or '–':<6} {c.summary}" for c in claims)


def cmd_list(args: argparse.Namespace) -> int:
    from flatcheck.verify.registry import select

    print(_claims_table(select(args.ids)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from flatcheck.verify.registry import all_claims, select

    claims = all_claims()
    papers = {c.paper for c in claims.values()}
    blocks = []
    for name in args.ids:
        if name in claims:
            blocks.append(_claim_text(claims[name]))
        else:
            # A paper or a prefix: its claims, one line each (`show ID` gives the details).
            chosen = select([name])
            what = f"paper {name}" if name in papers else f"claims under {name}"
            blocks.append(f"{what}: {len(chosen)} claims\n\n{_claims_table(chosen)}")
    print("\n\n".join(blocks))
    return 0


def _claim_text(c: Any) -> str:
    """One claim for a person: statement, reference, assumptions and the derivation laid out by sympy."""
    from flatcheck.verify.runner import derivation

    lines = [f"{c.id}  ({c.kind}, {c.ref})", "", c.summary, "", "Statement (LaTeX):", f"  {c.statement}"]
    if c.faithful is not None:
        scope = f": {c.faithful.scope}" if c.faithful.scope else ""
        lines += ["", f"Faithfulness to the paper: {c.faithful.kind}{scope}"]
    if c.algorithm:
        lines += ["", f"Exercises the implementation kind: {c.algorithm}"]
    if c.assumptions:
        lines += ["", "Assumptions:"] + [f"  - {a.name}: {a.text}" for a in c.assumptions]
    if c.constants:
        lines += ["", "Declared constants (flatcheck mutate):"] + [
            f"  - {k.name} = {k.value:g} ({k.printed}; stronger: {k.stronger}, mutant {k.mutated():g})"
            for k in c.constants
        ]
    if c.derive is not None:
        what = " ".join((inspect.getdoc(c.derive) or "").split())
        lines += ["", "Symbolic derivation (computed by sympy)" + (f": {what}" if what else ":")]
        lines.append(textwrap.indent(derivation(c) or "", "  "))
    return "\n".join(lines)


class _Progress:
    """A progress bar on a terminal; plain lines, one per claim, in a log or a pipe (a bar there
    is one endless carriage-return line)."""

    def __init__(self, total: int, done: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.total, self.done, self.quiet = total, done, quiet
        self.bar = None
        if not quiet and sys.stderr.isatty():
            # No monitor thread: the claims may run on processes forked from this one, and a fork
            # should find no other thread that could hold a lock.
            tqdm.monitor_interval = 0
            self.bar = tqdm(total=total, initial=done, desc="flatcheck", unit="claim", file=sys.stderr)

    def update(self, rec: dict[str, Any]) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{rec['id']}: {rec['verdict']}")
            self.bar.update(1)
        elif not self.quiet:
            print(
                f"flatcheck [{self.done}/{self.total}] {rec['id']}: {rec['verdict']} ({rec['time_s']:.1f} s)",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _draw_plots(rec: dict[str, Any]) -> None:
    """Draw a finished claim's images — its plots (`flatcheck.report.png`) and its statement
    (`flatcheck.report.latex`) — into flatcheck's cache, where the report finds them; a plot that
    cannot be drawn is the report's to show as a table, never an error here."""
    from flatcheck.report.latex import svg_data_uri
    from flatcheck.report.png import render_png

    if rec.get("statement"):
        svg_data_uri(rec["statement"])
    for key in ("counterexample", "evidence"):
        spec = (rec.get(key) or {}).get("plot")
        if isinstance(spec, dict):
            try:
                render_png(spec)
            except Exception:
                pass


def _draw_result_plots(res: Any) -> None:
    """A worker's hook (`runner.Forked(after=…)`): the plots of the result it just decided, drawn there."""
    _draw_plots(res.to_json())


class _PlotAhead:
    """Draws the finished claims' plots on a thread of this process once a core is free — fewer claims
    left than worker processes (`start_after` results in), at once when the claims run on Dask — so
    that after the last claim the report finds them drawn (`render_png` keeps what it drew) and only
    its writing remains; drawn while every worker still ran, they would slow the claims as much. The
    thread starts after the workers are forked: a fork must find no other thread that could hold a
    lock. A serial run (start_after None) draws nothing ahead: its claims use this process; nor does
    a run on forked workers with the cache on: they draw each claim's plots into it (`_executor`)."""

    def __init__(self, start_after: int | None) -> None:
        self.start_after = start_after
        self.pending: list[dict[str, Any]] = []
        self.queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None

    def add(self, rec: dict[str, Any]) -> None:
        if self.start_after is None:
            return
        self.pending.append(rec)
        if self.thread is None and len(self.pending) >= self.start_after:
            self.thread = threading.Thread(target=self._draw, name="flatcheck-plots", daemon=True)
            self.thread.start()
        if self.thread is not None:
            for r in self.pending:
                self.queue.put(r)
            self.pending.clear()

    def _draw(self) -> None:
        while (rec := self.queue.get()) is not None:
            _draw_plots(rec)

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None


class _ProtocolProblem(Exception):
    """A user's implementation broke the protocol on one claim: the whole check stops (bad input)."""

    def __init__(self, record: dict[str, Any]):
        super().__init__(record["reason"])
        self.record = record


def _run(
    args: argparse.Namespace,
    claims: list,
    impl_for: Any,
    impl_name: str | None,
    set_aside: list[dict[str, Any]] | None = None,
    checked_as: str | None = None,
) -> int:
    """Run the claims, write the report, print what differs from the expectations (verify) or the
    defects of the implementation (check, `impl_name` set), and return the exit status."""
    from flatcheck.report import append_record, provenance
    from flatcheck.report.results import usage
    from flatcheck.verify.expectations import protocol_problem
    from flatcheck.verify.profiles import budget_for
    from flatcheck.verify.registry import all_claims
    from flatcheck.verify.replay import replay_command
    from flatcheck.verify.runner import Forked, Serial, run_claims

    # Every option is checked before anything is written.
    limit = budget_for(args.profile, time_limit_s=args.time_limit).time_limit_s
    device = _device(args.device)
    summary = summary_path(args.summary)
    jobs = _jobs(args, device, len(claims))
    executor = _executor(args, jobs, plots=True)
    out = out_dir(args.out)
    options = run_options(args)
    prov = provenance(
        args.profile,
        args.seed,
        device,
        impl_name,
        time_limit_s=limit,
        scheduler=args.scheduler,
        workers=args.workers,
        jobs=jobs,
        options=options,
    )
    prov["dtype"] = args.dtype
    if checked_as:
        prov["checked_as"] = checked_as
    ident = identity(options, limit)
    ids = [c.id for c in claims]
    records, spent = start_stream(out, ident, ids, args.resume)
    done = {r["id"] for r in records}
    todo = [c for c in claims if c.id not in done]
    if done:
        prov["resumed"] = len(done)
        print(f"resuming: {len(done)} claims already finished, {len(todo)} to run", file=sys.stderr)
    progress = _Progress(len(claims), len(done), args.quiet)
    # Worker processes free up once fewer claims are left than workers (Dask: this process is free).
    drawn_by_workers = isinstance(executor, Forked) and executor.after is not None
    ahead = _PlotAhead(
        None if isinstance(executor, Serial) or drawn_by_workers else max(1, len(todo) - (jobs or len(todo)) + 1)
    )
    t0, u0 = time.perf_counter(), usage()

    def spent_now() -> dict[str, float]:
        """This part's wall and CPU time, and all parts' added up (what a resumed run reports)."""
        wall, cpu = time.perf_counter() - t0, usage(u0).get("cpu_time_s", 0.0)
        return {
            "wall_time_s": spent.get("wall_time_s", 0.0) + wall,
            "cpu_time_s": spent.get("cpu_time_s", 0.0) + cpu,
            "parts": spent.get("parts", 0) + 1,
            "part_wall_time_s": wall,
            "part_cpu_time_s": cpu,
        }

    def on_result(res: Any) -> None:
        rec = res.to_json()
        if impl_name and protocol_problem(rec):
            raise _ProtocolProblem(rec)
        rec["replay"] = replay_command(rec["id"], options)
        records.append(rec)
        append_record(out / "results.jsonl", rec)
        # The time spent so far goes with the finished claims, so that a resumed run adds it up.
        write_run_file(out / RUN_FILE, ident, ids, spent_now())
        progress.update(rec)
        ahead.add(rec)

    by_id = {c.id: c for c in claims}

    def finish() -> dict[str, Any]:
        progress.close()
        ahead.close()
        total = spent_now()
        write_run_file(out / RUN_FILE, ident, ids, total)
        return write_results(prov, records, by_id, set_aside, total, len(claims), u0, out)

    try:
        run_claims(
            todo,
            profile=args.profile,
            seed=args.seed,
            device=device,
            impl_for=impl_for,
            on_result=on_result,
            catalog_size=len(all_claims()),
            time_limit_s=args.time_limit,
            dtype=args.dtype,
            executor=executor,
        )
    except KeyboardInterrupt:
        finish()
        print(
            f"flatcheck: interrupted; {len(records)} finished results kept in {out}/ (report marked PARTIAL) — "
            f"continue with the same command and --resume",
            file=sys.stderr,
        )
        return 130
    except _ProtocolProblem as p:
        progress.close()
        raise FlatcheckError(
            f"{impl_name} does not follow the protocol, so no verdict on it can be trusted; the check stopped at "
            f"{p.record['id']}: {p}"
        ) from None
    doc = finish()
    from flatcheck.report.outcome import terminal_lines
    from flatcheck.report.summary import ci_summary

    print("\n".join(terminal_lines(doc, f"{out}/report.html")))
    if summary:
        summary.write_text(ci_summary(doc, f"{out}/report.html"), encoding="utf-8")
    return doc["outcome"]["status"]


def _jobs(args: argparse.Namespace, device: str, n_claims: int) -> int | None:
    """Worker processes on this machine (None for a Dask run): --jobs, else every core."""
    from flatcheck.verify.parallel import can_fork, default_jobs

    if args.jobs is not None and args.jobs < 1:
        raise FlatcheckError(f"--jobs needs a positive number of processes, got {args.jobs}")
    if args.scheduler or args.workers:
        if args.jobs is not None:
            raise FlatcheckError("--jobs runs on this machine; with --scheduler or --workers, Dask places the claims")
        return None
    jobs = min(args.jobs or default_jobs(), max(n_claims, 1))
    return jobs if can_fork(device) else 1


def _executor(args: argparse.Namespace, jobs: int | None, plots: bool = False) -> Any:
    """Where the claims run: Dask with --scheduler or --workers, else this machine's processes. With
    `plots` and the cache on, forked workers draw each result's plots into the cache as they go."""
    if args.scheduler or args.workers:
        from flatcheck.verify.distributed import Dask

        return Dask(args.scheduler, args.workers)
    from flatcheck.cache import enabled
    from flatcheck.verify.runner import Forked, Serial

    if not (jobs and jobs > 1):
        return Serial()
    return Forked(jobs, after=_draw_result_plots if plots and enabled() else None)


def _device(name: str | None) -> str:
    import torch

    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise FlatcheckError("--device cuda was asked for but torch sees no CUDA device; use --device cpu")
    if name not in ("cpu", "cuda"):
        raise FlatcheckError(f"unknown device {name!r}; use cpu or cuda")
    return name


def cmd_verify(args: argparse.Namespace) -> int:
    from flatcheck.impl import builtin
    from flatcheck.verify.registry import select

    claims = select(args.ids or (resume_ids(args.out) if args.resume else None), exact=args.exact)
    return _run(args, claims, lambda c: builtin(c.algorithm), None)


def cmd_check(args: argparse.Namespace) -> int:
    from flatcheck.impl import user_implementation
    from flatcheck.impl.shared import scope as shared_runs
    from flatcheck.verify.expectations import check_plan
    from flatcheck.verify.registry import select

    # One class may serve several algorithms (a SAM is full-batch and stochastic SAM): one adapter each.
    impls = user_implementation(
        args.target,
        args.algorithm,
        rename=dict(_rename_pair(pair) for pair in args.rename or []),
        kwargs=_json_arg(args.kwargs, "--kwargs"),
        factory=args.factory,
        driver=args.driver,
        known=exercised_kinds(),
    )
    kinds = tuple(impls)
    algorithm = kinds[0]
    # Said first, and kept in the report: a verdict is about the algorithm the class was checked as.
    checked_as = " and ".join(kinds) + (", named by --algorithm" if args.algorithm else ", inferred from its name")
    if not args.quiet:
        hint = "" if args.algorithm else " (--algorithm names another)"
        print(f"flatcheck: checking {args.target} as {checked_as}{hint}", file=sys.stderr, flush=True)
    # The papers' errata say nothing about the implementation: set aside, their corrected twins run instead.
    claims, aside = check_plan([c for c in select(args.claims, exact=args.exact) if c.algorithm in kinds], kinds)
    if not claims and not aside:
        raise FlatcheckError(
            f"no claim exercises a {algorithm!r} implementation"
            + (f" among {', '.join(args.claims)}" if args.claims else "")
        )
    # Claims that run the same run of the class read it from one another (flatcheck.impl.shared).
    with shared_runs():
        return _run(args, claims, lambda c: impls[c.algorithm], args.target, set_aside=aside, checked_as=checked_as)


def exercised_kinds() -> list[str]:
    """The algorithm kinds a user's class can be checked as: those some claim of the catalog exercises
    (a built-in kind no claim uses would accept a class and check nothing)."""
    from flatcheck.verify.registry import all_claims

    return sorted({c.algorithm for c in all_claims().values() if c.algorithm})


def _rename_pair(pair: str) -> tuple[str, str]:
    ours, sep, theirs = pair.partition("=")
    if not (sep and ours and theirs):
        raise FlatcheckError(f"--rename takes ours=theirs pairs, e.g. rho=radius (got {pair!r})")
    return ours, theirs


def _json_arg(text: str | None, flag: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        val = json.loads(text)
    except json.JSONDecodeError as e:
        raise FlatcheckError(f"{flag} must be a JSON object, e.g. '{{\"rho\": 0.05}}' ({e.msg})") from e
    if not isinstance(val, dict):
        raise FlatcheckError(f"{flag} must be a JSON object, e.g. '{{\"rho\": 0.05}}'")
    return val


def cmd_report(args: argparse.Namespace) -> int:
    from flatcheck.report import read_json, write_report

    src = Path(args.results)
    if not src.exists():
        raise FlatcheckError(f"no results file at {src}; run `flatcheck verify` first or name a results.json")
    doc = read_json(src)
    mutants = _mutants_beside(src.parent, args.mutants)
    out = out_dir(args.out or str(src.parent))
    write_report(doc, out, with_json=out.resolve() != src.parent.resolve(), mutants=mutants)
    print(f"report written to {out}/report.html and {out}/report.md")
    return 0


def _mutants_beside(folder: Path, given: str | None) -> dict[str, Any] | None:
    """The mutants document of --mutants FILE, else the mutants.json next to the results, if any."""
    from flatcheck.report.strength import read_mutants

    if given:
        if not Path(given).is_file():
            raise FlatcheckError(f"no mutants file at {given}; run `flatcheck mutate --out DIR` first")
        return read_mutants(Path(given))
    beside = folder / "mutants.json"
    return read_mutants(beside) if beside.is_file() else None


def cmd_diff(args: argparse.Namespace) -> int:
    from flatcheck.report import read_json
    from flatcheck.report.diff import diff, diff_markdown, diff_table

    docs = []
    for name in (args.old, args.new):
        path = Path(name)
        if not path.is_file():
            raise FlatcheckError(f"no results file at {path}; give two results.json files of flatcheck runs")
        docs.append(read_json(path))
    md = summary_path(args.markdown)
    d = diff(*docs)
    print(diff_table(d, args.old, args.new))
    if md:
        md.write_text(diff_markdown(d, args.old, args.new), encoding="utf-8")
    return 1 if d["verdict_changes"] else 0


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {text!r}") from None
    if seed < 0:
        # hypothesis and torch would take the sign off silently: -1 would replay as 1.
        raise argparse.ArgumentTypeError(f"a seed is a whole number >= 0, got {seed}")
    return seed


def cmd_mutate(args: argparse.Namespace) -> int:
    """Each declared constant moved the way that strengthens its claim: is the mutant falsified?"""
    from flatcheck.impl import builtin
    from flatcheck.verify import mutate
    from flatcheck.verify.profiles import budget_for
    from flatcheck.verify.registry import all_claims, select

    claims = [c for c in select(args.ids) if c.constants]
    if not claims:
        raise FlatcheckError("none of the selected claims declares a constant to mutate")
    device = _device(args.device)
    budget = budget_for(args.profile, seed=args.seed, device=device, time_limit_s=args.time_limit)
    out = out_dir(args.out)
    jobs = _jobs(args, device, len(claims))

    def on_result(key: str, res: Any) -> None:
        if not args.quiet:
            print(f"  {key}: {res.verdict}", file=sys.stderr)

    records = mutate.run_mutants(
        claims, budget, lambda c: builtin(c.algorithm), len(all_claims()), _executor(args, jobs), on_result
    )
    mutate.write(records, out, args.profile, args.seed)
    if (out / "results.json").is_file():
        # --out is a report directory: its report shows the mutants killed beside each verdict.
        from flatcheck.report import read_json, write_report

        write_report(read_json(out / "results.json"), out, with_json=False, mutants=_mutants_beside(out, None))
    s = mutate.summary(records)
    rate = "–" if s["kill_rate"] is None else f"{s['kill_rate']:.0%}"
    print(
        f"{s['killed']} killed, {s['survived']} survived (kill rate {rate}), {s['undecided']} undecided "
        f"— {out}/mutants.md"
    )
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="default", choices=["quick", "default", "thorough"])
    p.add_argument("--seed", type=_seed, default=0, help="a whole number >= 0 (default 0)")
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        help=f"report directory (default {DEFAULT_OUT}; the committed showcase is reports/latest)",
    )
    p.add_argument("--exact", action="store_true", help="the ids are exact claim ids: no paper, no claims under an id")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--summary", default=None, help="also write a short Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out, keeping its finished claims")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per claim (default: the profile's)")
    p.add_argument("--scheduler", default=None, help="run the claims on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--workers", type=int, default=None, help="run the claims on a local Dask cluster of N workers")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes on this machine (default: $FLATCHECK_JOBS, else every core; 1: one process)",
    )
    p.add_argument(
        "--dtype",
        choices=["float64", "float32"],
        default="float64",
        help="the precision implementations are driven at; step claims judge at its round-off (default float64)",
    )
    _no_cache(p)


def _no_cache(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="compute every derivation, compiled expression and plot afresh, reading and writing nothing in "
        "flatcheck's cache ($FLATCHECK_CACHE_DIR, default ~/.cache/flatcheck; also $FLATCHECK_NO_CACHE=1)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flatcheck", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list", help="list the claims of the catalog")
    s.add_argument("ids", nargs="*", help="claim ids or paper prefixes")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("show", help="show claims (statement, reference, derivation) or a paper's claims")
    s.add_argument("ids", nargs="+", help="claim ids, papers or id prefixes")
    s.set_defaults(func=cmd_show)
    s = sub.add_parser("verify", help="verify claims against the built-in implementations")
    s.add_argument("ids", nargs="*", help="claim ids or paper prefixes (default: the whole catalog)")
    _common(s)
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser("check", help="check a user's implementation module:Class against its claims")
    s.add_argument("target", help="import path module:Class of a torch.optim.Optimizer")
    s.add_argument("--claims", nargs="*", help="narrow to these claim ids or paper prefixes")
    s.add_argument("--algorithm", help="which algorithm the class implements (inferred from its name)")
    s.add_argument(
        "--kwargs",
        help="JSON object of fixed constructor arguments; a value module:name passes that object (a class, a function)",
    )
    s.add_argument("--rename", nargs="*", help="ours=theirs hyper-parameter names, e.g. rho=radius")
    s.add_argument("--factory", help="module:function building the optimizer from (params, **hyper_parameters)")
    s.add_argument(
        "--driver",
        help="how one step is driven: closure, enable_grad, outputs_loss, sam, first_second, or module:function",
    )
    _common(s)
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("diff", help="compare two results.json: verdicts, counterexamples and evidence that changed")
    s.add_argument("old", help="the earlier results.json")
    s.add_argument("new", help="the later results.json")
    s.add_argument("--markdown", default=None, help="also write the table as Markdown to this file")
    s.set_defaults(func=cmd_diff)

    s = sub.add_parser("mutate", help="move each declared constant to a stronger value and see if it is falsified")
    s.add_argument("ids", nargs="*", help="claim ids or paper prefixes (default: every claim that declares constants)")
    s.add_argument("--profile", default="default", choices=["quick", "default", "thorough"])
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    s.add_argument(
        "--out",
        default="reports/mutants",
        help="where mutants.json and mutants.md go; a report folder (with results.json) gets its report redrawn",
    )
    s.add_argument("--quiet", action="store_true", help="no line per finished run")
    s.add_argument("--time-limit", type=float, default=None, help="seconds per run (default: the profile's)")
    s.add_argument("--jobs", type=int, default=None, help="worker processes (default: as for verify)")
    _no_cache(s)
    s.set_defaults(func=cmd_mutate, scheduler=None, workers=None)
    s = sub.add_parser("report", help="re-render a report from results.json")
    s.add_argument(
        "results", nargs="?", default=f"{DEFAULT_OUT}/results.json", help=f"default {DEFAULT_OUT}/results.json"
    )
    s.add_argument("--out", default=None, help="default: beside the results file")
    s.add_argument(
        "--mutants",
        default=None,
        help="a mutants.json of `flatcheck mutate` whose kills the report shows (default: one beside the results)",
    )
    _no_cache(s)
    s.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "no_cache", False):
        # Through the environment, so that the worker processes honour it too.
        os.environ[OFF_ENV] = "1"
    try:
        return args.func(args)
    except FlatcheckError as e:
        print(f"flatcheck: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flatcheck: interrupted; finished results are in results.jsonl", file=sys.stderr)
        return 130
    finally:
        if argv is None:
            # Run as the program (the console script, python -m), the process ends next: its objects
            # (torch's, sympy's, the catalog's) need no cycle collection on the way out, which cost
            # ~0.5 s of CPU at exit. Called with arguments (a test, a script), main leaves gc as it was.
            gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
