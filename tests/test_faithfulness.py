"""Faithfulness: every catalog claim declares how its encoding relates to the paper, results record
it, and the report shows it beside each verdict with the strength of the evidence (instances
decided, tightest ratio, mutants killed); the papers' errata are grouped into false conclusions,
failing proof steps and slips of wording."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import strategies as st

from flatcheck.cli import main
from flatcheck.report import document, provenance, render, render_html, validate
from flatcheck.report.outcome import sections
from flatcheck.report.strength import falsified_group, mutant_tally, strength_text
from flatcheck.verify import FAITHFULNESS, Claim, Evidence, Faithful
from flatcheck.verify.claim import SCOPED
from flatcheck.verify.registry import all_claims
from flatcheck.verify.runner import run_claims

SCOPE = "diagonal networks only: the only family where Φ is in closed form"


def test_every_catalog_claim_declares_its_faithfulness_with_a_scope_where_one_is_due():
    claims = all_claims()
    undeclared = [i for i, c in claims.items() if c.faithful is None]
    assert not undeclared, f"claims without a faithfulness declaration: {undeclared}"
    unscoped = [i for i, c in claims.items() if c.faithful.kind in SCOPED and not c.faithful.scope.strip()]
    assert not unscoped
    # The id suffixes of CLAIMS.md name what a claim is about; the declaration must agree.
    for suffix, kind in (("steps", "steps"), ("wording", "wording"), ("corrected", "corrected")):
        wrong = [i for i, c in claims.items() if i.endswith("." + suffix) and c.faithful.kind != kind]
        assert not wrong, f"{wrong} end in .{suffix} but are not declared {kind}"
    # Every kind a reproduction claim can have is a reproduction, a corrected or a wording one.
    repro = {c.faithful.kind for c in claims.values() if c.kind == "reproduction"}
    assert repro <= {"reproduction", "corrected", "wording"}
    assert set(Counter(c.faithful.kind for c in claims.values())) <= set(FAITHFULNESS)


def test_a_declaration_is_checked_and_normalised():
    assert Faithful("exact").to_json() == {"kind": "exact", "scope": ""}
    for kind in SCOPED:
        with pytest.raises(ValueError, match="one-line scope"):
            Faithful(kind)
    with pytest.raises(ValueError, match="expected one of"):
        Faithful("approximate")
    claim = _toy("ok", lambda x, i, b: Evidence.bound(float(x), 100.0, 0.0), ("restricted", SCOPE))
    assert claim.faithful == Faithful("restricted", SCOPE)
    with pytest.raises(ValueError, match="toy.bad: bad faithful"):
        _toy("bad", lambda x, i, b: Evidence(True), ("restricted", " "))


def _toy(name: str, check, faithful=None) -> Claim:
    return Claim(
        id=f"toy.{name}",
        paper="toy",
        ref=f"Lemma {name}",
        kind="bound",
        statement=r"x\le c",
        summary=f"toy claim {name}",
        instances=lambda budget: st.integers(0, 20),
        check=check,
        faithful=faithful,
    )


def _doc() -> dict:
    claims = [
        _toy("restricted", lambda x, i, b: Evidence.bound(float(x) + 1, 40.0, 1e-9), ("restricted", SCOPE)),
        _toy("undeclared", lambda x, i, b: Evidence.bound(float(x) + 1, 40.0, 1e-9)),
        _toy("conclusion", lambda x, i, b: Evidence.bound(float(x) + 1, 5.0, 1e-9), "exact"),
        _toy("proof.steps", lambda x, i, b: Evidence.bound(float(x) + 1, 5.0, 1e-9), "steps"),
        _toy("caption", lambda x, i, b: Evidence.bound(float(x) + 1, 5.0, 1e-9), ("wording", "the caption as printed")),
        _toy("old.wording", lambda x, i, b: Evidence.bound(float(x) + 1, 5.0, 1e-9)),
    ]
    records = [r.to_json() for r in run_claims(claims, profile="quick")]
    for r in records:
        falsified = r["verdict"] == "falsified"
        r["expected"] = {
            "verdict": r["verdict"],
            "note": f"erratum of {r['id']}" if falsified else "",
            "corrected": None,
        }
        r["as_expected"] = True
    return document(provenance("quick", 0, "cpu"), records, 1.0)


@pytest.fixture(scope="module")
def doc() -> dict:
    return _doc()


def test_results_record_the_declaration_and_the_tightest_ratio(doc):
    validate(doc)
    rec = {r["id"]: r for r in doc["claims"]}
    assert rec["toy.restricted"]["faithful"] == {"kind": "restricted", "scope": SCOPE}
    assert rec["toy.undeclared"]["faithful"] is None
    assert rec["toy.restricted"]["verdict"] == "verified" and rec["toy.conclusion"]["verdict"] == "falsified"
    ev = rec["toy.restricted"]["evidence"]["values"]
    assert rec["toy.restricted"]["tightness"] == pytest.approx(ev["lhs"] / ev["rhs"])
    bad = json.loads(json.dumps(doc))
    bad["claims"][0]["faithful"] = {"kind": "restricted", "scope": ""}
    with pytest.raises(Exception, match="not a flatcheck results document"):
        validate(bad)


def test_the_report_shows_faithfulness_and_evidence_beside_each_verdict(doc):
    md, page = render(doc), render_html(doc)
    assert "| verdict | claim | faithfulness | evidence |" in md
    row = next(line for line in md.splitlines() if line.startswith("| **verified** | [`toy.restricted`]"))
    assert f"restricted: {SCOPE}" in row and "decided" in row and "ratio" in row
    assert f"Faithfulness: restricted: {SCOPE}." in md.split("### toy.restricted")[1].split("###")[0]
    assert "undeclared" in md
    assert "<th>faithfulness</th><th>evidence</th>" in page and "<b>restricted</b>" in page
    assert page.count(SCOPE) == 2  # the summary row and the claim's own section


def test_evidence_strength_counts_decided_out_of_scope_and_mutants_killed():
    rec = {
        "id": "p.c",
        "verdict": "verified",
        "examples": 12,
        "undecided": 2,
        "out_of_scope": 3,
        "evidence": {"instance": 1, "values": {"lhs": 0.5, "rhs": 2.0}, "margin": 1.5},
    }
    assert strength_text(rec) == "10 decided, 2 undecided, 3 out of scope · ratio 0.25"
    rec["evidence"]["values"] = {}
    assert strength_text(rec) == "10 decided, 2 undecided, 3 out of scope · margin 1.5 tol"
    mutants = {"mutants": [{"claim": "p.c", "status": s} for s in ("killed", "survived", "undecided")]}
    assert mutant_tally(mutants) == {"p.c": {"killed": 1, "decided": 2, "total": 3}}
    assert strength_text(rec, mutant_tally(mutants)).endswith("mutants 1/3 killed")


def test_the_errata_are_grouped_by_what_is_false(doc):
    recs = {r["id"]: r for r in doc["claims"]}
    assert falsified_group(recs["toy.conclusion"]) == "conclusions"
    assert falsified_group(recs["toy.proof.steps"]) == "steps"
    assert falsified_group(recs["toy.caption"]) == "wording"
    assert falsified_group(recs["toy.old.wording"]) == "wording"  # undeclared: the id suffix decides
    groups = {title: [r["id"] for r in rs] for title, _why, rs in sections(doc) if title.startswith("The papers'")}
    assert list(groups.values()) == [["toy.conclusion"], ["toy.proof.steps"], ["toy.caption", "toy.old.wording"]]
    md = render(doc)
    heads = [
        f"## The papers' errata (expected findings): {t}"
        for t in ("conclusions that are false", "proof steps that fail", "wording, typos and notation")
    ]
    assert [md.index(h) for h in heads] == sorted(md.index(h) for h in heads) and md.index(heads[-1]) < md.index(
        "## Summary"
    )


def test_report_command_reads_mutants_beside_the_results_or_given(doc, tmp_path, capsys):
    (tmp_path / "results.json").write_text(json.dumps(doc))
    mutants = {"profile": "quick", "seed": 0, "mutants": [{"claim": "toy.restricted", "status": "killed"}]}
    assert main(["report", str(tmp_path / "results.json")]) == 0
    assert "mutants 1/1 killed" not in (tmp_path / "report.md").read_text()
    (tmp_path / "mutants.json").write_text(json.dumps(mutants))
    assert main(["report", str(tmp_path / "results.json")]) == 0
    md = (tmp_path / "report.md").read_text()
    assert "mutants 1/1 killed" in md and "(profile quick, seed 0)" in md
    assert "mutants 1/1 killed" in (tmp_path / "report.html").read_text()
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"mutants": [{"claim": "toy.restricted", "status": "survived"}]}))
    assert main(["report", str(tmp_path / "results.json"), "--mutants", str(other)]) == 0
    assert "mutants 0/1 killed" in (tmp_path / "report.md").read_text()
    other.write_text(json.dumps({"mutants": [{"claim": "toy.restricted"}]}))
    assert main(["report", str(tmp_path / "results.json"), "--mutants", str(other)]) == 2
    assert "not a flatcheck mutants document" in capsys.readouterr().err


def test_show_states_the_faithfulness(capsys):
    assert main(["show", "ahn2024.lemma4"]) == 0
    assert "Faithfulness to the paper: restricted: diagonal networks only" in capsys.readouterr().out
