"""The symbolic layer does work: each claim's check reads what its derive() computes, so a wrong
derivation (a coefficient, a factor, a closed form moved off its value) makes the claim falsified or
erroring on the reference implementations — never verified."""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import sympy as sp

from flatcheck.impl import builtin
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.runner import run_claim

d, n = sp.symbols("d n", positive=True, integer=True)


def _wrong(module, name: str, key, value):
    """A stand-in for module.name that returns the real derivation with entry `key` replaced by `value`."""
    real = getattr(module, name)

    def wrong(*args):
        out = real(*args)
        if isinstance(out, dict):
            return {**out, key: value}
        out = list(out) if isinstance(out, (list, tuple)) else out
        out[key] = value
        return out

    return wrong


# (module, derivation function the check reads, entry, wrong value)
CASES = [
    ("ahn2024.def3", "derive", "ratio_u_over_v", sp.Integer(-1)),
    ("ahn2024.eq4", "derive", "coefficients", [1, 1, sp.Integer(1)]),
    ("ahn2024.eq5", "derive", "kappa", sp.Integer(1)),
    ("ahn2024.lemma2", "derive_at", "coefficient", sp.Integer(-1)),
    ("ahn2024.sketch_d_factor", "derive", "full_batch", d),
    ("ahn2024.lemma4", "derive", "coefficient", d),
    ("ahn2024.setting1_hessian", "derive", "ell_second", sp.Integer(3)),
]


@pytest.mark.parametrize("name, function, key, value", CASES, ids=[c[0] for c in CASES])
def test_a_wrong_derivation_is_not_verified(monkeypatch, name, function, key, value):
    module = importlib.import_module(f"flatcheck_theorems.{name}")
    claim = module.CLAIM
    budget = dataclasses.replace(budget_for("quick", seed=0), time_limit_s=20)
    impl = builtin(claim.algorithm) if claim.algorithm else None
    right = run_claim(claim, budget, impl=impl, catalog_size=70)
    assert right.verdict == "verified", (right.reason, right.traceback)
    monkeypatch.setattr(module, function, _wrong(module, function, key, value))
    wrong = run_claim(claim, budget, impl=impl, catalog_size=70)
    assert wrong.verdict in ("falsified", "error"), wrong.reason
