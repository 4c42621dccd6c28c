"""The results document: provenance plus one record per claim, streamed and then finalised."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

import flatcheck


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


def provenance(profile: str, seed: int, device: str, implementation: str | None = None) -> dict[str, Any]:
    import hypothesis
    import mpmath
    import numpy
    import sympy

    return {
        "flatcheck_version": flatcheck.__version__,
        "git_commit": _git_commit(),
        "profile": profile,
        "seed": seed,
        "device": device,
        "dtype": "float64",
        "implementation": implementation,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {
            "torch": torch.__version__,
            "sympy": sympy.__version__,
            "mpmath": mpmath.__version__,
            "hypothesis": hypothesis.__version__,
            "numpy": numpy.__version__,
        },
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def summarise(records: list[dict[str, Any]]) -> dict[str, int]:
    out = {"verified": 0, "falsified": 0, "inconclusive": 0, "error": 0}
    for r in records:
        out[r["verdict"]] = out.get(r["verdict"], 0) + 1
    return out


def document(prov: dict[str, Any], records: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    return {
        "schema": "flatcheck-results/1",
        "provenance": {**prov, "wall_time_s": wall_s},
        "summary": summarise(records),
        "claims": records,
    }


def write_json(doc: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
