r"""nso.table2 — Table 2 and §2.2 (NSO paper): the noise-injection gap against ½σ²Tr[∇²f].

    "In Table 2, we find that the trace of the Hessian provides an accurate approximation to the gap
     between ℓ_Q and ℓ. After fine-tuning, we add random noise injections to the fine-tuned model
     weight. We do this for 100 times, and we measure the perturbed loss ℓ_Q again on the training
     set. … Our measurements show that the error between the actual gap and the Hessian
     approximation is within 3%."  (Table 2, MLP column: σ = 0.020, 0.021, …, 0.030; its last row
     "RSS" reports the error.)

Reproduction at CPU scale: the two-layer tanh MLP trained on scikit-learn's digits until the
training loss is close to zero (`flatcheck.problems.digits_mlp`, trained once per process),
ℓ the mean training cross-entropy, U ~ N(0, σ²I) on all weights, σ on the Table 2 MLP grid
(every other value in quick). Tr[∇²f] is exact (closed-form Hessian diagonal).
The gap E ℓ(W+U) − ℓ(W) is estimated over many draws (antithetic pairs, as U is symmetric),
with the exact quadratic form ½UᵀHU as a control variate (E UᵀHU = σ²Tr H, eq. (12)); the plain
estimate is reported beside it. Error measure ("RSS"): √(Σ_σ(gap − ½σ²Tr)²/Σ_σ(½σ²Tr)²).
Decision: its interval is computed from the simultaneous per-σ intervals; verified when it lies
at or below 3%. The paper's 3% is measured on its fine-tuned networks, not on ours: an interval
above 3% is "not reproduced" on our MLP — undecided with the measurement, as for every reproduction
(`flatcheck.verify.reproduction`), not a refutation. Otherwise undecided.
Declared constants: the ½ of ½σ²Tr (exact) and the 3% (smaller is stronger).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from hypothesis import strategies as st

from flatcheck.problems.digits_mlp import digits_mlp, flat_loss, hessian_diagonal, quadratic_form
from flatcheck.stats import mean_interval
from flatcheck.verify import Claim, Constant, Evidence, constant

SIGMAS = [0.020 + 0.001 * i for i in range(11)]  # Table 2, MLP column
CONSTANTS = (
    Constant("half", 0.5, "½ in ½σ²Tr[∇²f]", "exact", text="the approximation"),
    Constant("threshold", 0.03, "3% (RSS)", "smaller", text="the agreement"),
)


def check(inst: dict, impl, budget) -> Evidence:
    # Hypothesis replays a failing instance: the measurement is cached per (instance, budget, constants).
    half, threshold = constant(budget, CONSTANTS, "half"), constant(budget, CONSTANTS, "threshold")
    return _measure(inst["hidden"], inst["seed"], budget, half, threshold)


@lru_cache(maxsize=4)
def _measure(hidden: int, seed: int, budget, coefficient: float, threshold: float) -> Evidence:
    model, _, data = digits_mlp(hidden=hidden, seed=seed)
    w, f = flat_loss(model, data.x_train, data.y_train)
    trace = float(hessian_diagonal(model, data.x_train, data.y_train).sum())
    sigmas = SIGMAS[:: budget.scaled(5, 2, 1)]
    n = budget.scaled(64, 192, 1024)
    gen = torch.Generator().manual_seed(budget.seed)
    z = torch.randn((n, w.numel()), generator=gen, dtype=torch.float64)
    quad = quadratic_form(model, data.x_train, data.y_train, z)
    f0 = f(w)
    plain, controlled = [], []
    for s in sigmas:
        pair = (f(w + s * z) + f(w - s * z)) / 2 - f0
        plain.append(pair)
        controlled.append(pair - coefficient * s * s * quad)
    mean_cv, half_cv = mean_interval(torch.stack(controlled, -1), budget.alpha)
    mean_plain, sd_plain = torch.stack(plain, -1).mean(0), torch.stack(plain, -1).std(0)
    pred = torch.tensor([coefficient * s * s * trace for s in sigmas], dtype=torch.float64)
    gap = mean_cv + pred
    # Round-off of f(W ± U) − f(W): a few ulps of the loss.
    half = half_cv + 64 * torch.finfo(torch.float64).eps * float(f0)
    denom = math.sqrt(float((pred**2).sum()))
    err = math.sqrt(float((mean_cv**2).sum())) / denom
    err_lo = math.sqrt(float(((mean_cv.abs() - half).clamp(min=0) ** 2).sum())) / denom
    err_hi = math.sqrt(float(((mean_cv.abs() + half) ** 2).sum())) / denom
    holds = True if err_hi <= threshold else None
    values = {
        "sigma": sigmas,
        "gap": gap.tolist(),
        "gap_halfwidth": half.tolist(),
        "gap_plain_mc": mean_plain.tolist(),
        "gap_plain_sd": sd_plain.tolist(),
        "half_sigma2_trace": pred.tolist(),
        "trace": trace,
        "train_loss": float(f0),
        "rss_error": err,
        "rss_error_interval": [err_lo, err_hi],
        "threshold": threshold,
        "draws": n,
        "params": w.numel(),
    }
    plot = {
        "type": "lines",
        "x": sigmas,
        "series": {"gap (measured)": gap.tolist(), "½σ²Tr∇²f": pred.tolist()},
        "xlabel": "σ",
        "ylabel": "ℓ_Q − ℓ",
    }
    note = ""
    if err_lo > threshold:
        note = (
            f"not reproduced on our MLP: RSS error {err:.2%} (interval {err_lo:.2%}–{err_hi:.2%}) "
            f"exceeds {threshold:.0%}"
        )
    elif holds is None:
        note = f"RSS error interval {err_lo:.2%}–{err_hi:.2%} straddles {threshold:.0%}"
    return Evidence(holds, values, margin=(threshold - err) / threshold, note=note, plot=plot)


CLAIM = Claim(
    id="nso.table2",
    paper="nso",
    ref="Table 2 and §2.2 (Appendix C: measurement details)",
    kind="reproduction",
    expected=(
        "inconclusive",
        "Not reproduced on our small digits MLP: the gap ℓ_Q − ℓ is 4–7% off ½σ²Tr∇²f, above the 3% the "
        "paper measured on its fine-tuned networks.",
    ),
    statement=r"\ell_Q-\ell\approx\tfrac12\sigma^2\mathrm{Tr}[\nabla^2 f(W)]\ \text{within 3\% (RSS) on a trained MLP}",
    summary="On a trained MLP the noise-injection gap matches ½σ²Tr∇²f within 3% (Table 2).",
    faithful=(
        "reproduction",
        "a two-layer tanh MLP (16 hidden units) trained on scikit-learn's digits in place of the paper's fine-tuned "
        "networks",
    ),
    instances=lambda budget: st.just({"hidden": 16, "seed": 0}),
    check=check,
    constants=CONSTANTS,
    describe=lambda inst: dict(inst),
)
