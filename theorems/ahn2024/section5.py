r"""ahn2024.section5 — the experiment of §5 (Figure 3), at CPU scale.

    "the algorithms are initialized at a point corresponding to a sharp global minimizer … the
     training accuracy stays at 100% for all algorithms. … Consistent with our theory, one can see
     that SA is more effective in escaping sharp minima even with a smaller perturbation radius ρ.
     … Our theory suggests that batch size 1 should be effective in escaping sharp minima … We do see
     that the case of B = 1 is quite effective." (Figure 3 caption: "the trace of Hessian value
     monotonically decreases along the algorithm iterates".)

Stand-in for ResNet-18/CIFAR10: the Setting-1 diagonal network with n = 16 examples p_i = u_iv_i,
y_i = 1 (d = 32; Φ and tr̄ in closed form), started at the sharp global minimizer u = 2, v = ½
(tr∇²f = 8.5; the flattest minima have 4), moved by a seeded offset of norm 1e-6: at the minimizer
itself every ∇f_i vanishes — an artifact of the squared loss (the paper's cross-entropy never
vanishes) — and update (7)'s ∇f_i/‖∇f_i‖ is 0/0, defined only by Remark 2; an implementation without
Remark 2 would be stopped by that artifact, not judged on §5. Batched chains run RSP ("RS", ρ = 0.5)
and SAP ("SA", ρ = 0.2, batch sizes B = 1, 4, 16 (full batch) — a batch of examples replaces the
single example of update (7)) with the same η = 0.05, ε₀ = ∞. Decision, as the section states it:
(i) every chain keeps "100% training accuracy" — every example classified as its label, sign
p_i(x_t) = sign y_i, at every recorded step; (ii) the median tr∇²f decreases over the run for RS and
for SA with B = 1; (iii) SA (B = 1, smaller ρ) ends flatter than RS; (iv) B = 1 ends flatter than
B = 4 and 16 — (iii) and (iv) compare medians over chains; a user's class, stepped one chain at a
time, gives one run of each, and an ordering one run contradicts is undecided, not falsified.
The median tr∇²f(x_t) and loss trajectories are the evidence plot.

Why sign agreement is the accuracy: the paper's is a classifier's training accuracy (ResNet-18 on
CIFAR-10), and a scalar-output model with labels ±1 classifies by the sign of its output. An
earlier encoding asked for |p_i − y_i| < ½, a regression band the paper does not state: correct SAP
with B = 1 (ρ = 0.2, a perturbation on one example's two coordinates) leaves it on 5 of 6 run seeds
in the default profile (largest |p_i − 1| 0.64–0.73 over 50 seeds), so the seed-0 verdict was luck.
The largest |p_i − y_i| of each run stays in the evidence (`max_residual`) for the reader.
No constant is declared: the statements are comparisons; ρ, η and B are the experiment's settings, not its claims.
No symbolic part: an experiment's qualitative outcomes (accuracy kept, orderings of tr∇²f), measured on runs.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from flatcheck.impl import builtin
from flatcheck.numeric.flatness import trace_bar
from flatcheck.problems.setting1 import diagonal_network, minibatch_problem
from flatcheck.verify import Claim, Evidence

from ._starts import near

N = 16
BATCHES = (1, 4, 16)  # 16 = full batch
LR, RHO_SA, RHO_RS = 0.05, 0.2, 0.5


def run(impl, problem, hp, chains: int, steps: int, seed: int, every: int = 5):
    start = torch.cat([torch.full((N,), 2.0), torch.full((N,), 0.5)]).to(torch.float64)
    x = near(start, seed).expand(chains, -1).clone()
    traces, losses, accurate, residual = [], [], True, 0.0
    for t in range(steps + 1):
        if t % every == 0:
            traces.append(float((trace_bar(problem, x) * problem.d).median()))
            losses.append(float(problem.f(x).median()))
            p = x[:, :N] * x[:, N:]  # y_i = 1 for every example
            accurate = accurate and bool((p > 0).all())
            residual = max(residual, float((p - 1).abs().max()))
        if t < steps:
            x = impl.step_many(problem, x, hp, seed * 1_000_003 + t)
    return traces, losses, accurate, residual


def check(inst: dict, impl, budget) -> Evidence:
    prob = diagonal_network([1] * N, [1] * N)
    steps = budget.scaled(60, 400, 1000)
    chains = budget.scaled(2, 8, 16) if impl.batched_step is not None else 1
    hp = {"lr": LR, "eps0": float("inf")}
    runs = {"RS": run(builtin("rsp"), prob, {**hp, "rho": RHO_RS}, chains, steps, budget.seed)}
    for b in BATCHES:
        runs[f"SA B={b}"] = run(impl, minibatch_problem(prob, b), {**hp, "rho": RHO_SA}, chains, steps, budget.seed)
    final = {k: r[0][-1] for k, r in runs.items()}
    x_axis = list(range(0, steps + 1, 5))
    plot = {
        "type": "lines",
        "x": x_axis,
        "series": {f"tr∇²f {k}": r[0] for k, r in runs.items()},
        "xlabel": "iteration",
        "ylabel": "median tr ∇²f(x_t)",
    }
    values = {
        "initial_trace": runs["RS"][0][0],
        "final_trace": final,
        "final_loss": {k: r[1][-1] for k, r in runs.items()},
        "loss_path": {k: r[1] for k, r in runs.items()},
        "max_residual": {k: r[3] for k, r in runs.items()},
    }
    failures = [f"{k}: an example was misclassified (sign p_i ≠ sign y_i)" for k, r in runs.items() if not r[2]]
    failures += [f"{k}: tr∇²f did not decrease" for k in ("RS", "SA B=1") if final[k] >= runs[k][0][0]]
    orderings = []
    if final["SA B=1"] >= final["RS"]:
        orderings.append("SA (B=1) did not end flatter than RS")
    if final["SA B=1"] >= min(final[f"SA B={b}"] for b in BATCHES[1:]):
        orderings.append("B = 1 did not end flatter than the larger batches")
    margin = (final["RS"] - final["SA B=1"]) / max(final["RS"], 1e-12)
    if chains == 1 and orderings and not failures:
        # One run of each (a user's class is stepped one chain at a time) is one draw of each random
        # outcome: it cannot order them — B = 1 vs B = 4 ended out of order on 1 of 20 quick seeds
        # for a correct user SAP. (iii) and (iv) are decided on medians of chains only.
        note = "; ".join(orderings) + " — in a single run of each, which cannot order random outcomes"
        return Evidence(None, values, margin=margin, note=note, plot=plot)
    failures += orderings
    return Evidence(not failures, values, margin=margin, note="; ".join(failures), plot=plot)


CLAIM = Claim(
    id="ahn2024.section5",
    paper="ahn2024",
    ref="§5 and Figure 3",
    kind="reproduction",
    statement=r"\text{From a sharp global minimizer: training accuracy stays 100\%; SA escapes faster than RS "
    r"with a smaller }\rho;\ B=1\text{ is the most effective batch size}",
    summary="From a sharp minimum, RS and SA reduce tr∇²f at zero training error; SA with batch size 1 is fastest.",
    faithful=(
        "reproduction",
        "a diagonal network (n = 16, d = 32) from a sharp global minimum in place of ResNet-18 on CIFAR-10",
    ),
    instances=lambda budget: st.just({"family": "diagonal network, n = 16, d = 32", "start": "u = 2, v = 1/2"}),
    check=check,
    algorithm="sap",
    describe=lambda inst: dict(inst),
)
