"""Reading NSO's (NSO paper, Algorithm 1) internals back from any implementation's steps.

Line 6 is W_{i+1} = W_i − η_i·G_i with G_i = (1/2k)Σ_j G_i^{(j)}, so G_i = (W_i − W_{i+1})/η_i:
the averaged two-point gradient, whose deviation from ∇F(W_i) is δ_i + ξ_i (§4). The checks need
nothing from the implementation but its steps (`Implementation.step_many` / `run_many`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from flatcheck.algorithms import NOISES
from flatcheck.impl.dynamics import chain_count
from flatcheck.impl.protocol import Implementation
from flatcheck.problems import Problem
from flatcheck.problems.nso_families import NSOInstance
from flatcheck.stats import mean_interval
from flatcheck.stats.sequential import Stopped, columns, first_look, look_seed, sequential_interval


def step_gradients(
    impl: Implementation, problem: Problem, w: torch.Tensor, hp: dict[str, Any], n: int, seed: int
) -> torch.Tensor:
    """n independent draws of G = (W − W⁺)/η from the point w (d,); returns (n, d)."""
    xs = w.expand(n, -1).clone()
    return (xs - impl.step_many(problem, xs, hp, seed)) / hp["lr"]


def sequential_deviations(
    impl: Implementation,
    problem: Problem,
    w: torch.Tensor,
    hps: list[dict[str, Any]],
    grad_F: torch.Tensor,
    cap: int,
    seed: int,
    alpha: float,
    decisive: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], bool],
) -> Stopped:
    """‖G − ∇F(w)‖² of draws of G (`step_gradients`) under each of hps — stream i seeded seed + i,
    one column each, simultaneous intervals at alpha — drawn in geometric looks up to cap until
    `decisive` (`flatcheck.stats.sequential`); a batched step draws the cap at once. The rows hold
    those columns, then the last stream's G (its round-off, `readback_error`)."""

    def draw(m: int, look: int) -> torch.Tensor:
        cols = []
        for i, hp in enumerate(hps):
            g = step_gradients(impl, problem, w, hp, m, look_seed(seed + i, look))
            cols.append(((g - grad_F) ** 2).sum(-1, keepdim=True))
        return torch.cat([*cols, g], -1)

    first = first_look(cap, impl.batched_step is not None)
    return sequential_interval(draw, cap, alpha, decisive, first, columns(len(hps)))


def run_paths(
    impl: Implementation, problem: Problem, w0: torch.Tensor, hp: dict[str, Any], n: int, steps: int, seed: int
) -> torch.Tensor:
    """n independent runs of `steps` steps from w0 (one optimizer per run); returns (n, steps + 1, d)."""
    return impl.run_many(problem, w0.expand(n, -1).clone(), hp, seed, steps)


def readback_error(w: torch.Tensor, lr: float, g: torch.Tensor) -> float:
    """Round-off of G = (W − W⁺)/η in float64: a few ulps of ‖W‖/η and ‖G‖."""
    eps = torch.finfo(torch.float64).eps
    return 64 * eps * (float(w.abs().max()) / lr + float(g.abs().max()) + 1.0) * w.shape[-1] ** 0.5


def path_terms(
    grad_F: Callable[[torch.Tensor], torch.Tensor], path: torch.Tensor, lr: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per step of each run (n, T): ‖∇F(W_t)‖² and ‖G_t − ∇F(W_t)‖² = ‖δ_t + ξ_t‖², t = 0 … T−1,
    with G_t = (W_t − W_{t+1})/η read back from the path (n, T + 1, d) of a constant step size η."""
    w = path[:, :-1]
    g = grad_F(w)
    updates = (path[:, :-1] - path[:, 1:]) / lr
    return (g * g).sum(-1), ((updates - g) ** 2).sum(-1)


def weighted_gradient_bound(
    impl: Implementation, inst: NSOInstance, first_term_factor: float, budget: Any, noise_factor: float = 1.0
) -> tuple[float, float, float, dict[str, float], str]:
    """Lemma B.1 (29) for a constant step size η = c/C over T steps (inst.scalars c, T; t uniform
    on 0 … T−1): (lhs, rhs, tolerance, values) of  E Z ≤ first_term_factor·D²/(Tη),  where
    Z = mean_t ‖∇F(W_t)‖² − noise_factor·Cη·mean_t ‖δ_t + ξ_t‖² per run
    (δ_t + ξ_t = G_t − ∇F(W_t) read back; the paper: noise_factor 1)
    and lhs is the lower end of E Z's interval at budget.alpha; the last item is the note for a violation."""
    steps, lr = inst.scalars["T"], inst.scalars["c"] / inst.C
    n = chain_count(impl, budget.scaled(256, 1024, 4096), 32)
    path = run_paths(impl, inst.problem, inst.w0_tensor(), inst.hp(lr), n, steps, budget.seed)
    gn2, noise2 = path_terms(inst.grad_F, path, lr)
    z = gn2.mean(-1) - noise_factor * inst.C * lr * noise2.mean(-1)
    mean, half = mean_interval(z[:, None], budget.alpha)
    eps = torch.finfo(torch.float64).eps
    scale = float(gn2.abs().max() + noise_factor * inst.C * lr * noise2.abs().max())
    err = readback_error(path[:, 0], lr, path[:, -1])
    tol = 1e3 * eps * scale + 2 * err * scale**0.5 + err * err
    d2 = inst.D2()
    rhs = first_term_factor * d2 / (steps * lr)
    values = {
        "E_weighted_grad2": float(gn2.mean()),
        "noise_term": float(noise_factor * inst.C * lr * noise2.mean()),
        "E_Z": float(mean[0]),
        "halfwidth": float(half[0]),
        "first_term": rhs,
        "D2": d2,
        "C": inst.C,
        "eta": lr,
        "runs": n,
    }
    lhs = float(mean[0] - half[0])
    return lhs, rhs, tol, values, f"E‖∇F(W_t)‖² − noise term ≥ {lhs:.6g} > first term {rhs:.6g}"


def takes_noise(impl: Implementation) -> bool:
    """Whether the class chooses its law P through a `noise` hyper-parameter (flatcheck's own NSO
    does; a user's class when its constructor names the argument, under --rename)."""
    if impl.builtin:
        return True
    import inspect

    try:
        params = inspect.signature(impl.optimizer).parameters
    except (TypeError, ValueError):
        return False
    return impl.rename.get("noise", "noise") in params


def noise_hyper(law: str, impl: Implementation) -> dict[str, str] | None:
    """The hyper-parameters that ask for law P: {"noise": P} for a class that takes it, {} for
    Gaussian P (every class's default) otherwise; None when P cannot be asked of the class."""
    if unsupported_law(impl, law):
        return None
    return {"noise": law} if takes_noise(impl) else {}


def unsupported_law(impl: Implementation, law: str) -> str | None:
    """Why a user's class cannot draw law P: P other than Gaussian is chosen through the `noise`
    hyper-parameter, which the class must take (`takes_noise`), and only by the NSO paper's names:
    flatcheck's own laws (`LAWS`) are no name a user's class knows."""
    if law not in NOISES and not impl.builtin:
        return f"P = {law} is flatcheck's own law, drawn by its built-in NSO only"
    if law != "gaussian" and not takes_noise(impl):
        return f"P = {law} needs a `noise` hyper-parameter; {impl.name} is checked with Gaussian P"
    return None


def unsupported_noise(impl: Implementation, inst: NSOInstance) -> str | None:
    """Why a user's class cannot run this instance (`unsupported_law` of its P)."""
    return unsupported_law(impl, inst.noise)
