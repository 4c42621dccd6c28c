r"""Lemma B.1 (29) of the NSO paper, shared by its printed reading (`nso.lemmaB1`) and the one its
proof derives (`nso.lemmaB1.corrected`): the check, its declared constants and the instances (half
of them where the bound is attained, `tight_runs`). The statement is in `lemmaB1.py`'s docstring."""

from __future__ import annotations

from dataclasses import replace

import sympy as sp
from hypothesis import strategies as st
from hypothesis import target
from hypothesis.control import currently_in_test_context

from flatcheck.impl.nso_readback import unsupported_noise, weighted_gradient_bound
from flatcheck.problems.nso_families import NSOInstance, edge_quadratic_runs, run_instances
from flatcheck.verify import Constant, Evidence, constant

C = sp.Symbol("C", positive=True)


def declared(first_printed: str) -> tuple[Constant, ...]:
    """The constants of a reading of (29): the first term's 2 (printed as `first_printed`) and the
    noise term's factor C (×1); both smaller is stronger."""
    return (
        Constant("first", 2.0, first_printed, "smaller", text="the first term"),
        Constant("noise", 1.0, "C in CΣηᵢ²(E‖δᵢ‖² + E‖ξᵢ‖²)/Σηᵢ, ×1", "smaller", text="the noise term"),
    )


def tight_runs(budget) -> st.SearchStrategy[NSOInstance]:
    """Runs where (29) is attained, T the profile's longest: a quadratic in one coordinate (its
    curvature is then C), a noisy oracle, η just below 1/C — the descent lemma is an equality there
    and the stationary E‖∇F‖² ≈ Cη·E‖ξ‖², so the noise term's constant is exercised.
    W₀ = ±8, the edge of the families' starts (`edge_quadratic_runs`): E Z ≈ 2CD²/T + O(noise)
    there, D² = CW₀²/2, so the first term's constant is decided by a gap that grows like W₀²
    against a sampling error that does not (from W₀ = ±½ the noise of a quick run can hide the
    printed 2C·D²'s failure at C < 1)."""
    longest = max(budget.scaled([4, 16], [4, 16, 64], [4, 16, 64, 256]))
    return edge_quadratic_runs({"c": st.just(1 - 2.0**-10), "T": st.just(longest)})


def instances(budget) -> st.SearchStrategy[NSOInstance]:
    # The tight runs first: hypothesis' first example is the simplest choice of one_of, so even a
    # run of 4 examples (quick) starts where (29) is attained, with the smallest C (1/8).
    return st.one_of(tight_runs(budget), run_instances(budget))


def make_check(first_term_factor: sp.Expr, constants: tuple[Constant, ...]):
    """(29) with the first term first·(first_term_factor)·D²/Σηᵢ, first_term_factor in C, and the
    noise term's factor `noise` (the declared constants; the paper: 2·C and 1)."""
    # Plain floats (math): lambdify's default modules import scipy, a second of every run's start-up.
    factor = sp.lambdify(C, first_term_factor, "math")

    def check(inst: NSOInstance, impl, budget) -> Evidence:
        if why := unsupported_noise(impl, inst):
            return Evidence(None, out_of_scope=why)
        first = constant(budget, constants, "first") * float(factor(inst.C))
        lhs, rhs, tol, values, note = weighted_gradient_bound(
            impl, inst, first, budget, noise_factor=constant(budget, constants, "noise")
        )
        ev = Evidence.bound(lhs, rhs, tol, **values)
        if currently_in_test_context():  # steer the search toward the instance closest to failing
            target(lhs / max(rhs, tol), label="tightness")
        return replace(ev, margin=ev.values["slack"] / max(rhs, tol), note="" if ev.holds else note)

    return check
