"""Formatting shared by the Markdown and HTML renderings: verdict order, numbers, instances."""

from __future__ import annotations

import json
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


def instance_text(inst: Any, limit: int = 1500) -> str:
    """An instance description, one key per line where it is a mapping."""
    if isinstance(inst, dict):
        text = "\n".join(f"{k} = {json.dumps(v) if not isinstance(v, str) else v}" for k, v in inst.items())
    else:
        text = json.dumps(inst)
    return text if len(text) <= limit else text[:limit] + " …"


def sorted_claims(claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(claims, key=lambda r: (ORDER.get(r["verdict"], 9), r["id"]))


def run_cost(prov: dict[str, Any]) -> str:
    """Wall time, and where the run recorded them, CPU time, worker processes and peak memory."""
    out = f"wall time {float(prov.get('wall_time_s') or 0):.1f} s"
    if prov.get("cpu_time_s") is not None:
        out += f", CPU time {float(prov['cpu_time_s']):.1f} s"
    if prov.get("jobs"):
        out += f" on {prov['jobs']} process{'es' if prov['jobs'] > 1 else ''}"
    if prov.get("peak_rss_mib") is not None:
        out += f", peak memory {float(prov['peak_rss_mib']):.0f} MiB"
    return out
