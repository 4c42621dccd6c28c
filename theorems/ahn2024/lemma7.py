r"""ahn2024.lemma7 — Lemma 7, Appendix A.1 (proof D.3).

    "Lemma 7. Let Assumption 1 hold and f have β-Lipschitz gradients. For a vector v satisfying
     v ⊥ ∇f(x) and ‖v‖ = O(1), consider the update x⁺ − x = −η(∇f(x) + v). Then, for sufficiently
     small η, if x is in ζ-neighborhood of X*, the following holds:
     • Φ(x⁺) − Φ(x) = −η∂Φ(x)v + O(L_∂Φ η²(‖∇f(x)‖² + ‖v‖²)).
     • ‖Φ(x⁺) − Φ(x)‖² ≤ 4L²_∂Φ η²‖v‖² + 3L²_∂Φ η⁴‖∇f(x)‖⁴.
     • |f(Φ(x⁺)) − f(Φ(x))| = O((L_∂²Φ L_∇f + L_∂Φ L_∇²f) L²_∂Φ (‖v‖² + η²‖∇f(x)‖⁴))."

Checked on diagonal networks (Φ and ∂Φ in closed form, `flatcheck.problems.setting1`) at points
x = x* + r·w near X*, with v = c·Proj⊥_{∇f(x)}u for a random unit u, along η_k = 2^{−k}:
(1) the remainder Φ(x⁺) − Φ(x) + η∂Φ(x)v must be of order ≥ 2 in η (fitted local order, margin ½);
(2) the squared-norm bound must hold at the small-η end of the sequence (the last four levels:
"sufficiently small η"), with L_∂Φ the largest ‖∂Φ‖ on the segment [x, x⁺] (sampled at 9 points;
any admissible L_∂Φ is at least this); (3) the third bullet: Φ maps the ζ-neighbourhood into X*,
where f = min f, so f∘Φ is constant there for every f the lemma admits — the bullet's left side is
0 on every admissible instance, so the bullet holds trivially and no instance can fail it (the
proof's bound is never needed). It is still evaluated, so an implementation of Φ that leaves X* shows:
|f(Φ(x⁺)) − f(Φ(x))| must vanish to round-off.
No symbolic part: the first bullet's term −η∂Φ(x)v is the chain rule applied to Φ with ∂Φ(x)∇f(x) = 0 (Lemma
6); the claim is the order of the remainder and the constants of the bounds, which are measured.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.numeric.flatness import limit_jacobian
from flatcheck.numeric.linalg import proj_out
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import diagonal_networks, near_minimizers
from flatcheck.stats import fit_order
from flatcheck.verify import Claim, Constant, Evidence, constant

LEVELS = 14
SMALL = 4  # the last levels, where "η sufficiently small" is taken to hold
CLAIMED_ORDER = 2


CONSTANTS = (
    Constant("order", CLAIMED_ORDER, "the order of the remainder", "larger", "order", 1, "the remainder's order"),
)


def make_check(printed: float):
    def check(inst: PointInstance, impl, budget) -> Evidence:
        order = constant(budget, {"order": printed}, "order")
        prob = inst.problem
        phi = prob.known["phi"]
        x = inst.x_tensor()
        gen = torch.Generator().manual_seed(budget.seed)
        u = torch.randn(prob.d, generator=gen, dtype=torch.float64)
        gx = prob.grad(x[None])[0]
        v = inst.scalars["c"] * proj_out(gx, u / torch.linalg.vector_norm(u))
        etas = torch.tensor([2.0**-k for k in range(1, LEVELS + 1)], dtype=torch.float64)
        x_next = x - etas[:, None] * (gx + v)
        jac, ok = limit_jacobian(prob, x[None])
        rem = phi(x_next) - phi(x[None]) + etas[:, None] * (jac[0] @ v)
        rem_norm = torch.linalg.vector_norm(rem, dim=-1).tolist()
        floor = 1e3 * torch.finfo(torch.float64).eps * (1 + float(x.abs().max()))
        fit = fit_order(etas.tolist(), rem_norm, order, floor=floor)
        # (2) at the small-η end, L_∂Φ = max ‖∂Φ‖ on [x, x⁺].
        lam = torch.linspace(0, 1, 9, dtype=torch.float64)
        seg = x + lam[:, None, None] * (x_next[-SMALL:] - x)  # (9, SMALL, d)
        jseg, _ = limit_jacobian(prob, seg.reshape(-1, prob.d))
        lip = torch.linalg.matrix_norm(jseg, ord=2).reshape(9, SMALL).amax(0)
        lhs = (torch.linalg.vector_norm(phi(x_next[-SMALL:]) - phi(x[None]), dim=-1)) ** 2
        e = etas[-SMALL:]
        rhs = 4 * lip**2 * e**2 * (v @ v) + 3 * lip**2 * e**4 * float(gx @ gx) ** 2
        slack = rhs - lhs
        tol2 = floor * float(lhs.max().sqrt() + floor)
        third = float((prob.f(phi(x_next)) - prob.f(phi(x[None]))).abs().max())
        values = {
            "eta": etas.tolist(),
            "remainder_norm": rem_norm,
            "local_orders": fit.local_orders,
            "claimed_order": order,
            "squared_norm_slack": slack.tolist(),
            # The squared-norm bound's tightest level (lhs/rhs, 1 tight): what the search is steered toward.
            "tightness": float((lhs / rhs.clamp_min(1e-300)).max()),
            "f_phi_change": third,
        }
        plot = {
            "type": "loglog",
            "x": etas.tolist(),
            "y": rem_norm,
            "xlabel": "eta",
            "ylabel": "remainder",
            "reference_order": order,
        }
        if not bool(ok.all()):
            return Evidence(None, out_of_scope="Φ undefined at x")
        Evidence(None, values).steer()
        if third > floor:
            return Evidence(False, values, note=f"|f(Φ(x⁺)) − f(Φ(x))| = {third:.3g} ≠ 0", plot=plot)
        if bool((slack < -tol2).any()):
            return Evidence(False, values, note="‖Φ(x⁺) − Φ(x)‖² exceeds 4L²η²‖v‖² + 3L²η⁴‖∇f‖⁴", plot=plot)
        if not fit.decided:
            return Evidence(None, values, note=fit.note, plot=plot)
        margin = fit.local_orders[-1] - (order - 0.5) if fit.local_orders else None
        note = "" if fit.reaches else f"Φ(x⁺) − Φ(x) + η∂Φ(x)v is not O(η²): {fit.note}"
        return Evidence(fit.reaches, values, margin=margin, note=note, plot=plot)

    return check


CLAIM = Claim(
    id="ahn2024.lemma7",
    paper="ahn2024",
    ref="Lemma 7, Appendix A.1 (proof: D.3)",
    kind="expansion+bound",
    statement=r"\Phi(x^+)-\Phi(x)=-\eta\partial\Phi(x)v+\mathcal O(\eta^2(\|\nabla f\|^2+\|v\|^2)),\ "
    r"\|\Phi(x^+)-\Phi(x)\|^2\le4L_{\partial\Phi}^2\eta^2\|v\|^2+3L_{\partial\Phi}^2\eta^4\|\nabla f(x)\|^4,\ "
    r"|f(\Phi(x^+))-f(\Phi(x))|=\mathcal O(\|v\|^2+\eta^2\|\nabla f\|^4)",
    summary="A perturbed step moves Φ by −η∂Φ(x)v up to O(η²), with the stated squared-norm bound.",
    faithful=(
        "restricted",
        "diagonal networks only (Φ and ∂Φ in closed form); the third bullet's left side is 0 for every admissible f",
    ),
    instances=lambda budget: st.builds(
        lambda inst, c: PointInstance(inst.problem, inst.x, scalars={**inst.scalars, "c": c}),
        near_minimizers(diagonal_networks()),
        st.sampled_from([0.25, 1.0, 2.0]),
    ),
    check=make_check(CLAIMED_ORDER),
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
