"""The outcome of a run, read from its results document: what differs from the expected verdicts.

`flatcheck verify` (no implementation in the provenance) compares every verdict with the one the
catalog expects: a regression is a claim now falsified or in error that was expected otherwise (an
expected-verified claim first of all), an improvement one now verified that was expected otherwise,
any other difference a change; the papers' errata falsified as expected are expected findings.
`flatcheck check` judges the user's implementation: a defect is a claim falsified or in error on
it; the errata the catalog records were set aside (`set_aside`), never run against it.

The exit status follows: 0 when nothing differs (check: no defect), 1 otherwise.
"""

from __future__ import annotations

from typing import Any

from flatcheck.report.strength import GROUPS, falsified_group

BAD = ("falsified", "error")


def _expected(r: dict[str, Any]) -> str | None:
    return (r.get("expected") or {}).get("verdict")


def judge(doc: dict[str, Any]) -> dict[str, Any]:
    """The outcome object of the results document (lists of claim ids and the exit status)."""
    claims = sorted(doc["claims"], key=lambda r: r["id"])
    if doc["provenance"].get("implementation"):
        defects = [r["id"] for r in claims if r["verdict"] in BAD]
        return {
            "mode": "check",
            "status": 1 if defects else 0,
            "defects": defects,
            "set_aside": [e["id"] for e in doc.get("set_aside") or []],
            "verified": sum(r["verdict"] == "verified" for r in claims),
        }
    known = [r for r in claims if _expected(r) is not None]
    differ = [r for r in known if r["verdict"] != _expected(r)]
    regressions = [r["id"] for r in differ if r["verdict"] in BAD]
    improvements = [r["id"] for r in differ if r["verdict"] == "verified"]
    changes = [r["id"] for r in differ if r["id"] not in regressions + improvements]
    return {
        "mode": "verify",
        "status": 1 if differ else 0,
        "regressions": regressions,
        "improvements": improvements,
        "changes": changes,
        "errata": [r["id"] for r in known if r["verdict"] == _expected(r) == "falsified"],
        "as_expected": len(known) - len(differ),
        "no_expectation": [r["id"] for r in claims if _expected(r) is None],
    }


def outcome(doc: dict[str, Any]) -> dict[str, Any]:
    """The document's recorded outcome, or judged now (a document written before it was recorded)."""
    return doc.get("outcome") or judge(doc)


def _by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in doc["claims"]}


def expectation_text(r: dict[str, Any]) -> str:
    """`expected falsified, now verified`-style words for a claim whose verdict differs."""
    return f"expected {_expected(r)}, now {r['verdict']}"


def erratum_text(note: str, corrected: str | None) -> str:
    return note + (f" Corrected twin: {corrected}." if corrected else "")


def sections(doc: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(title, explanation, records) of the sections a report leads with, most urgent first; the
    errata come as a quieter last section (expected findings, or set aside by a check)."""
    out = outcome(doc)
    recs = _by_id(doc)
    if out["mode"] == "check":
        impl = doc["provenance"]["implementation"]
        if doc["provenance"].get("checked_as"):
            impl += f" (checked as {doc['provenance']['checked_as']})"
        return [
            (
                "Defects of the implementation",
                f"claims falsified by {impl}, or whose check failed on it",
                [recs[i] for i in out["defects"]],
            ),
            (
                "Paper errata set aside",
                "paper erratum — not a defect of your implementation; the corrected twin ran instead where one exists",
                [{**e, "verdict": "set aside"} for e in doc.get("set_aside") or []],
            ),
        ]
    return [
        ("Regressions", "expected otherwise, now falsified or error", [recs[i] for i in out["regressions"]]),
        ("Improvements", "expected otherwise, now verified", [recs[i] for i in out["improvements"]]),
        ("Other changes", "verdicts that differ from the expected ones", [recs[i] for i in out["changes"]]),
        (
            "Falsified or error (no expected verdict recorded)",
            "claims recorded without the catalog's expectation",
            [recs[i] for i in out["no_expectation"] if recs[i]["verdict"] in BAD],
        ),
    ] + [
        # The falsified section in three: a false conclusion is not a failed proof step, nor a slip of wording.
        (
            f"The papers' errata (expected findings): {title}",
            "statements the papers print wrongly, falsified as expected",
            [recs[i] for i in out["errata"] if falsified_group(recs[i]) == group],
        )
        for group, title in GROUPS
    ]


def quiet(title: str) -> bool:
    """Whether a section is the quieter one: the papers' errata, not what needs attention."""
    return title.startswith(("The papers' errata", "Paper errata"))


def note_of(r: dict[str, Any], mode: str = "verify") -> str:
    """The line a section shows under a claim: the erratum for an erratum, else what differs (verify)
    or the verdict (check), and why."""
    if r.get("verdict") == "set aside":
        return erratum_text(r["erratum"], r.get("corrected"))
    exp = r.get("expected") or {}
    if mode == "verify" and r["verdict"] == exp.get("verdict") == "falsified":
        return erratum_text(exp.get("note", ""), exp.get("corrected"))
    head = expectation_text(r) if exp and mode == "verify" else r["verdict"]
    return f"{head}: {r['reason']}"


def status_line(doc: dict[str, Any]) -> str:
    """One line: the verdict counts and, against the expectations, what differs."""
    out, s = outcome(doc), doc["summary"]
    wall = float(doc["provenance"].get("wall_time_s") or 0)
    if out["mode"] == "check":
        bad, aside = len(out["defects"]), len(out["set_aside"])
        # A check that crashed is counted, not passed, but said apart: its traceback tells whether the
        # class raised or flatcheck did.
        crashed = sum(r["verdict"] == "error" for r in doc["claims"])
        errors = f" ({crashed} of them a check that crashed: see its traceback)" if crashed else ""
        return (
            f"{bad} defect{'s' if bad != 1 else ''} of the implementation{errors}, "
            f"{aside} paper errat{'um' if aside == 1 else 'a'} set aside, "
            f"{out['verified']} of {len(doc['claims'])} claims verified ({s['inconclusive']} inconclusive), "
            f"{wall:.1f} s"
        )
    differ = len(out["regressions"]) + len(out["improvements"]) + len(out["changes"])
    errata = f" ({len(out['errata'])} papers' errata, as expected)" if out["errata"] else ""
    head = f"{s['verified']} verified, {s['falsified']} falsified{errata}, {s['inconclusive']} inconclusive, "
    head += f"{s['error']} error"
    if len(out["no_expectation"]) == len(doc["claims"]):
        return f"{head} — no expected verdicts recorded (results written before flatcheck recorded them)"
    if out["no_expectation"]:
        head += f"; {len(out['no_expectation'])} claims without an expected verdict"
    if differ:
        return (
            f"{head} — {differ} verdict{'s' if differ != 1 else ''} differ from the expected: "
            f"{len(out['regressions'])} regressions, {len(out['improvements'])} improvements, "
            f"{len(out['changes'])} other changes"
        )
    return f"{head} — every verdict as expected"


def terminal_lines(doc: dict[str, Any], report: str) -> list[str]:
    """What the command prints after a run: the sections with content, each claim with its replay
    (errata only named), where the report is, and the one-line summary last."""
    lines, mode = [], outcome(doc)["mode"]
    for title, why, recs in sections(doc):
        if not recs:
            continue
        lines.append(f"{title} ({len(recs)}) — {why}:")
        for r in recs:
            lines.append(f"  {r['id']}: {note_of(r, mode)}")
            if not quiet(title):
                lines.append(f"    replay: {r['replay']}")
    lines += [f"report in {report}", status_line(doc)]
    return lines
