r"""wen2023.theorem21 — implicit Hessian–gradient alignment on quadratics, Theorem 21, App. C.1 (proof D.4).

    "Theorem 21 Suppose A is a positive definite symmetric matrix with unique top eigenvalue.
     Consider running SAM on loss L(x) := ½xᵀAx as (13), then for almost every x(0), we have x(t)
     converges in direction to v₁(A) and lim_{t→∞} ‖x(t)‖ = ηρλ₁(A)/(2 − ηλ₁(A)) with ηλ₁(A) < 1.
         x(t+1) = x(t) − ηA(x(t) + ρAx(t)/‖Ax(t)‖),   (13)"

Symbolic side (derive): on the line x = r v₁, (13) maps r to r(1 − ηλ₁) − ηρλ₁; the limit is the
2-cycle r ↦ −r, whose radius solves r(2 − ηλ₁) = ηρλ₁ (sympy); it must equal the stated limit.
Numeric side: SAM (the implementation under test, through `step_many`) runs from seeded Gaussian
x(0) ("almost every x(0)") on exact quadratics A = H diag(λ) H with λ₁ > λ₂ > 0, η = c/λ₁ (c < 1),
ρ = 2^{-k}. The error e(t) = max over chains of max(1 − |cos∠(x(t), v₁)|, |‖x(t)‖/r* − 1|).
Decision rule: holds when e ≤ 1e-6 (convergence, far above float64 round-off) at two checkpoints
in a row (every N/200 steps), where the run stops — N steps are the budget, spent only by a run that
has not converged; violated when e(N) > 1e-3 and the run has stalled (e(N) ≥ 0.99·e(N/2): it
settled at another limit) or the iterates diverged; otherwise undecided (still converging).
"""

from __future__ import annotations

import sympy as sp
import torch
from hypothesis import strategies as st

from flatcheck.errors import NonFiniteError
from flatcheck.impl.dynamics import chain_count, run_chains
from flatcheck.problems import Problem, log_uniform, quadratic, rationals
from flatcheck.problems.quadratic import to_tensor
from flatcheck.verify import Assumption, Claim, Constant, Evidence, constant

CONVERGED, WRONG, STALL = 1e-6, 1e-3, 0.99


ETA, RHO, LAM = sp.symbols("eta rho lambda_1", positive=True)
STATED = ETA * RHO * LAM / (2 - ETA * LAM)
CONSTANTS = (Constant("scale", 1.0, "ηρλ₁/(2 − ηλ₁), ×1", "exact", text="the limit radius ‖x_t‖"),)


def derive() -> dict:
    r = sp.Symbol("r", positive=True)
    step = r * (1 - ETA * LAM) - ETA * RHO * LAM
    # step = −r is linear in r: a·r + b = 0.
    a, b = sp.Poly(step + r, r).all_coeffs()
    radius = sp.factor(-b / a)
    return {"step_on_v1": step, "two_cycle_radius": radius, "minus_stated": sp.simplify(radius - STATED)}


def predicted_radius(eta: float, rho: float, lam1: float) -> float:
    """The stated limit ηρλ₁/(2 − ηλ₁)."""
    return float(STATED.subs({ETA: eta, RHO: rho, LAM: lam1}))


@st.composite
def instances(draw) -> dict:
    d = draw(st.integers(2, 4))
    eig = draw(st.lists(rationals(1, 16, (1, 2, 4)), min_size=d, max_size=d))
    u = draw(st.lists(rationals(-4, 4, (1, 2)), min_size=d, max_size=d))
    return {
        "problem": quadratic(eig, u),
        "c": draw(st.sampled_from([0.125, 0.25, 0.5, 0.75, 0.875])),
        "rho": draw(log_uniform(-6, -1)),
    }


def top_two(inst: dict) -> tuple[sp.Rational, sp.Rational]:
    eig = sorted(inst["problem"].known["eigenvalues"], reverse=True)
    return eig[0], eig[1]


def make_check(radius=predicted_radius):
    def check(inst: dict, impl, budget) -> Evidence:
        if derive()["minus_stated"] != 0:
            return Evidence(False, {"derived": str(derive()["two_cycle_radius"])}, note="2-cycle radius ≠ stated")
        prob: Problem = inst["problem"]
        eig = [float(e) for e in prob.known["eigenvalues"]]
        top = max(range(len(eig)), key=lambda i: eig[i])
        lam1 = eig[top]
        v1 = to_tensor(prob.known["eigenvectors"])[:, top]
        eta, rho = inst["c"] / lam1, inst["rho"]
        r_star = constant(budget, CONSTANTS, "scale") * radius(eta, rho, lam1)
        steps = budget.scaled(600, 3000, 12000)
        chains = chain_count(impl, 32, 1)
        gen = torch.Generator().manual_seed(budget.seed)
        x0 = torch.randn(chains, prob.d, generator=gen, dtype=torch.float64)
        trace: dict[int, torch.Tensor] = {}
        marks = {steps // 2, steps}
        every = max(steps // 200, 1)

        def error(x: torch.Tensor) -> torch.Tensor:
            n = torch.linalg.vector_norm(x, dim=-1)
            cos = (x @ v1).abs() / n
            return torch.maximum(1 - cos, (n / r_star - 1).abs())

        def record(t: int, x: torch.Tensor) -> bool:
            if t in marks or t % every == 0:
                trace[t] = x.clone()
            # Decided as soon as converged at two checkpoints in a row: the run stops there.
            return (
                t > every and t % every == 0 and all(float(error(trace[u]).max()) <= CONVERGED for u in (t - every, t))
            )

        try:
            run_chains(impl, prob, x0, {"lr": eta, "rho": rho}, steps, budget.seed, record)
        except NonFiniteError as e:
            return Evidence(False, {"eta": eta, "rho": rho, "lambda1": lam1}, note=f"SAM diverged: {e}")
        last = max(trace)
        e_mid, e_end = error(trace[max(u for u in trace if u <= last // 2)]), error(trace[last])
        worst = int(torch.argmax(e_end))
        norms = torch.linalg.vector_norm(trace[last], dim=-1)
        values = {
            "eta": eta,
            "rho": rho,
            "lambda1": lam1,
            "eta_lambda1": eta * lam1,
            "predicted_limit_norm": r_star,
            "measured_norm_worst_chain": float(norms[worst]),
            "measured_norm_mean": float(norms.mean()),
            "alignment_1_minus_cos_max": float((1 - (trace[last] @ v1).abs() / norms).max()),
            "error_at_N": float(e_end.max()),
            "error_at_N_over_2": float(e_mid[worst]),
            "steps": last,
            "step_budget": steps,
            "chains": chains,
        }
        ts = sorted(trace)
        plot = {
            "type": "lines",
            "x": ts,
            "series": {f"‖x(t)‖ chain {i}": [float(trace[t][i].norm()) for t in ts] for i in range(min(chains, 3))},
            "reference": {"ηρλ₁/(2−ηλ₁)": r_star},
            "logy": True,
            "xlabel": "step t",
            "ylabel": "‖x(t)‖",
            "title": "SAM on ½xᵀAx: limit norm",
        }
        err = float(e_end.max())
        if err <= CONVERGED:
            return Evidence(True, values, margin=(CONVERGED - err) / CONVERGED, plot=plot)
        if err > WRONG and float(e_end[worst]) >= STALL * float(e_mid[worst]):
            note = f"x(t) settled at ‖x‖ = {float(norms[worst]):.6g}, not aligned/at ηρλ₁/(2−ηλ₁) = {r_star:.6g}"
            return Evidence(False, values, margin=-err, note=note, plot=plot)
        return Evidence(None, values, note=f"not converged after {last} steps (error {err:.3g})", plot=plot)

    return check


CLAIM = Claim(
    id="wen2023.theorem21",
    paper="wen2023",
    ref="Theorem 21 and (13), App. C.1 (proof App. D.4)",
    kind="dynamics",
    statement=r"A\succ0,\ \lambda_1(A)>\lambda_2(A),\ \eta\lambda_1<1:\ x(t+1)=x(t)-\eta A\Big(x(t)+\rho\frac{Ax(t)}"
    r"{\|Ax(t)\|}\Big)\ \Rightarrow\ \frac{x(t)}{\|x(t)\|}\to\pm v_1(A),\ "
    r"\|x(t)\|\to\frac{\eta\rho\lambda_1}{2-\eta\lambda_1}",
    summary="Full-batch SAM on ½xᵀAx aligns x(t) with v₁(A) and ‖x(t)‖ → ηρλ₁/(2 − ηλ₁).",
    faithful="exact",
    instances=lambda budget: instances(),
    check=make_check(),
    derive=derive,
    assumptions=(Assumption("unique_top_eigenvalue", lambda inst: top_two(inst)[0] > top_two(inst)[1], "λ₁ > λ₂"),),
    algorithm="sam",
    describe=lambda inst: {"problem": inst["problem"].describe(), "c": inst["c"], "rho": inst["rho"]},
    # Each instance is a long SAM run near the minimizer (about 1 s in default).
    max_examples=(2, 6, 40),
    constants=CONSTANTS,
)
