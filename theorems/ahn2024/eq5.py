r"""ahn2024.eq5 — the mean perturbation of RSP, eq. (5), proof sketch of Lemma 2, §3.2.

    "Since E[g_t g_tᵀ] = (1/d) I_d, using the fact ∇³f(x_t)[g_t, g_t] = ∇ tr(∇²f(x_t) g_t g_tᵀ),
     it follows that  E v_t = ½ ρ² Proj⊥_{∇f(x_t)} ∇tr̄(x_t) + O(ρ³),   (5)"
    with v_t := Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t), g_t ~ Unif(S^{d−1})  (Algorithm 1, §3.1).

Symbolic side (exact, no sampling): derive() computes the coefficient κ of (5) from a generic cubic
in d = 3 — the ρ² term of E ∇f(x+ρg) over the sphere is κρ²∇tr̄ with κ = ½ (E ggᵀ = I/d), its ρ¹
term 0 — and the printed ½ must equal κ. On a polynomial f and a rational x, E ∇f(x+ρg) is computed
with the moment formulas of the uniform sphere as a polynomial in ρ; the remainder
E v_t − κρ² Proj⊥ ∇tr̄(x) must have no ρ⁰, ρ¹ or ρ² term (so it is O(ρ³)).
Power: the O(ρ³) is loose on every instance, not only on those tried. g and −g are equally likely, so
every odd moment of the sphere vanishes and E ∇f(x+ρg) is even in ρ; the projection Proj⊥_{∇f(x)}
depends on x alone, so E v_t is even in ρ too, and the remainder starts at ρ⁴. The order mutant
(O(ρ⁴)) is therefore itself true and survives; the evidence shows why: the lowest power of ρ in the
exact remainder (`remainder_lowest_order`, 4 where f has degree ≥ 5, none where the remainder is 0)
and its odd coefficients (`remainder_odd_terms`, all 0). The mutant O(ρ⁵) is killed wherever the ρ⁴
term is non-zero.
Numeric side (against the RSP implementation): v_t is read back from the implementation's own
perturbed steps, v = (x − x⁺)/η − ∇f(x); the Monte Carlo mean of v_t (antithetic pairs for the
built-in batched step, plain draws for a user's class; simultaneous normal intervals with the
catalog's error rate) must contain the exact E v_t at that ρ.
"""

from __future__ import annotations

from itertools import combinations_with_replacement

import sympy as sp
import torch

from flatcheck import cache
from flatcheck.impl.rsp_perturbations import perturbations
from flatcheck.problems import PointInstance, log_uniform, point_instances, smooth_problems
from flatcheck.stats import mean_interval
from flatcheck.symbolic import expectation, proj_out
from flatcheck.verify import Claim, Constant, Evidence, constant

RHO = sp.Symbol("rho", positive=True)
CONSTANTS = (
    Constant("half", 0.5, "½ in ½ρ²", "exact", text="the coefficient of Proj⊥∇tr̄"),
    Constant("order", 3, "3 in O(ρ³)", "larger", "order", 1, "the remainder's order"),
)


def exact_mean(inst: PointInstance, half: sp.Rational = sp.Rational(1, 2)) -> tuple[sp.Matrix, sp.Matrix]:
    """(E v_t as a polynomial in ρ, the predicted half·ρ² Proj⊥ ∇tr̄(x)), exactly ((5): half = ½); kept on
    disk (`flatcheck.cache`) per (f, x, half): a seed's instances come back in the next run."""
    prob = inst.problem
    key = f"{cache.expr_key(prob.symbols)}\n{cache.expr_key(prob.expr)}\n{inst.x}\n{half}\n{cache.code_key(__file__)}"
    return cache.memo("ahn2024.eq5", key, lambda: _exact_mean(inst, half))


def _exact_mean(inst: PointInstance, half: sp.Rational) -> tuple[sp.Matrix, sp.Matrix]:
    prob = inst.problem
    gs = sp.symbols(f"g1:{prob.d + 1}", real=True)
    at_x = dict(zip(prob.symbols, inst.x))
    shifted = {s: v + RHO * g for s, v, g in zip(prob.symbols, inst.x, gs)}
    mean_grad = sp.Matrix([expectation(ge.subs(shifted, simultaneous=True), gs, "sphere") for ge in prob.grad_expr])
    grad_x = sp.Matrix([ge.subs(at_x) for ge in prob.grad_expr])
    grad_tr = sp.Matrix([sp.diff(prob.trace_bar_expr, s).subs(at_x) for s in prob.symbols])
    return proj_out(grad_x, mean_grad).applyfunc(sp.expand), proj_out(grad_x, half * RHO**2 * grad_tr)


def derive() -> dict[str, object]:
    """For a generic cubic f in d = 3 at x = 0: E_g ∇f(ρg) over g ~ Unif(S²) as a polynomial in ρ.
    Its ρ¹ term (0: E g = 0) and the coefficient κ of its ρ² term, κ·∇tr̄ with tr̄ = tr∇²f/d (κ = ½)."""
    d = 3
    xs, gs = sp.symbols(f"x1:{d + 1}", real=True), sp.symbols(f"g1:{d + 1}", real=True)
    monomials = [sp.Mul(*m) for k in (1, 2, 3) for m in combinations_with_replacement(xs, k)]
    f = sum(sp.Symbol(f"a{i}") * m for i, m in enumerate(monomials))
    at_zero = {x: 0 for x in xs}
    shifted = {x: RHO * g for x, g in zip(xs, gs)}
    mean = [sp.expand(expectation(sp.diff(f, x).subs(shifted, simultaneous=True), gs, "sphere")) for x in xs]
    grad_tr = [sp.diff(sp.hessian(f, xs).trace() / d, x).subs(at_zero) for x in xs]
    ratios = {sp.simplify(m.coeff(RHO, 2) / t) for m, t in zip(mean, grad_tr)}
    (kappa,) = ratios
    return {"rho1_term": [m.coeff(RHO, 1) for m in mean], "kappa": kappa}


def check(inst: PointInstance, impl, budget) -> Evidence:
    printed, kappa = sp.nsimplify(constant(budget, CONSTANTS, "half")), derive()["kappa"]
    if printed != kappa:
        return Evidence(
            False,
            {"printed_coefficient": str(printed), "derived_coefficient": str(kappa)},
            note=f"(5) prints {printed}ρ²Proj⊥∇tr̄; the sphere's second moment gives {kappa}",
        )
    order = int(constant(budget, CONSTANTS, "order"))
    mean, pred = exact_mean(inst, kappa)
    rem = (mean - pred).applyfunc(sp.expand)
    low = [sp.Poly(r, RHO).coeff_monomial(RHO**k) for r in rem for k in range(order)]
    if any(c != 0 for c in low):
        return Evidence(
            False,
            {"low_order_terms_of_remainder": [str(c) for c in low]},
            note=f"E v_t − {kappa}ρ²Proj⊥∇tr̄ has a term of order < {order} in ρ",
        )
    terms = [sp.Poly(r, RHO).as_dict() for r in rem]
    powers = sorted({k for t in terms for (k,), c in t.items() if c != 0})
    rho = inst.scalars["rho"]
    x = inst.x_tensor(device=budget.device)
    n = budget.draws(impl)
    v = perturbations(impl, inst.problem, x, {"lr": 1.0, "rho": rho}, n, budget.seed)
    # Averages of the two halves' rows are i.i.d. whether or not the draws were antithetic.
    pairs = (v[: n // 2] + v[n // 2 : 2 * (n // 2)]) / 2
    est, half = mean_interval(pairs, budget.alpha)
    exact = torch.tensor([float(m.subs(RHO, rho)) for m in mean], dtype=torch.float64, device=x.device)
    predicted = torch.tensor([float(p.subs(RHO, rho)) for p in pred], dtype=torch.float64, device=x.device)
    eps = torch.finfo(torch.float64).eps
    scale = float(x.abs().max() + inst.problem.grad(x).abs().max() + v.abs().max())
    tol = half + 1e3 * eps * scale
    err = (est - exact).abs()
    worst = float(((tol - err) / tol).min())
    values = {
        "rho": rho,
        "remainder_lowest_order": powers[0] if powers else None,
        "remainder_odd_terms": sorted({str(c) for t in terms for (k,), c in t.items() if k % 2}) or ["0"],
        "draws": n,
        "measured_mean_v": est.tolist(),
        "exact_mean_v": exact.tolist(),
        "predicted_half_rho2_proj_grad_trbar": predicted.tolist(),
        "interval_halfwidth": half.tolist(),
        "measured_coefficient": float(torch.linalg.vector_norm(est)) / rho**2,
        "predicted_coefficient": float(torch.linalg.vector_norm(predicted)) / rho**2,
    }
    holds = bool((err <= tol).all())
    note = "" if holds else "the implementation's mean perturbation differs from the exact E v_t"
    return Evidence(holds, values, margin=worst, note=note)


CLAIM = Claim(
    id="ahn2024.eq5",
    paper="ahn2024",
    ref="eq. (5), proof sketch of Lemma 2, §3.2; Algorithm 1",
    kind="expansion+expectation",
    statement=r"\mathbb E\,v_t=\tfrac12\rho^2\,\mathrm{Proj}^\perp_{\nabla f(x_t)}\nabla\bar{\mathrm{tr}}(x_t)"
    r"+\mathcal O(\rho^3),\quad v_t=\mathrm{Proj}^\perp_{\nabla f(x_t)}\nabla f(x_t+\rho g_t),\ "
    r"g_t\sim\mathrm{Unif}(\mathbb S^{d-1})",
    summary="RSP's mean perturbation is ½ρ² times the projected gradient of tr̄, up to O(ρ³).",
    faithful="exact",
    instances=lambda budget: point_instances(
        smooth_problems(max_d=5, degrees=(3, 4, 6)), scalars={"rho": log_uniform(-4, -1)}, lo=-4, hi=4
    ),
    check=check,
    derive=derive,
    algorithm="rsp",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
