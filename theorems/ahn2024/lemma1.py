r"""ahn2024.lemma1 — the descent lemma for the perturbed step, Lemma 1, §3.2 (proof in App. D.1).

    "Lemma 1. For η ≤ 1/β, consider a one-step of the perturbed gradient step of Algorithm 1:
     x_{t+1} ← x_t − η(∇f(x_t) + v_t). Then we have
         f(x_{t+1}) ≤ f(x_t) − ½η‖∇f(x_t)‖² + (βη²/2)‖v_t‖²."
    (The proof uses v_t ⊥ ∇f(x_t) and that f has β-Lipschitz gradients.)

β is a certified Lipschitz constant of ∇f on a ball holding x_t, x_t + ρg_t and x_{t+1}
(exact for quadratics); η = c/β with c ∈ (0, 1]. Every draw of the implementation's step is
checked; both sides are evaluated in float64 with a round-off tolerance.
No symbolic part: the statement is an inequality between values at the instance (f, ∇f, v_t, β), with no
identity, expansion or closed form to derive; its two constants are declared and mutated.
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.impl.rsp_perturbations import perturbations
from flatcheck.problems import PointInstance, log_uniform, point_instances, quadratics, smooth_problems
from flatcheck.verify import Claim, Constant, Evidence, constant

BALL = 1.0  # radius around x_t, beyond ρ, within which β is certified


CONSTANTS = (
    Constant("c_v", 0.5, "½ in (βη²/2)‖v‖²", "smaller", text="the cost of the perturbation"),
    Constant("c_grad", 0.5, "½ in ½η‖∇f‖²", "larger", text="the guaranteed decrease"),
)


def make_check(coefficient: sp.Rational):
    """The check of f(x⁺) ≤ f(x) − c_grad·η‖∇f‖² + coefficient·βη²‖v‖² (the paper: ½ and ½)."""
    printed = {"c_v": float(coefficient), "c_grad": 0.5}

    def check(inst: PointInstance, impl, budget) -> Evidence:
        c_v, c_grad = constant(budget, printed, "c_v"), constant(budget, printed, "c_grad")
        prob = inst.problem
        rho = inst.scalars["rho"]
        x = inst.x_tensor(device=budget.device)
        beta = prob.beta_on_ball(x, rho + BALL)
        # β = 0 means ∇f is constant on the ball: every η satisfies η ≤ 1/β.
        lr = inst.scalars["c"] / beta if beta > 0 else inst.scalars["c"]
        n = budget.draws(impl, cap=1024)
        xs = x.expand(n, -1)
        v = perturbations(impl, prob, x, {"lr": lr, "rho": rho}, n, budget.seed)
        gx = prob.grad(xs)
        x_next = xs - lr * (gx + v)
        if float(torch.linalg.vector_norm(x_next - xs, dim=-1).max()) > BALL:
            return Evidence(None, out_of_scope="the step left the ball on which β is certified")
        lhs = prob.f(x_next)
        gn2 = (gx * gx).sum(-1)
        rhs = prob.f(xs) - c_grad * lr * gn2 + c_v * beta * lr**2 * (v * v).sum(-1)
        eps = torch.finfo(torch.float64).eps
        tol = 256 * eps * (lhs.abs() + prob.f(xs).abs() + lr * gn2 + beta * lr**2 * (v * v).sum(-1) + 1e-300)
        # Tightness is that of the term c_v bounds: f(x⁺) − f(x) + c_grad·η‖∇f‖² against c_v·βη²‖v‖².
        part_lhs, part_rhs = lhs - prob.f(xs) + c_grad * lr * gn2, c_v * beta * lr**2 * (v * v).sum(-1)
        slack = rhs - lhs
        violated = slack < -tol
        # The worst violation in tolerances if there is one, else the tightest draw.
        i = (
            int(torch.argmin(slack / tol))
            if bool(violated.any())
            else int(torch.argmax(part_lhs / part_rhs.clamp_min(1e-300)))
        )
        ev = Evidence.tight_bound(
            float(part_lhs[i]),
            float(part_rhs[i]),
            float(tol[i]),
            beta=beta,
            eta=lr,
            rho=rho,
            draws=n,
            orthogonality=float(((gx * v).sum(-1).abs()).max()),
        )
        if not ev.holds:
            ev.note = f"f(x⁺) = {float(lhs[i]):.6g} exceeds the bound {float(rhs[i]):.6g}"
        ev.values.update(f_next=float(lhs[i]), bound=float(rhs[i]))
        return ev

    return check


STATEMENT = (
    r"\eta\le 1/\beta\ \Rightarrow\ f(x_{t+1})\le f(x_t)-\tfrac12\eta\|\nabla f(x_t)\|^2"
    r"+\tfrac{\beta\eta^2}{2}\|v_t\|^2"
)

CLAIM = Claim(
    id="ahn2024.lemma1",
    paper="ahn2024",
    ref="Lemma 1, §3.2 (proof: Appendix D.1)",
    kind="bound",
    statement=STATEMENT,
    summary="One perturbed RSP step with η ≤ 1/β increases f by at most ½βη²‖v‖² − ½η‖∇f‖².",
    faithful="exact",
    instances=lambda budget: point_instances(
        # Quadratics twice as often: there β is exact and the bound can be tight.
        st.one_of(quadratics(), smooth_problems()),
        scalars={"rho": log_uniform(-4, -1), "c": st.sampled_from([1.0, 0.5, 0.25, 0.125])},
        lo=-4,
        hi=4,
    ),
    check=make_check(sp.Rational(1, 2)),
    algorithm="rsp",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
