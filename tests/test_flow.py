"""Φ (ahn2024 Definition 1) by integrating the gradient flow, and its derivatives, against the
closed form that the conserved quantity x₁² − x₂² gives on Example 1."""

from __future__ import annotations

import pytest
import torch

from flatcheck.numeric.flow import d2phi, dphi, dphi_fd, manifold_gradient, phi
from flatcheck.problems import example1


def closed_phi(x: torch.Tensor) -> torch.Tensor:
    # s = x₁+x₂ and δ = x₁−x₂ evolve as s·e^{−L}, δ·e^{L}; the limit has x₁x₂ = (s²−δ²)/4 = 1.
    s, dl = x[..., 0] + x[..., 1], x[..., 0] - x[..., 1]
    z = s * s / (2 + torch.sqrt(4 + dl * dl * s * s))
    return torch.stack([(s / z.sqrt() + dl * z.sqrt()) / 2, (s / z.sqrt() - dl * z.sqrt()) / 2], -1)


def _points(n: int) -> torch.Tensor:
    x = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    return x[(x.sum(-1)).abs() > 0.3]  # away from the stable manifold x₁ = −x₂ of the saddle (0, 0)


def test_phi_matches_closed_form():
    x = _points(24)
    res = phi(example1().grad, x)
    assert res.all_converged
    assert float((res.point - closed_phi(x)).abs().max()) < 1e-8
    assert float(res.grad_norm.max()) <= 1e-11


@pytest.mark.slow
def test_dphi_matches_closed_form_and_finite_differences():
    x = _points(6)[:3]
    jac, res = dphi(example1().grad, x)
    assert res.all_converged
    exact = torch.func.vmap(torch.func.jacfwd(closed_phi))(x)
    assert float((jac - exact).abs().max()) < 1e-7
    fd, ok = dphi_fd(example1().grad, x[0])
    assert ok and float((fd - exact[0]).abs().max()) < 1e-6


@pytest.mark.slow
def test_d2phi_matches_closed_form():
    x = _points(6)[:1]
    u = torch.tensor([[0.6, -0.8]], dtype=torch.float64)
    first, second, res = d2phi(example1().grad, x, u)
    assert res.all_converged
    for i in range(1):
        inner = lambda q, i=i: torch.func.jvp(closed_phi, (q,), (u[i],))[1]  # noqa: E731
        exact2 = torch.func.jvp(inner, (x[i],), (u[i],))[1]
        assert float((first[i] - inner(x[i])).abs().max()) < 1e-7
        assert float((second[i] - exact2).abs().max()) < 1e-6


def test_manifold_gradient_vanishes_only_at_flat_minima():
    prob = example1()
    pts = torch.tensor([[1.0, 1.0], [-1.0, -1.0], [2.0, 0.5]], dtype=torch.float64)
    g, p, res = manifold_gradient(prob.grad, prob.grad_trace_bar, pts)
    assert res.all_converged
    norms = torch.linalg.vector_norm(g, dim=-1)
    assert float(norms[:2].max()) < 1e-8 and float(norms[2]) > 1.0


def test_divergent_flow_is_reported_not_guessed():
    grad = lambda x: -2 * x  # noqa: E731  (f = −‖x‖²: the flow runs off to infinity)
    res = phi(grad, torch.ones(2, 3, dtype=torch.float64), max_steps=200)
    assert not bool(res.converged.any())
