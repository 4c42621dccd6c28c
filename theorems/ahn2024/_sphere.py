r"""E_g tr̄(Φ(x⁺)) − tr̄(Φ(x)) for one RSP step with g ~ Unif(S^{d−1}), d > 2, exactly (by quadrature), on
products of Example-1 blocks: the diagonal network with groups of size 1, f = (1/m) Σ_b (u_b v_b − y_b)²,
x = (u_1..u_m, v_1..v_m), d = 2m (shared by `lemma2` and `lemma3`).

Why it separates. Φ acts block by block (the flows of the blocks are independent) and tr̄ = ‖x‖²/m² is
a sum over blocks. Where ∇f(x) is non-zero in at most one block, the step
x⁺ = x − η(∇f(x) + Proj⊥_{∇f(x)}∇f(x + ρg)) moves block b by an amount that depends on g_b = (g_{u_b}, g_{v_b})
only, so E_g Δ = Σ_b E Δ_b(g_b), a sum of two-dimensional integrals. The pair g_b of a uniform point on
S^{d−1} has density ∝ (1 − ‖g_b‖²)^{(d−4)/2} on the unit disc: its angle is uniform and s = ‖g_b‖² is
Beta(1, (d − 2)/2). The angular mean (trapezoid rule: geometric convergence for an analytic periodic
integrand) of an analytic function of g_b is analytic in s, and its s-integral against the polynomial
weight ((d − 2)/2)(1 − s)^{(d−4)/2} (d even) is done by Gauss–Legendre. The error estimate is the
difference from the rule with half the nodes in both directions.
"""

from __future__ import annotations

import numpy as np
import torch

from flatcheck.numeric.flatness import circle_mean_trace_change, trace_change
from flatcheck.numeric.linalg import proj_out


def _disc_rule(d: int, radial: int, angular: int, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes (radial·angular, 2) and weights (radial·angular,) of E over the pair g_b of g ~ Unif(S^{d−1})."""
    s, w = np.polynomial.legendre.leggauss(radial)
    s, w = (s + 1) / 2, w / 2
    w = w * (d - 2) / 2 * (1 - s) ** ((d - 4) / 2)
    theta = np.arange(angular) * (2 * np.pi / angular)
    r = np.sqrt(s)[:, None]
    nodes = np.stack([r * np.cos(theta), r * np.sin(theta)], -1).reshape(-1, 2)
    weights = np.repeat(w / angular, angular)
    return torch.tensor(nodes, dtype=dtype), torch.tensor(weights, dtype=dtype)


def sphere_mean_trace_change(
    problem, x: torch.Tensor, lr: torch.Tensor, rho: torch.Tensor, radial: int = 24, angular: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """(E_g Δtr̄(Φ), quadrature error estimate) for rows x (L, d) with η (L,), ρ (L,), g ~ Unif(S^{d−1}),
    on a diagonal network whose groups all have size 1 and d ≥ 4 (see the module docstring)."""
    m = problem.d // 2
    if problem.params.get("groups") != [1] * m or m < 2:
        raise ValueError("sphere_mean_trace_change needs a diagonal network of m ≥ 2 groups of size 1")
    gx = problem.grad(x)
    moving = (gx[:, :m] != 0) | (gx[:, m:] != 0)
    if bool((moving.sum(-1) > 1).any()):
        raise ValueError("∇f(x) is non-zero in more than one block: the expectation does not separate")

    def mean(radial: int, angular: int) -> torch.Tensor:
        nodes, weights = _disc_rule(problem.d, radial, angular, x.dtype)
        total = torch.zeros(x.shape[0], dtype=x.dtype)
        for b in range(m):
            g = torch.zeros(nodes.shape[0], problem.d, dtype=x.dtype)
            g[:, b], g[:, m + b] = nodes[:, 0], nodes[:, 1]
            xs = x[:, None, :].expand(-1, g.shape[0], -1)
            gxs = gx[:, None, :].expand_as(xs)
            v = proj_out(gxs, problem.grad(xs + rho[:, None, None] * g))
            x_next = xs - lr[:, None, None] * (gxs + v)
            total = total + trace_change(problem, xs, x_next) @ weights
        return total

    full = mean(radial, angular)
    return full, (full - mean(radial // 2, angular // 2)).abs()


def exact_mean_change(prob, xs: torch.Tensor, lrs: torch.Tensor, rhos: torch.Tensor):
    """E_g Δtr̄(Φ) over g ~ Unif(S^{d−1}) and its quadrature error: the circle's trapezoid rule at d = 2,
    the separated disc quadrature beyond."""
    if prob.d == 2:
        return circle_mean_trace_change(prob, xs, lrs, rhos)
    return sphere_mean_trace_change(prob, xs, lrs, rhos)
