"""The faster paths of the limit map and of compiled expressions compute what the plain ones do:
∂Φ from an exact Hessian (a matmul) against Hessian-vector products, ∂Φ(x)w as one Jacobian-vector
product against the whole Jacobian, and compiled vectors with constant entries written as one row
against one full() per entry — values and gradients."""

from __future__ import annotations

import sympy as sp
import torch

from flatcheck.numeric.flatness import limit_jacobian, limit_jvp
from flatcheck.numeric.flow import dphi
from flatcheck.problems import example1
from flatcheck.problems.compile import to_torch_many
from flatcheck.problems.quadratic import quadratic
from flatcheck.problems.setting1 import diagonal_network

R = sp.Rational


def test_dphi_with_the_exact_hessian_matches_hessian_vector_products():
    for prob, x in (
        (example1(), torch.tensor([[1.5, 0.4], [0.3, 2.0]], dtype=torch.float64)),
        (quadratic([R(1), R(3), R(0)], [R(1), R(2), R(-1)]), torch.tensor([[1.2, 0.3, -0.5]], dtype=torch.float64)),
    ):
        plain, res_plain = dphi(prob.grad, x)
        fast, res_fast = dphi(prob.grad, x, hess=prob.hess)
        assert res_plain.all_converged and res_fast.all_converged
        assert float((plain - fast).abs().max()) < 1e-10
        assert int((res_plain.steps - res_fast.steps).abs().max()) <= 2


def test_limit_jvp_is_the_jacobian_times_the_vector():
    prob = diagonal_network([2, 1], [R(1), R(2)])
    x = torch.tensor([[0.7, 1.1, 0.4, 1.3, 0.2, 2.5], [1.5, 0.3, 1.0, 0.6, 0.9, 1.8]], dtype=torch.float64)
    w = torch.randn(2, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    jac, ok = limit_jacobian(prob, x)
    jw, ok2 = limit_jvp(prob, x, w)
    assert bool(ok.all() & ok2.all())
    assert float((jw - torch.einsum("bij,bj->bi", jac, w)).abs().max()) < 1e-12


def test_compiled_vector_with_constant_entries_values_and_gradients():
    x1, x2 = sp.symbols("x1 x2", real=True)
    exprs = [x1 * x2, sp.Integer(0), x1**2, sp.Rational(3, 2), sp.Integer(0)]
    f = to_torch_many((x1, x2), exprs)
    x = torch.tensor([[1.0, 2.0], [-0.5, 3.0]], dtype=torch.float64, requires_grad=True)
    for _ in range(2):  # the layout learnt at the first call serves the next
        out = f(x)
        expected = torch.stack([x[:, 0] * x[:, 1], 0 * x[:, 0], x[:, 0] ** 2, 0 * x[:, 0] + 1.5, 0 * x[:, 0]], -1)
        assert torch.equal(out, expected)
        (g,) = torch.autograd.grad(out.sum(), x)
        assert torch.equal(g, torch.stack([x[:, 1] + 2 * x[:, 0], x[:, 0]], -1).detach())
    constant = to_torch_many((x1, x2), [sp.Integer(1), sp.Integer(2)])
    assert torch.equal(constant(x.detach()), torch.tensor([[1.0, 2.0], [1.0, 2.0]], dtype=torch.float64))
