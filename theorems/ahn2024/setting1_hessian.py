r"""ahn2024.setting1_hessian — the Hessians at a minimum in Setting 1, (14)–(15), Appendix D.7.

    "at a minimum x* ∈ X*, the Hessian is given as ∇²f(x*) = (1/n) Σ_i ∂²ℓ(z, y_i)/∂z²|_{z=p_i(x*)}
     ∇p_i(x*)∇p_i(x*)ᵀ. … u_i(x) := ∇p_i(x)/‖∇p_i(x)‖ and λ_i(x) = (1/n)·∂²ℓ/∂z²|_{z=p_i(x)}·‖∇p_i(x)‖²,
     ∇²f(x*) = Σ_i λ_i(x*) u_i(x*)u_i(x*)ᵀ and ∇²f_i(x*) = nλ_i(x*) u_i(x*)u_i(x*)ᵀ, ∀i.   (14)
     tr(∇²f(x*)) = Σ_i λ_i(x*).   (15)"

Symbolic side: derive() computes what the identities rest on — the chain rule ∇²ℓ(p(x), y) =
ℓ''(p)∇p∇pᵀ + ℓ'(p)∇²p for the square loss ℓ = (z − y)², with ℓ'(y) = 0 (the ∇²p_i terms vanish at
x*) and ℓ''(y) = 2, the value the right-hand sides use. At the family's known minimizer x*
(rational, or a 50-digit teacher for tanh networks) sympy evaluates both sides of each identity from
the expressions of f, f_i and p_i; the residuals must vanish (exactly for polynomial families; below
10⁻³⁰ for the tanh network, whose labels are 50-digit numbers). Numeric side: the torch Hessian of f
at x* (sympy-compiled) against the same right-hand sides in float64.
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.problems.setting1 import diagonal_networks, linear_regressions, matrix_sensings, two_layer_tanhs
from flatcheck.verify import Budget, Claim, Constant, Evidence, constant

Z = sp.Symbol("z", real=True)
RESIDUAL_TOL = sp.Float("1e-30")
CONSTANTS = (
    Constant("c_inv_n", 1.0, "1/n in λ_i = (1/n)ℓ''‖∇p_i‖² (1·1/n)", "exact", text="the average over examples"),
    Constant("c_n", 1.0, "n in ∇²f_i(x*) = nλ_iu_iu_iᵀ (1·n)", "exact", text="one example's share"),
)


def _at_star(prob) -> dict[sp.Symbol, sp.Expr]:
    """x* as sympy substitutes it: exact for polynomial families; for the tanh network, 60-digit Floats, so
    that tanh(x*) and everything built on it is a number at once (the residuals then need no 50-digit
    evaluation of an expression tree; the labels carry 50 digits, the tolerance is 10⁻³⁰)."""
    digits = None if prob.is_polynomial else 60
    return {s: (v if digits is None else sp.Float(v, digits)) for s, v in zip(prob.symbols, prob.known["x_star"])}


def _sides(prob, ell_second: sp.Expr, budget: Budget | None = None):
    """(∇²f, Σλ_i u_iu_iᵀ, [∇²f_i], [nλ_i u_iu_iᵀ], tr∇²f, Σλ_i) at x*, given ℓ''(p_i)."""
    xs, at = prob.symbols, _at_star(prob)
    n = prob.n_examples
    c_inv_n, c_n = (sp.nsimplify(constant(budget, CONSTANTS, k)) if budget else 1 for k in ("c_inv_n", "c_n"))
    hess_f = prob.hess_expr.subs(at)
    grads = [sp.Matrix([sp.diff(p, s) for s in xs]).subs(at) for p in prob.known["predictions"]]
    lam = [c_inv_n * ell_second / n * (g.T * g)[0] for g in grads]
    outer = [g * g.T / (g.T * g)[0] for g in grads]
    rhs_f = sum((lam_i * o for lam_i, o in zip(lam, outer)), sp.zeros(len(xs)))
    hess_i = [sp.hessian(e, xs).subs(at) for e in prob.examples]
    rhs_i = [c_n * n * lam_i * o for lam_i, o in zip(lam, outer)]
    return hess_f, rhs_f, hess_i, rhs_i, hess_f.trace(), sum(lam)


def derive() -> dict[str, sp.Expr]:
    """The square loss ℓ = (z − y)² along a generic p(x): the chain rule's residual
    d²ℓ(p(x))/dx² − (ℓ''(p)p′² + ℓ'(p)p″) (0), ℓ'(y) (0) and ℓ''(y) (2)."""
    x, y = sp.symbols("x y", real=True)
    p = sp.Function("p")(x)
    ell = (Z - y) ** 2
    d1, d2 = sp.diff(ell, Z), sp.diff(ell, Z, 2)
    chain = sp.diff(ell.subs(Z, p), x, 2) - (d2.subs(Z, p) * sp.diff(p, x) ** 2 + d1.subs(Z, p) * sp.diff(p, x, 2))
    return {"chain_rule_residual": sp.simplify(chain), "ell_first": d1.subs(Z, y), "ell_second": d2.subs(Z, y)}


def make_check(ell_second: sp.Expr | None = None):
    """ℓ''(z, y)|_{z=y} given, or None: derive()'s (the paper's loss ℓ = (z − y)² has ℓ'' = 2)."""

    def check(prob, impl, budget) -> Evidence:
        derived = derive()
        if ell_second is None and (derived["chain_rule_residual"] != 0 or derived["ell_first"] != 0):
            values = {k: str(v) for k, v in derived.items()}
            return Evidence(False, values, note="the chain rule at x* leaves a ∇²p term")
        second = derived["ell_second"] if ell_second is None else ell_second
        at = _at_star(prob)
        grads = [sp.Matrix([sp.diff(p, s) for s in prob.symbols]).subs(at) for p in prob.known["predictions"]]
        if any(g == sp.zeros(prob.d, 1) for g in grads):
            return Evidence(None, out_of_scope="∇p_i(x*) = 0 (Setting 1 assumes ∇p_i ≠ 0 on X*)")
        hess_f, rhs_f, hess_i, rhs_i, tr, lam_sum = _sides(prob, second, budget)
        residuals = [hess_f - rhs_f, *[a - b for a, b in zip(hess_i, rhs_i)], sp.Matrix([tr - lam_sum])]
        worst = max((abs(sp.N(e, 50)) for r in residuals for e in r if e != 0), default=sp.Integer(0))
        x = torch.tensor([[float(v) for v in prob.known["x_star"]]], dtype=torch.float64)
        h_torch = prob.hess(x)[0]
        rhs_t = torch.tensor([[float(v) for v in row] for row in rhs_f.tolist()], dtype=torch.float64)
        tol = 1e3 * torch.finfo(torch.float64).eps * (1 + float(h_torch.abs().max()))
        err = float((h_torch - rhs_t).abs().max())
        values = {"symbolic_residual": float(worst), "float64_error": err, "trace": float(tr)}
        values["sum_lambda"] = float(lam_sum)
        holds = bool(worst <= RESIDUAL_TOL) and err <= tol
        ev = Evidence(holds, values, margin=(tol - err) / tol if holds else -1.0)
        if not holds:
            ev.note = f"(14)–(15) fail at x*: largest residual {float(worst):.3g}"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.setting1_hessian",
    paper="ahn2024",
    ref="(14)–(15), Appendix D.7 (also §4.2)",
    kind="identity",
    statement=r"x^*\in\mathcal X^*:\ \nabla^2 f(x^*)=\tfrac1n\sum_i\ell''\nabla p_i\nabla p_i^\top"
    r"=\sum_i\lambda_iu_iu_i^\top,\ \nabla^2 f_i(x^*)=n\lambda_iu_iu_i^\top,\ "
    r"\mathrm{tr}\,\nabla^2 f(x^*)=\sum_i\lambda_i",
    summary="At a global minimum of a training loss the Hessian is a sum of rank-one terms λ_i u_iu_iᵀ.",
    faithful="exact",
    # One-unit, one-input tanh networks, and only beyond the quick profile: sympy's 50-digit
    # evaluation of tanh expressions costs seconds.
    instances=lambda budget: st.one_of(
        diagonal_networks(),
        linear_regressions(),
        matrix_sensings(m=st.just(2)),
        *budget.scaled([], [two_layer_tanhs(width=st.just(1), inputs=st.just(1))], [two_layer_tanhs()]),
    ),
    check=make_check(),
    derive=derive,
    describe=lambda prob: prob.describe(),
    constants=CONSTANTS,
)
