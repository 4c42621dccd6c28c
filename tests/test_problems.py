"""Each family's torch, HIPS autograd and sympy derivatives agree; moments are exact."""

from __future__ import annotations

import dataclasses

import autograd
import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flatcheck.numeric import autograd_grad, hvp, proj_out
from flatcheck.problems import point_instances, smooth_problems, wen_toy
from flatcheck.symbolic import expectation, monomial_moment

R = sp.Rational


@settings(max_examples=25, deadline=None)
@given(point_instances(smooth_problems(degrees=(3, 4, 6)), lo=-4, hi=4))
def test_backends_agree(inst):
    p = inst.problem
    x = inst.x_tensor()
    exact = p.grad(x)
    scale = 1 + float(exact.abs().max())
    tol = 1e-9 * scale
    assert torch.allclose(autograd_grad(p.f, x[None])[0], exact, atol=tol, rtol=1e-9)
    hips = torch.from_numpy(np.asarray(autograd.grad(p.f_autograd)(x.numpy()), dtype=np.float64))
    assert torch.allclose(hips, exact, atol=tol, rtol=1e-9)
    v = torch.ones_like(x)
    h = p.hess(x)
    assert torch.allclose(hvp(p.f, x[None], v[None])[0], h @ v, atol=1e-9 * (1 + float(h.abs().max())), rtol=1e-9)
    exact_sym = [float(g.subs(dict(zip(p.symbols, inst.x)))) for g in p.grad_expr]
    assert torch.allclose(exact, torch.tensor(exact_sym, dtype=torch.float64), atol=tol, rtol=1e-9)
    assert abs(float(p.f_mp([float(v) for v in inst.x])) - float(p.f(x))) <= 1e-9 * (1 + abs(float(p.f(x))))


@given(st.integers(1, 8))
def test_sphere_moments(d):
    gs = sp.symbols(f"g1:{d + 1}")
    assert expectation(sum(g**2 for g in gs), gs, "sphere") == 1
    assert monomial_moment((4,) + (0,) * (d - 1), "sphere") == sp.Rational(3, d * (d + 2))
    assert expectation(gs[0] ** 3, gs, "sphere") == 0
    assert expectation(gs[0] ** 4, gs, "gaussian") == 3
    assert expectation(gs[0] ** 2 * gs[-1] ** 2 if d > 1 else gs[0] ** 4, gs, "rademacher") == 1


def test_sphere_moment_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(200_000, 3, generator=gen, dtype=torch.float64)
    g = g / g.norm(dim=1, keepdim=True)
    mc = float((g[:, 0] ** 2 * g[:, 1] ** 2).mean())
    assert abs(mc - float(monomial_moment((2, 2, 0), "sphere"))) < 5 * float((g[:, 0] ** 2 * g[:, 1] ** 2).std()) / 447


def test_proj_out_handles_zero_direction():
    u = torch.tensor([[0.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    v = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    assert torch.equal(proj_out(u, v), torch.tensor([[1.0, 2.0], [0.0, 4.0]], dtype=torch.float64))


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(point_instances(smooth_problems(degrees=(3, 4, 6)), lo=-4, hi=4))
def test_monomial_derivatives_equal_the_compiled_formula(inst):
    """`Problem.monomial` evaluates the same derivatives as the compiled formula, to round-off, in float64
    and float32 and batched; a wrong exponent or coefficient would be off by O(1)."""
    compiled = inst.problem
    monomial = dataclasses.replace(compiled, expr=sp.Poly(compiled.expr, *compiled.symbols).as_expr(), monomial=True)
    x = torch.stack([inst.x_tensor(), -inst.x_tensor() / 2])
    for name in ("grad", "hess", "grad_trace_bar"):
        want, got = getattr(compiled, name)(x), getattr(monomial, name)(x)
        tol = 1e-9 * (1 + float(want.abs().max()))
        assert torch.allclose(got, want, atol=tol, rtol=1e-9), name
        got32 = getattr(monomial, name)(x.float())
        assert got32.dtype == torch.float32
        assert torch.allclose(got32.double(), want, atol=1e-3 * (1 + float(want.abs().max())), rtol=1e-3), name


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(point_instances(smooth_problems(degrees=(3, 4, 6)), lo=-4, hi=4))
def test_value_grad_tables_of_a_polynomial_equal_the_compiled_formula(inst):
    """What a user's closure hands the optimizer on a polynomial problem (`Problem.value_grad_tables`):
    [f, ∇f] expanded into monomials, equal to the compiled f and its autograd gradient to round-off
    (the step claims' tolerance bounds it by Σ|c_α||z^α|, `predict.grad_scale`); a wrong exponent or
    coefficient would be off by O(1)."""
    prob = inst.problem
    x = torch.stack([inst.x_tensor(), -inst.x_tensor() / 2]).requires_grad_(True)
    value = prob.f(x)
    (grad,) = torch.autograd.grad(value.sum(), x)
    table = prob.value_grad_tables[0].evaluate(x.detach())
    want = torch.cat([value.detach()[:, None], grad], 1)
    assert torch.allclose(table, want, atol=1e-9 * (1 + float(want.abs().max())), rtol=1e-9)


def test_value_grad_tables_only_where_every_loss_is_a_polynomial():
    from flatcheck.problems.nso_families import logistic_loss

    assert logistic_loss([[R(1), R(2)]], [1]).value_grad_tables is None
    toy = wen_toy()
    assert dataclasses.replace(toy, is_polynomial=False).value_grad_tables is None
    # An expression not polynomial in the symbols despite the default flag: autograd's path, not an error.
    x = sp.symbols("x1:3", real=True)
    assert dataclasses.replace(toy, symbols=x, expr=sp.exp(x[0]) + x[1], examples=()).value_grad_tables is None
    assert len(toy.value_grad_tables) == 1 + toy.n_examples


def test_monomial_example_gradients_equal_the_compiled_formula():
    toy = wen_toy()
    compiled = dataclasses.replace(toy, monomial=False)
    x = torch.tensor([[0.3, -0.7, 0.2, 1.1], [1.5, 0.25, -0.4, 0.0]], dtype=torch.float64)
    index = torch.tensor([1, 0])
    assert torch.allclose(toy.grad_example(x, index), compiled.grad_example(x, index), atol=1e-13, rtol=1e-13)
    # L = (1/M) Σ_k L_k: the example gradients, each example's row picked, average to ∇L.
    every = [toy.grad_example(x, torch.full((2,), k)) for k in range(toy.n_examples)]
    assert torch.allclose(sum(every) / toy.n_examples, toy.grad(x), atol=1e-13, rtol=1e-13)


def test_the_digits_are_sklearns_read_without_importing_sklearn():
    import subprocess
    import sys

    from sklearn.datasets import load_digits

    from flatcheck.problems.digits_mlp import N_TRAIN, load_digits_data

    bunch = load_digits()
    x, y = torch.tensor(bunch.data, dtype=torch.float64) / 16.0, torch.tensor(bunch.target, dtype=torch.long)
    perm = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))
    d = load_digits_data()
    assert torch.equal(d.x_train, x[perm][:N_TRAIN]) and torch.equal(d.y_val, y[perm][N_TRAIN:])
    code = "import sys; from flatcheck.problems import digits_mlp; digits_mlp.load_digits_data(); print(*sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "sklearn" not in out.stdout.split()


def test_the_trained_digits_mlp_is_kept_on_disk_and_read_back_the_same(tmp_path, monkeypatch):
    from flatcheck import cache
    from flatcheck.problems import digits_mlp as m

    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path))
    real, built = torch.optim.Adam, []
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **k: built.append(1) or real(*a, **k))
    weights = []
    for _ in range(2):  # as two processes would: the in-process cache forgotten
        m._trained.cache_clear()
        weights.append(m.flat_weights(m._trained(3, 1, 20)))
    m._trained.cache_clear()
    assert len(built) == 1  # trained once; the second read the weights from disk
    assert torch.equal(weights[0], weights[1])
    assert not torch.equal(weights[1], m.flat_weights(m.make_mlp(3, 1)))  # the trained weights, not the start
