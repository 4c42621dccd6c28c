r"""ahn2024.sap_step — one step of Sharpness-Aware Perturbation is update (7), Algorithm 2, §4.1.

    "x_{t+1} ← x_t − η(∇f(x_t) + v_t), where v_t := Proj⊥_{∇f(x_t)} ∇f_i(x_t + ρσ_t ∇f_i(x_t)/‖∇f_i(x_t)‖)
     for random samples i ∼ [n] and σ_t ∼ {±1}.   (7)"
    Algorithm 2: this step if ‖∇f(x_t)‖ ≤ ε₀, else x_{t+1} ← x_t − η′∇f(x_t); i ~ Unif([n]),
    σ_t ~ Unif({±1}).

Three parts, on Setting-1 losses f = (1/n)Σf_i with a per-example split, at a rational x:
1. Identity per draw. The harness draws i for every chain (replayed by `flatcheck.impl.step_examples`)
   and hands it to the implementation through the closure (closure(example=True) is f_i). Each
   chain's step must equal (7) for its i and for σ = +1 or σ = −1 (σ is the implementation's own
   draw), evaluated with mpmath at 40 digits, within the float64 round-off bound of
   `flatcheck.impl.predict`; in the η′ branch, x − η′∇f(x).
2. σ_t ~ Unif({±1}): among the draws whose σ is identified, the count of σ = +1 must pass an exact
   two-sided binomial test of p = ½ at level α/2.
3. The mean over i and σ: the average of the steps must contain the exact mean
   (1/2n)Σ_{i,σ} x⁺(i, σ) in a simultaneous normal interval at level α/2 (plus round-off).
ε₀ is drawn as ∞ or as 2‖∇f(x)‖ (perturbed branch) or ½‖∇f(x)‖ (η′ branch), so the branch is never
decided by round-off. Where ∇f(x) = 0 or some ∇f_i(x) = 0 (Remark 2's random fallback direction
then makes the step unpredictable to round-off) the instance is out of scope.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.impl import step_examples
from flatcheck.impl.predict import margin, margins, sap_prediction
from flatcheck.problems import PointInstance, log_uniform, manifold_losses, point_instances, wen_toy
from flatcheck.stats import mean_interval
from flatcheck.verify import Claim, Evidence


def check(inst: PointInstance, impl, budget) -> Evidence:
    prob, s = inst.problem, inst.scalars
    x = inst.x_tensor(device=budget.device)
    grad_norm = float(torch.linalg.vector_norm(prob.grad(x)))
    hp = {"lr": s["lr"], "lr_prime": s["lr"] * s["lr_prime_ratio"], "rho": s["rho"]}
    hp["eps0"] = s["eps0_ratio"] * grad_norm if math.isfinite(s["eps0_ratio"]) else math.inf
    preds = {(i, sign): sap_prediction(prob, inst.x, i, sign, **hp) for i in range(prob.n_examples) for sign in (1, -1)}
    if any(p is None for p in preds.values()):
        return Evidence(None, out_of_scope="∇f(x) = 0 or some ∇f_i(x) = 0 (Remark 2's random direction)")
    n = budget.draws(impl, cap=budget.scaled(512, 2048, 8192))
    got = impl.step_many(prob, x.expand(n, -1).clone(), hp, budget.seed)
    ks = step_examples(prob, n, budget.seed, budget.device).tolist()
    idx = torch.tensor(ks)

    def fit(sign: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Per chain: does σ = sign explain the step, and with which margin (tol − err)/tol."""
        value = torch.stack([preds[(i, sign)].value for i in range(prob.n_examples)])[idx]
        tol = torch.stack([preds[(i, sign)].tol for i in range(prob.n_examples)])[idx]
        m = margins(tol, (got.cpu() - value).abs())
        return m >= 0, m

    ok_plus, m_plus = fit(1)
    ok_minus, m_minus = fit(-1)
    best = torch.maximum(m_plus, m_minus)
    r = int(best.argmin())
    worst = float(best[r])
    identified = ok_plus != ok_minus  # exactly one σ explains the step
    signs = ok_plus[identified]
    values = {"hp": hp, "draws": n, "grad_norm": grad_norm, "branch": preds[(0, 1)].values["branch"]}
    if worst < 0:
        i = ks[r]
        values.update(
            example=i,
            step=got[r].tolist(),
            predicted_sigma_plus=preds[(i, 1)].value.tolist(),
            predicted_sigma_minus=preds[(i, -1)].value.tolist(),
        )
        return Evidence(False, values, margin=worst, note=f"a step on example i={i} matches (7) for neither σ")
    # 2. σ_t uniform on {±1}.
    plus = int(signs.sum())
    # Imported here: scipy.stats costs a second, and every run loads every claim module.
    from scipy.stats import binomtest

    p_sign = binomtest(plus, len(signs), 0.5).pvalue if len(signs) else 1.0
    # 3. The mean over i and σ, exact.
    exact = torch.stack([p.value for p in preds.values()]).mean(0).to(got.device)
    tol_round = torch.stack([p.tol for p in preds.values()]).max(0).values.to(got.device)
    est, half = mean_interval(got, budget.alpha / 2)
    mean_margin = margin(half + tol_round, (est - exact).abs())
    values.update(
        sigma_identified=len(signs),
        sigma_plus=plus,
        sigma_p_value=p_sign,
        mean_step=est.tolist(),
        exact_mean_step=exact.tolist(),
        interval_halfwidth=half.tolist(),
    )
    if p_sign < budget.alpha / 2:
        return Evidence(False, values, margin=-1.0, note=f"σ = +1 in {plus} of {len(signs)} steps: σ_t is not ±1 fair")
    if mean_margin < 0:
        return Evidence(False, values, margin=mean_margin, note="the mean step over i, σ differs from the exact mean")
    return Evidence(True, values, margin=min(worst, mean_margin))


CLAIM = Claim(
    id="ahn2024.sap_step",
    paper="ahn2024",
    ref="update (7) and Algorithm 2, §4.1; Remark 2",
    kind="identity",
    statement=r"x_{t+1}=x_t-\eta\big(\nabla f(x_t)+\mathrm{Proj}^\perp_{\nabla f(x_t)}\nabla f_i\big(x_t+\rho\sigma_t"
    r"\tfrac{\nabla f_i(x_t)}{\|\nabla f_i(x_t)\|}\big)\big),"
    r"\ i\sim\mathrm{Unif}([n]),\ \sigma_t\sim\mathrm{Unif}(\{\pm1\})",
    summary="Each SAP step equals (7) for the drawn example and a fair random sign; the mean over i, σ is exact.",
    instances=lambda budget: point_instances(
        st.one_of(st.just(wen_toy()), manifold_losses(p=st.just(1), m=st.integers(2, 3))),
        scalars={
            "lr": log_uniform(-6, 0),
            "lr_prime_ratio": st.sampled_from([1.0, 0.5, 4.0]),
            "rho": log_uniform(-6, 0),
            "eps0_ratio": st.sampled_from([math.inf, 2.0, 0.5]),
        },
        lo=-4,
        hi=4,
    ),
    check=check,
    algorithm="sap",
    describe=PointInstance.describe,
)
