"""The symbolic layer does work: each claim's check reads what its derive() computes, so a wrong
derivation (a coefficient, a factor, a closed form moved off its value) makes the claim falsified or
erroring on the reference implementations — never verified. (That the right derivation verifies each
of these claims is the catalog battery's test, `tests/test_catalog.py`.)"""

from __future__ import annotations

import dataclasses
import importlib

import pytest
import sympy as sp

from flatcheck.impl import builtin
from flatcheck.verify.profiles import budget_for
from flatcheck.verify.registry import all_claims
from flatcheck.verify.runner import run_claim

d = sp.Symbol("d", positive=True, integer=True)
SIGMA = sp.Symbol("sigma", positive=True)


def _wrong(real, key, value):
    """A stand-in for the derivation `real` that returns its result with entry `key` replaced by `value`."""

    def wrong(*args):
        return {**real(*args), key: value}

    return wrong


# (claim, module whose derivation its check reads, that function, entry, a wrong value)
CASES = [
    ("ahn2024.def3", "ahn2024.def3", "derive", "ratio_u_over_v", sp.Integer(-1)),
    ("ahn2024.eq4", "ahn2024.eq4", "derive", "coefficients", [1, 1, sp.Integer(1)]),
    ("ahn2024.eq5", "ahn2024.eq5", "derive", "kappa", sp.Integer(1)),
    ("ahn2024.lemma2", "ahn2024.lemma2", "derive_at", "coefficient", sp.Integer(-1)),
    ("ahn2024.sketch_d_factor", "ahn2024.sketch_d_factor", "derive", "full_batch", d),
    ("ahn2024.lemma4", "ahn2024.lemma4", "derive", "coefficient", d),
    ("ahn2024.lemma6", "ahn2024.lemma6", "derive", "orbit_invariance", [sp.Integer(1)]),
    ("ahn2024.setting1_hessian", "ahn2024.setting1_hessian", "derive", "ell_second", sp.Integer(3)),
    ("dexter2024.sec3_1.corrected", "dexter2024._coherence", "extreme_values", "identical_exponent", sp.Rational(1, 2)),
    ("nso.eq12", "nso.eq12", "derive", "coefficient", 2 * SIGMA**2),
    ("nso.prop2_1", "nso.prop2_1", "derive", "coefficient", sp.Integer(1)),
    ("nso.lemmaA4", "nso.lemmaA4", "derive", "coefficient", sp.Integer(1)),
    ("wen2023.eq4_eq5", "wen2023.eq4_eq5", "derive", "c2", sp.Integer(1)),
    ("wen2023.theorem12", "wen2023.theorem12", "derive", "coefficient", sp.Integer(1)),
    ("wen2023.theorem14", "wen2023.theorem14", "derive", "coefficient", sp.Integer(1)),
    ("wen2023.theorem9_10", "wen2023.theorem9_10", "derive", "coefficient", sp.Integer(1)),
    ("wen2023.lemma22.corrected", "wen2023._lemma22", "derive_weight", "power_of_grad_norm", 0),
]


@pytest.mark.parametrize("claim_id, where, function, key, value", CASES, ids=[c[0] for c in CASES])
def test_a_wrong_derivation_is_not_verified(monkeypatch, claim_id, where, function, key, value):
    claim = all_claims()[claim_id]
    assert claim.derive is not None
    module = importlib.import_module(f"flatcheck_theorems.{where}")
    monkeypatch.setattr(module, function, _wrong(getattr(module, function), key, value))
    budget = dataclasses.replace(budget_for("quick", seed=0), time_limit_s=20)
    impl = builtin(claim.algorithm) if claim.algorithm else None
    res = run_claim(claim, budget, impl=impl, catalog_size=len(all_claims()))
    assert res.verdict in ("falsified", "error"), res.reason
