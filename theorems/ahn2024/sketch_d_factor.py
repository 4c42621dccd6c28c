r"""ahn2024.sketch_d_factor — the factor d in the proof sketch of Lemma 4, §4.2.

    "… E tr(∇²f(x_t)g_{i,t}g_{i,t}ᵀ) ≈ E λ_i(Φ(x_t)) = (d/n) tr̄(Φ(x_t)), which notably gives us d/n
     times larger gradient than the randomly smoothed perturbation (5). … choosing the stochastic
     gradient for the outer part of perturbation … E tr(∇²f_i(x_t)g_{i,t}g_{i,t}ᵀ) ≈ nEλ_i(Φ(x_t))
     = d·tr̄(Φ(x_t)), which now leads to d times larger gradient than (5)."
    (g_{i,t} = ∇f_i(x_t)/‖∇f_i(x_t)‖, i ~ Unif[n]; under the sketch's assumption that the ∇p_i(x*)
    are orthogonal, "as long as x_t stays near Φ(x_t)".)

Decision rule. "≈ as x_t → Φ(x_t)": on diagonal networks (orthogonal ∇p_i, Φ in closed form) at
x_t = x* + r·n (x* ∈ X*, n a unit normal) the exact averages over i of gᵢᵀ∇²f(x_t)gᵢ and
gᵢᵀ∇²f_i(x_t)gᵢ (Hessian-vector products) minus (d/n)tr̄(Φ(x_t)) and d·tr̄(Φ(x_t)) must vanish as
r → 0 with fitted order ≥ 1 (margin ½) along r_k = 2^{−k}. Measured ratios to tr̄ are reported next
to d/n and d. Symbolic side: derive() computes both factors from the sketch's step — with orthonormal
u_i and ∇²f(x*) = Σ_jλ_ju_ju_jᵀ, ∇²f_i(x*) = nλ_iu_iu_iᵀ (14), u_iᵀ∇²f u_i = Σ_jλ_j(u_iᵀu_j)² = λ_i — as
E_i over n terms divided by tr̄ = Σλ_i/d: d/n and d, as expressions in d and n that the check evaluates
at each instance's d and n. Implementation side: SAP's mean perturbation read from the implementation's steps
(Monte Carlo, simultaneous intervals) must contain the exact E v_t of update (7) — the stochastic
outer gradient ∇f_i that carries the factor d — at ρ = r₀.
"""

from __future__ import annotations

import sympy as sp
import torch

from flatcheck.impl.rsp_perturbations import perturbations
from flatcheck.numeric.flatness import example_directions, sap_mean_perturbation, trace_bar
from flatcheck.numeric.linalg import hvp
from flatcheck.problems import PointInstance
from flatcheck.problems.setting1 import normal_direction, sharp_points
from flatcheck.stats import fit_order, mean_interval
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._orthogonal import D, N, trace_factors

LEVELS = 10
CONSTANTS = (
    Constant("d_over_n", 1.0, "d/n (1·d/n)", "exact", text="the full-batch outer gradient's factor"),
    Constant("d_times", 1.0, "d (1·d)", "exact", text="the stochastic outer gradient's factor"),
    Constant("order", 1.0, "≈ as x_t → Φ(x_t): error O(r)", "larger", "order", 1, "how fast the ≈ closes"),
)


def derive() -> dict[str, sp.Expr]:
    """The factors of tr̄ in E_i uᵢᵀ∇²f uᵢ and E_i uᵢᵀ∇²f_i uᵢ at x* (orthonormal uᵢ), by the sums of
    (14) over i, j ∈ [n] with uᵢᵀu_j = δᵢⱼ: d/n and d."""
    return trace_factors()


def traces(prob, xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(E_i gᵢᵀ∇²f gᵢ, E_i gᵢᵀ∇²f_i gᵢ) at rows xs."""
    dirs = example_directions(prob, xs)
    full = torch.stack([(dirs[i] * hvp(prob.f, xs, dirs[i])).sum(-1) for i in range(prob.n_examples)])
    sto = torch.stack([(dirs[i] * hvp(prob.example_f[i], xs, dirs[i])).sum(-1) for i in range(prob.n_examples)])
    return full.mean(0), sto.mean(0)


def make_check(full_factor, stochastic_factor):
    """The printed factors full_factor(d, n) and stochastic_factor(d, n) (the sketch: d/n and d) against
    derive()'s; the predictions are the derived factors times tr̄."""

    def check(inst: PointInstance, impl, budget) -> Evidence:
        prob = inst.problem
        d, n = prob.d, prob.n_examples
        derived = {k: v.subs({D: d, N: n}) for k, v in derive().items()}
        printed = {
            "full_batch": sp.nsimplify(constant(budget, CONSTANTS, "d_over_n") * full_factor(d, n)),
            "stochastic": sp.nsimplify(constant(budget, CONSTANTS, "d_times") * stochastic_factor(d, n)),
        }
        if printed != derived:
            return Evidence(
                False,
                {"d": d, "n": n, "printed": {k: str(v) for k, v in printed.items()}, "derived": str(derived)},
                note=f"the sketch's factors {printed} differ from the sums over i at d = {d}, n = {n}: {derived}",
            )
        c_full, c_sto = float(derived["full_batch"]), float(derived["stochastic"])
        order = constant(budget, CONSTANTS, "order")
        star = prob.known["phi"](inst.x_tensor()[None])
        rs = torch.tensor([2.0**-k for k in range(1, LEVELS + 1)], dtype=torch.float64)
        xs = star + rs[:, None] * normal_direction(prob, star)
        full, sto = traces(prob, xs)
        tr = trace_bar(prob, prob.known["phi"](xs))
        err_full = (full - c_full * tr).abs().tolist()
        err_sto = (sto - c_sto * tr).abs().tolist()
        floor = 1e4 * torch.finfo(torch.float64).eps * (1 + float(xs.abs().max()) ** 2)
        fits = [fit_order(rs.tolist(), e, order, floor=floor) for e in (err_full, err_sto)]
        values = {
            "d": d,
            "n": n,
            "r": rs.tolist(),
            "full_batch_ratio_to_trbar": (full / tr).tolist(),
            "predicted_full_batch": c_full,
            "stochastic_ratio_to_trbar": (sto / tr).tolist(),
            "predicted_stochastic": c_sto,
            "orders": [f.local_orders for f in fits],
        }
        for fit, name in zip(fits, ("full-batch (d/n)", "stochastic (d)")):
            if not fit.decided:
                return Evidence(None, values, note=f"{name}: {fit.note}")
            if not fit.reaches:
                return Evidence(False, values, note=f"{name} trace does not approach its prediction: {fit.note}")
        rho = float(rs[0])
        exact = sap_mean_perturbation(prob, xs[:1], rs[:1])[0]
        m = budget.draws(impl, cap=2048)
        v = perturbations(impl, prob, xs[0], {"lr": 1.0, "rho": rho}, m, budget.seed)
        pairs = (v[: m // 2] + v[m // 2 : 2 * (m // 2)]) / 2
        est, half = mean_interval(pairs, budget.alpha)
        tol = half + 1e3 * torch.finfo(torch.float64).eps * (1 + float(v.abs().max()))
        err = (est - exact).abs()
        values.update(implementation_mean_v=est.tolist(), exact_mean_v=exact.tolist(), draws=m)
        holds = bool((err <= tol).all())
        ev = Evidence(holds, values, margin=float(((tol - err) / tol).min()))
        if not holds:
            ev.note = "the implementation's mean perturbation differs from update (7)'s exact E v_t"
        return ev

    return check


CLAIM = Claim(
    id="ahn2024.sketch_d_factor",
    paper="ahn2024",
    ref="proof sketch of Lemma 4, §4.2",
    kind="expectation",
    statement=r"\mathbb E\,\mathrm{tr}(\nabla^2 f(x_t)g_{i,t}g_{i,t}^\top)"
    r"\approx\tfrac dn\bar{\mathrm{tr}}(\Phi(x_t)),\ "
    r"\mathbb E\,\mathrm{tr}(\nabla^2 f_i(x_t)g_{i,t}g_{i,t}^\top)\approx d\,\bar{\mathrm{tr}}(\Phi(x_t))",
    summary="Per-example perturbation directions see d/n·tr̄ (full-batch outer gradient) and d·tr̄ (stochastic).",
    faithful=("steps", "the proof sketch of Lemma 4, on diagonal networks (orthogonal ∇p_i, as the sketch assumes)"),
    instances=lambda budget: sharp_points(),
    check=make_check(lambda d, n: d / n, lambda d, n: d),
    derive=derive,
    algorithm="sap",
    describe=PointInstance.describe,
    constants=CONSTANTS,
)
