"""The remainder of the second-order Gaussian-smoothing expansion, and its order as Σ → 0.

For U ~ N(0, sΣ₀) the claims of the NSO paper (Proposition 2.1, Lemma A.4) say

    E f(W + U)  (or E ½(f(W+U) + f(W−U)))  =  f(W) + c·⟨sΣ₀, ∇²f(W)⟩ + O(s^p),  c = ½.

`smoothing_order` decides the order of the remainder R(s) = E[…] − f(W) − c·⟨sΣ₀, ∇²f(W)⟩:
- f polynomial: R(s) is computed exactly (Gaussian moments, `flatcheck.symbolic.gaussian`) as a
  polynomial in s; its order is its lowest power;
- f with a closed-form Gaussian expectation (`known["gaussian_mean"]`: the piecewise-cubic losses):
  R(s) exactly, as a polynomial in √s plus a part that is o(s^k) for every k; its order is the
  polynomial's lowest power;
- otherwise: Monte Carlo at s = 4^{-1} … 4^{-L} with common draws U = √s·L Z in antithetic pairs,
  using ½UᵀHU as a control variate (E UᵀHU = ⟨Σ, H⟩ exactly), so the per-draw remainder is
  O(s²) and its relative error does not grow as s shrinks; `flatcheck.stats.remainder_order_mc` decides.
  The two-point average of an antithetic pair equals the one-point mean, so both forms of the
  expectation are estimated the same way.
"""

from __future__ import annotations

import math
from typing import Any

import sympy as sp
import torch

from flatcheck.problems import Problem
from flatcheck.stats import OrderFit, mean_interval
from flatcheck.stats.remainder_order_mc import mc_order
from flatcheck.symbolic.gaussian import gaussian_draws, lowest_order, smoothed

S = sp.Symbol("s", positive=True)
T = sp.Symbol("t", positive=True)  # √s


def exact_remainder(
    prob: Problem, w: list[sp.Rational], cov0: sp.Matrix, coefficient: sp.Rational, two_point: bool
) -> sp.Expr:
    """R(s) as a polynomial in s, for a polynomial f."""
    mean = smoothed(prob.expr, prob.symbols, w, S * cov0, two_point)
    return sp.expand(mean - _expansion(prob, w, cov0, coefficient))


def _expansion(prob: Problem, w: list[sp.Rational], cov0: sp.Matrix, coefficient: sp.Rational) -> sp.Expr:
    """f(W) + coefficient·⟨sΣ₀, ∇²f(W)⟩."""
    at_w = dict(zip(prob.symbols, w))
    hess = prob.hess_expr.subs(at_w)
    inner = sum(cov0[i, j] * hess[i, j] for i in range(prob.d) for j in range(prob.d))
    return prob.expr.subs(at_w) + coefficient * S * inner


def known_remainder(
    prob: Problem, w: list[sp.Rational], cov0: sp.Matrix, coefficient: sp.Rational
) -> tuple[sp.Expr, sp.Expr]:
    """R(s) from the family's closed form of E f(W + U) (`known["gaussian_mean"]`), as (a polynomial in
    √s, a part that is o(s^k) for every k); U is symmetric, so the two-point average has the same
    expectation."""
    powers, flat = prob.known["gaussian_mean"](w, cov0, S)
    return sp.expand(powers - _expansion(prob, w, cov0, coefficient)), flat


def mc_remainder(
    prob: Problem,
    w: torch.Tensor,
    cov0: torch.Tensor,
    coefficient: float,
    levels: list[float],
    n: int,
    generator: torch.Generator,
    alpha: float,
) -> tuple[list[float], list[float]]:
    """Means and half-widths (simultaneous over the levels, error rate alpha) of R(s) at each s."""
    u = gaussian_draws(cov0, n, generator, antithetic=True)
    half = n // 2
    hess = prob.hess(w)
    quad = torch.einsum("ni,ij,nj->n", u, hess, u)
    inner = float((cov0 * hess).sum())
    fw = prob.f(w)
    cols = []
    for s in levels:
        r = math.sqrt(s)
        vals = prob.f(w + r * u)
        # Antithetic pair average: ½(f(W+U) + f(W−U)); control variate ½sUᵀHU (mean ½s⟨Σ₀,H⟩).
        pair = (vals[:half] + vals[half : 2 * half]) / 2
        cols.append(pair - fw - s * quad[:half] / 2 + (0.5 - coefficient) * s * inner)
    samples = torch.stack(cols, dim=-1)
    means, widths = mean_interval(samples, alpha)
    # Round-off in f(W ± U) − f(W): a few ulps of the values involved.
    floor = 64 * torch.finfo(torch.float64).eps * (float(fw.abs()) + 1.0)
    return means.tolist(), (widths + floor).tolist()


def smoothing_order(
    prob: Problem,
    w: list[sp.Rational],
    cov0: sp.Matrix,
    *,
    coefficient: sp.Rational,
    claimed: float,
    two_point: bool,
    n: int,
    seed: int,
    alpha: float,
    depth: int = 6,
) -> tuple[OrderFit, dict[str, Any], dict[str, Any]]:
    """(decision, values, log-log plot data) for R(s) = O(s^claimed)."""
    levels = [4.0**-j for j in range(1, depth + 1)]
    if prob.is_polynomial:
        rem = exact_remainder(prob, w, cov0, coefficient, two_point)
        order = lowest_order(rem, S)
        ys = [abs(float(rem.subs(S, s))) for s in levels]
        fit = OrderFit(levels, ys, [], order, True, order >= claimed, f"exact: R(s) has lowest power s^{order}")
        values = {"method": "exact Gaussian moments", "remainder": str(rem), "order_in_s": order}
    elif "gaussian_mean" in prob.known:
        powers, flat = known_remainder(prob, w, cov0, coefficient)
        order = lowest_order(powers.subs(S, T**2), T) / 2
        ys = [abs(float((powers + flat).subs(S, s))) for s in levels]
        note = f"exact: R(s) = {powers} + o(s^k) for every k, lowest power s^{order:g}"
        fit = OrderFit(levels, ys, [], order, True, order >= claimed, note)
        values = {
            "method": "exact Gaussian expectation (closed form)",
            "remainder": str(powers + flat),
            "order_in_s": order,
        }
    else:
        wt = torch.tensor([float(v) for v in w], dtype=torch.float64)
        ct = torch.tensor([[float(v) for v in row] for row in cov0.tolist()], dtype=torch.float64)
        gen = torch.Generator().manual_seed(seed)
        means, widths = mc_remainder(prob, wt, ct, float(coefficient), levels, n, gen, alpha)
        fit = mc_order(levels, means, widths, claimed)
        ys = fit.remainders
        values = {
            "method": "Monte Carlo (antithetic, control variate)",
            "draws": n,
            "means": means,
            "halfwidths": widths,
            "order_upper_bound": fit.slope,
        }
    values.update({"levels_s": levels, "claimed_order_in_s": claimed, "coefficient": str(coefficient)})
    plot = {"type": "loglog", "x": levels, "y": ys, "xlabel": "s", "ylabel": "|remainder|", "reference_order": claimed}
    return fit, values, plot
