"""Replay commands: one line that reruns one claim exactly as a run ran it.

A run is described by its options, {option name: value as the command line took it}, plus
`command` (verify or check) and, for check, `target`. A replay carries every option that is set,
selects the claim by its exact id (never its prefix siblings such as `<id>.corrected`) and writes
to a directory of its own under `reports/replay/`, named by the claim and a digest of the options,
so it never overwrites the report it came from nor the replay of another configuration."""

from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

REPLAY_ROOT = "reports/replay"


def replay_out(claim_id: str, options: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{REPLAY_ROOT}/{claim_id}-{digest}"


def _flag(key: str, val: Any) -> list[str]:
    flag = "--" + key.replace("_", "-")
    if val is True:
        return [flag]
    if isinstance(val, (list, tuple)):
        return [flag, *map(str, val)]
    if isinstance(val, dict):
        return [flag, json.dumps(val, sort_keys=True)]
    return [flag, str(val)]


def replay_command(claim_id: str, options: dict[str, Any]) -> str:
    """The shell command that reruns `claim_id` with `options` (values left unset — None, False,
    empty — are the command's defaults and are left out)."""
    command = options.get("command", "verify")
    parts = ["flatcheck", command]
    parts += [str(options["target"]), "--claims", claim_id] if command == "check" else [claim_id]
    parts.append("--exact")
    for key, val in options.items():
        if key in ("command", "target") or val is None or val is False or val == [] or val == {} or val == "":
            continue
        parts += _flag(key, val)
    parts += ["--out", replay_out(claim_id, options)]
    return shlex.join(parts)
