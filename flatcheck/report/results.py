"""The results document: provenance plus one record per claim, streamed and then finalised.

A run streams one JSON line per finished claim to `results.jsonl` (nothing finished is lost to a
crash or Ctrl-C), then writes the document `results.json` (validated against `schema.json`), the
Markdown `report.md` with its `plots/`, and the self-contained `report.html`."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

from flatcheck.errors import FlatcheckError

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA_ID = "flatcheck-results/1"
LIBRARIES = ("torch", "sympy", "mpmath", "hypothesis", "numpy", "scipy", "matplotlib", "scikit-learn", "distributed")


def flatcheck_version() -> str:
    """The installed distribution's version (pyproject.toml is its one source); a source tree that is
    not installed says so instead."""
    try:
        return importlib.metadata.version("flatcheck")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown (not installed)"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parents[2],
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(profile: str, seed: int, device: str, implementation: str | None = None, **extra: Any) -> dict[str, Any]:
    """Everything needed to reproduce a run; `extra` adds run facts (scheduler, workers, time limit …)."""
    import torch

    return {
        "flatcheck_version": flatcheck_version(),
        "git_commit": _git_commit(),
        "profile": profile,
        "seed": seed,
        "device": device,
        "device_name": _device_name(device),
        "dtype": "float64",
        "implementation": implementation,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "versions": _versions(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def summarise(records: list[dict[str, Any]]) -> dict[str, int]:
    out = {"verified": 0, "falsified": 0, "inconclusive": 0, "error": 0}
    for r in records:
        out[r["verdict"]] = out.get(r["verdict"], 0) + 1
    return out


def usage(since: dict[str, float] | None = None) -> dict[str, float]:
    """CPU seconds of this process and its finished workers (less those at `since`, an earlier
    usage()), and the largest resident set of any one of them (MiB); empty without getrusage."""
    try:
        import resource
    except ImportError:
        return {}
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    unit = 1 if sys.platform == "darwin" else 1024
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    return {
        "cpu_time_s": cpu - (since or {}).get("cpu_time_s", 0.0),
        "peak_rss_mib": max(me.ru_maxrss, kids.ru_maxrss) * unit / 2**20,
    }


def document(
    prov: dict[str, Any],
    records: list[dict[str, Any]],
    wall_s: float,
    since: dict[str, float] | None = None,
    spent: dict[str, float] | None = None,
    planned: int | None = None,
) -> dict[str, Any]:
    """The results document; `since` (a usage() at the start of the run) adds its CPU time and peak
    memory. `spent` is the wall and CPU time of every part of a resumed run added up, with this
    part's own (`part_wall_time_s`, `part_cpu_time_s`); `planned`, the number of claims the run set
    out to decide: fewer records make the document partial."""
    cost = {**(usage(since) if since is not None else {}), "wall_time_s": wall_s}
    if spent:
        cost["wall_time_s"] = spent["wall_time_s"]
        if "cpu_time_s" in spent:
            cost["cpu_time_s"] = spent["cpu_time_s"]
        if spent.get("parts", 1) > 1:
            cost.update(
                parts=int(spent["parts"]),
                part_wall_time_s=spent["part_wall_time_s"],
                part_cpu_time_s=spent["part_cpu_time_s"],
            )
    if planned is not None:
        cost.update(claims_planned=planned, partial=len(records) < planned)
    return {
        "schema": SCHEMA_ID,
        "provenance": {**prov, **cost},
        "summary": summarise(records),
        "claims": sorted(records, key=lambda r: r["id"]),
    }


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@lru_cache(maxsize=1)
def validator() -> Any:
    """The schema's validator. The schema itself is not checked against its meta-schema on every
    document (`jsonschema.validate` does: most of its time): it is fixed, and a test checks it."""
    s = schema()
    return jsonschema.validators.validator_for(s)(s)


def validate(doc: Any, source: str = "the results document") -> None:
    """Raise FlatcheckError with the first schema violation, naming where it is."""
    e = jsonschema.exceptions.best_match(validator().iter_errors(doc))
    if e is not None:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise FlatcheckError(f"{source} is not a flatcheck results document: {e.message} (at {where})") from e


def write_json(doc: dict[str, Any], path: Path) -> None:
    validate(doc)
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    """A results document from disk, validated; one clear message when it is not one."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FlatcheckError(f"cannot read {path} as a flatcheck results JSON ({e})") from e
    validate(doc, str(path))
    return doc


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Stream one finished claim to the JSON-lines file, flushed to disk at once."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()


def read_stream(path: Path) -> list[dict[str, Any]]:
    """The records streamed so far; a last line cut short by a crash is dropped (that claim reruns)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "id" in rec and "verdict" in rec:
            out.append(rec)
    return out
