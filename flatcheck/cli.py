"""The command line: list, show, verify, check, report."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from flatcheck.errors import FlatcheckError


def _claims_table(claims: list) -> str:
    width = max(len(c.id) for c in claims)
    return "\n".join(f"{c.id:<{width}}  {c.kind:<21} {c.impl or '–':<6} {c.summary}" for c in claims)


def cmd_list(args: argparse.Namespace) -> int:
    from flatcheck.verify.registry import select

    print(_claims_table(select(args.ids)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from flatcheck.verify.registry import get

    c = get(args.id)
    print(f"{c.id}  [{c.kind}]  {c.ref}\n\n{c.summary}\n\nStatement (LaTeX):\n  {c.statement}")
    if c.impl:
        print(f"\nExercises implementation kind: {c.impl}")
    if c.assumptions:
        print("\nAssumptions:\n" + "\n".join(f"  - {a.name}: {a.text}" for a in c.assumptions))
    if c.derive is not None:
        print(f"\nSymbolic derivation:\n{c.derive()}")
    return 0


def _out_dir(path: str) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise FlatcheckError(f"cannot write the report to {out}: {e.strerror or e}; choose another --out") from e
    return out


def _run(args: argparse.Namespace, claims: list, impl_for: Any, impl_name: str | None) -> int:
    from tqdm import tqdm

    from flatcheck.report import document, provenance, render, write_json
    from flatcheck.verify.registry import all_claims
    from flatcheck.verify.runner import run_claims

    out = _out_dir(args.out)
    device = _device(args.device)
    prov = provenance(args.profile, args.seed, device, impl_name)
    stream = out / "results.jsonl"
    stream.write_text("")
    records: list[dict[str, Any]] = []
    bar = tqdm(total=len(claims), desc="flatcheck", unit="claim", file=sys.stderr, disable=args.quiet)

    def on_result(res: Any) -> None:
        rec = res.to_json()
        records.append(rec)
        with stream.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        bar.set_postfix_str(f"{res.id}: {res.verdict}")
        bar.update(1)

    t0 = time.perf_counter()
    run_claims(
        claims,
        profile=args.profile,
        seed=args.seed,
        device=device,
        impl_for=impl_for,
        on_result=on_result,
        catalog_size=len(all_claims()),
    )
    bar.close()
    doc = document(prov, records, time.perf_counter() - t0)
    write_json(doc, out / "results.json")
    (out / "report.md").write_text(render(doc))
    s = doc["summary"]
    print(
        f"{s['verified']} verified, {s['falsified']} falsified, {s['inconclusive']} inconclusive, "
        f"{s['error']} error — report in {out}/"
    )
    for r in records:
        if r["verdict"] in ("falsified", "error"):
            print(f"  {r['verdict']}: {r['id']} — {r['reason']}\n    replay: {r['replay']}")
    return 1 if (s["falsified"] or s["error"]) else 0


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

    claims = select(args.ids)
    return _run(args, claims, lambda c: builtin(c.impl), None)


def cmd_check(args: argparse.Namespace) -> int:
    from flatcheck.impl import BUILTINS, Implementation, kinds_for, load_class
    from flatcheck.verify.registry import select

    cls = load_class(args.target)
    algorithm = args.algorithm or _infer_algorithm(cls.__name__, list(BUILTINS))
    kinds = kinds_for(algorithm, list(BUILTINS))
    claims = [c for c in select(args.claims) if c.impl in kinds]
    if not claims:
        raise FlatcheckError(
            f"no claim exercises a {algorithm!r} implementation"
            + (f" among {', '.join(args.claims)}" if args.claims else "")
        )
    kwargs = _json_arg(args.kwargs, "--kwargs")
    rename = dict(_rename_pair(pair) for pair in args.rename or [])
    # One class may serve several kinds (a SAM is full-batch and stochastic SAM): one adapter each.
    impls = {k: Implementation(args.target, k, cls, rename=rename, kwargs=kwargs) for k in kinds}
    return _run(args, claims, lambda c: impls[c.impl], args.target)


def _infer_algorithm(name: str, known: list[str]) -> str:
    from flatcheck.impl import infer_algorithm

    return infer_algorithm(name, known)


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
    from flatcheck.report import read_json, render

    src = Path(args.results)
    if not src.exists():
        raise FlatcheckError(f"no results file at {src}; run `flatcheck verify` first")
    try:
        doc = read_json(src)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FlatcheckError(f"{src} is not a flatcheck results JSON ({e})") from e
    out = _out_dir(args.out or str(src.parent))
    (out / "report.md").write_text(render(doc))
    print(f"report written to {out}/")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="default", choices=["quick", "default", "thorough"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda"], default=None, help="default: cuda when available")
    p.add_argument("--out", default="reports/latest", help="report directory (default reports/latest)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flatcheck", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list", help="list the claims of the catalog")
    s.add_argument("ids", nargs="*", help="claim ids or paper prefixes")
    s.set_defaults(func=cmd_list)
    s = sub.add_parser("show", help="show one claim: statement, reference, derivation")
    s.add_argument("id")
    s.set_defaults(func=cmd_show)
    s = sub.add_parser("verify", help="verify claims against the built-in implementations")
    s.add_argument("ids", nargs="*", help="claim ids or paper prefixes (default: the whole catalog)")
    _common(s)
    s.set_defaults(func=cmd_verify)
    s = sub.add_parser("check", help="check a user's implementation module:Class against its claims")
    s.add_argument("target", help="import path module:Class of a torch.optim.Optimizer")
    s.add_argument("--claims", nargs="*", help="narrow to these claim ids or paper prefixes")
    s.add_argument("--algorithm", help="which algorithm the class implements (inferred from its name)")
    s.add_argument("--kwargs", help="JSON object of fixed constructor arguments")
    s.add_argument("--rename", nargs="*", help="ours=theirs hyper-parameter names, e.g. rho=radius")
    _common(s)
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("report", help="re-render a report from results.json")
    s.add_argument("results")
    s.add_argument("--out", default=None)
    s.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except FlatcheckError as e:
        print(f"flatcheck: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flatcheck: interrupted; finished results are in results.jsonl", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
