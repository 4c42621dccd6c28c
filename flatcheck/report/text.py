"""Formatting shared by the Markdown and HTML renderings: verdict order, numbers, instances."""

from __future__ import annotations

import json
import re
from typing import Any

# Falsified claims first, then errors, inconclusive, verified (a reader looks for problems first).
ORDER = {"falsified": 0, "error": 1, "inconclusive": 2, "verified": 3}
MAX_LIST = 6


def fmt(v: Any) -> str:
    """A value for a table cell: 4 significant digits, long lists abbreviated."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        shown = ", ".join(fmt(a) for a in v[:MAX_LIST])
        return f"[{shown}, … ({len(v)} values)]" if len(v) > MAX_LIST else f"[{shown}]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt(a)}" for k, a in v.items()) + "}"
    return str(v)


# A decimal written with more digits than a reader can use: 7 or more significant ones.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def _short(m: re.Match) -> str:
    digits = re.sub(r"[^0-9]", "", m.group(0).split("e")[0].split("E")[0]).lstrip("0")
    return f"{float(m.group(0)):.4g}" if len(digits) > 6 else m.group(0)


def readable(text: Any) -> str:
    """Free text (a reason, a note) with its long decimals rounded to 4 significant digits; the
    exact values stay in the results JSON."""
    return _LONG_NUMBER.sub(_short, str(text))


def _rounded(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.6g}")
    if isinstance(v, list):
        return [_rounded(a) for a in v]
    if isinstance(v, dict):
        return {k: _rounded(a) for k, a in v.items()}
    return v


def instance_text(inst: Any, limit: int = 1500) -> str:
    """An instance description, one key per line where it is a mapping; floats to 6 significant
    digits (the JSON keeps them exactly)."""
    if isinstance(inst, dict):
        text = "\n".join(
            f"{k} = {json.dumps(_rounded(v)) if not isinstance(v, str) else readable(v)}" for k, v in inst.items()
        )
    else:
        text = json.dumps(_rounded(inst))
    return text if len(text) <= limit else text[:limit] + " …"


def sorted_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(claims, key=lambda r: (ORDER.get(r["verdict"], 9), r["id"]))


def run_cost(prov: dict[str, Any]) -> str:
    """Wall time, and where the run recorded them, CPU time (of all parts of a resumed run),
    worker processes and peak memory."""
    out = f"wall time {float(prov.get('wall_time_s') or 0):.1f} s"
    if prov.get("cpu_time_s") is not None:
        out += f", CPU time {float(prov['cpu_time_s']):.1f} s"
    if (prov.get("parts") or 1) > 1:
        out += f" over {prov['parts']} parts (resumed runs added up)"
    if prov.get("jobs"):
        out += f" on {prov['jobs']} process{'es' if prov['jobs'] > 1 else ''}"
    if prov.get("peak_rss_mib") is not None:
        out += f", peak memory {float(prov['peak_rss_mib']):.0f} MiB"
    return out


def partial_note(prov: dict[str, Any], n_claims: int) -> str:
    """Empty for a complete run; for one stopped by Ctrl-C, what it holds and how to finish it."""
    if not prov.get("partial"):
        return ""
    return (
        f"PARTIAL REPORT: the run was interrupted after {n_claims} of {prov.get('claims_planned', '?')} claims; "
        "the times and verdict counts cover only those. Run the same command with --resume to finish it."
    )


def derivation_caption(r: dict[str, Any]) -> str:
    """What a claim's symbolic derivation is and what it shows, for the line above it."""
    if r.get("derivation_label"):
        return " ".join(r["derivation_label"].split())
    return (
        "What sympy computes exactly for this claim (each part named by what it is, where there are "
        "several); an expression that reduces to 0 is an identity the check relies on."
    )
