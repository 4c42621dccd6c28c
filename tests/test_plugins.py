"""Claims are plug-ins: a package registered under the entry-point group `flatcheck.claims` is listed,
verified, reported and collected by `pytest --flatcheck` like the built-in catalog; the template of
the README's "Writing a claim" is a working claim, proven both ways."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

from flatcheck.cli import main
from flatcheck.verify import registry
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import run_claim

CLAIM_MODULE = """
from hypothesis import strategies as st

from flatcheck.verify import Claim, Evidence


def make_check(power):
    def check(n, impl, budget):
        lhs, rhs = sum(range(1, n + 1)) ** 2, sum(k**power for k in range(1, n + 1))
        return Evidence(lhs == rhs, {"lhs": lhs, "rhs": rhs}, note="" if lhs == rhs else f"{lhs} != {rhs}")
    return check


def claim(name, power):
    return Claim(
        id=f"extpaper.{name}",
        paper="extpaper",
        ref="Nicomachus",
        kind="identity",
        statement=r"(\\sum_{k\\le n} k)^2 = \\sum_{k\\le n} k^%d" % power,
        summary=f"The square of the n-th triangular number is the sum of the first n {name}.",
        instances=lambda budget: st.integers(1, 30),
        check=make_check(power),
    )
"""


def register(site, monkeypatch, dist: str, entry: str) -> None:
    """Leave in `site` what pip leaves for an installed distribution `dist` with one entry point
    `entry` in flatcheck.claims, put `site` on sys.path, and make the registry read it afresh."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[flatcheck.claims]\n{entry}\n")
    monkeypatch.syspath_prepend(str(site))
    registry.all_claims.cache_clear()


@pytest.fixture
def external_package(tmp_path, monkeypatch):
    """A package `extclaims` with one true and one false claim, installed the way pip would leave
    it: the modules and a `.dist-info` whose entry_points.txt registers it under flatcheck.claims."""
    pkg = tmp_path / "extclaims"
    (pkg / "paper").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "paper" / "__init__.py").write_text("")
    (pkg / "paper" / "_shared.py").write_text(CLAIM_MODULE)
    for name, power in (("cubes", 3), ("squares", 2)):
        source = f"from extclaims.paper._shared import claim\n\nCLAIM = claim({name!r}, {power})\n"
        (pkg / "paper" / f"{name}.py").write_text(source)
    register(tmp_path, monkeypatch, "extclaims", "extclaims = extclaims")
    yield tmp_path
    registry.all_claims.cache_clear()
    for name in [m for m in sys.modules if m == "extclaims" or m.startswith("extclaims.")]:
        del sys.modules[name]


def test_an_installed_claim_package_is_listed_verified_and_reported(external_package, capsys):
    claims = registry.all_claims()
    assert {"extpaper.cubes", "extpaper.squares"} <= set(claims)
    assert "flatcheck_theorems" in {p.__name__ for p in registry.catalog_packages()}  # the built-in one too
    assert "ahn2024.eq4" in claims
    assert not any(c.startswith("template.") for c in claims)  # `_` modules are never claims

    assert main(["list", "extpaper"]) == 0
    listed = capsys.readouterr().out
    assert "extpaper.cubes" in listed and "extpaper.squares" in listed

    out = external_package / "report"
    args = ["--profile", "quick", "--seed", "0", "--jobs", "1", "--quiet", "--out", str(out)]
    # Nicomachus' theorem holds for cubes and fails for squares (n = 2: 9 ≠ 5).
    assert main(["verify", "extpaper.cubes", *args]) == 0
    assert main(["verify", "extpaper", *args]) == 1
    results = {c["id"]: c for c in json.loads((out / "results.json").read_text())["claims"]}
    assert results["extpaper.cubes"]["verdict"] == "verified"
    assert results["extpaper.squares"]["verdict"] == "falsified"
    assert results["extpaper.squares"]["counterexample"]["instance"] == {"instance": "2"}
    report = (out / "report.md").read_text()
    assert "extpaper.cubes" in report and "extpaper.squares" in report


def test_pytest_flatcheck_collects_an_installed_claim_package(external_package):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(external_package), os.environ.get("PYTHONPATH", "")])}
    (external_package / "test_nothing.py").write_text("")
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--flatcheck", "--flatcheck-claims=extpaper"],
        cwd=external_package,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 passed" in out.stdout
    assert "extpaper.squares" in out.stdout


def test_a_broken_registration_is_one_clear_error(tmp_path, monkeypatch):
    register(tmp_path, monkeypatch, "badclaims", "bad = no_such_package_here")
    try:
        with pytest.raises(registry.FlatcheckError, match="no_such_package_here.*cannot be imported"):
            registry.all_claims()
    finally:
        registry.all_claims.cache_clear()


def test_no_registered_catalog_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(registry, "entry_points", lambda group: [])
    registry.all_claims.cache_clear()
    try:
        with pytest.raises(registry.FlatcheckError, match="no claim package is registered.*pip install -e"):
            registry.all_claims()
    finally:
        registry.all_claims.cache_clear()


def test_the_template_is_a_working_claim_proven_both_ways():
    from flatcheck_theorems import _template

    budget = dataclasses.replace(budget_for("quick"), max_examples=30)
    assert run_claim(_template.CLAIM, budget).verdict == "verified"
    # With the constant ¼ instead of ½ the bound is false (tight along the top eigenvector).
    weaker = dataclasses.replace(_template.CLAIM, check=_template.make_check(sp.Rational(1, 4)))
    assert run_claim(weaker, budget).verdict == "falsified"


def test_the_catalog_folder_is_installed_under_flatcheck_s_own_name():
    """pyproject.toml lists every package of flatcheck and of the catalog (mapped from theorems/)."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    conf = tomllib.loads((root / "pyproject.toml").read_text())
    assert conf["tool"]["setuptools"]["package-dir"] == {"flatcheck_theorems": "theorems"}
    assert conf["project"]["entry-points"]["flatcheck.claims"] == {"flatcheck": "flatcheck_theorems"}
    tree = sorted(
        ".".join(p.parent.relative_to(root).parts).replace("theorems", "flatcheck_theorems", 1)
        for top in ("flatcheck", "theorems")
        for p in (root / top).rglob("__init__.py")
    )
    assert sorted(conf["tool"]["setuptools"]["packages"]) == tree
