"""Hessian traces (exact, Hutchinson, Hutch++), Lanczos eigenpairs and chunked evaluation."""

from __future__ import annotations

import math

import pytest
import torch

from flatcheck.numeric import traces
from flatcheck.numeric.chunks import Moments, chunked, streaming_moments
from flatcheck.numeric.lanczos import eigenpairs, exact_eigenpairs, lanczos_eigenpairs
from flatcheck.problems import example1, quadratic


def random_psd(d: int, gen: torch.Generator, decay: float) -> torch.Tensor:
    """U diag(i^-decay) Uᵀ with a Haar-random U: decay 0 is flat, decay 2 is nearly low rank."""
    u, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    lam = torch.arange(1, d + 1, dtype=torch.float64) ** -decay
    return (u * lam) @ u.T


def coverage(method, trials: int, products: int, alpha: float, seed: int) -> tuple[float, float]:
    """Fraction of `trials` seeded random PSD matrices whose interval covers the exact trace, and the
    mean relative half-width."""
    gen = torch.Generator().manual_seed(seed)
    hits, widths = 0, []
    for i in range(trials):
        a = random_psd(40, gen, decay=(0.0, 1.0, 2.0)[i % 3])
        est = method(traces.matrix_operator(a), products, gen, alpha)
        exact = float(torch.trace(a))
        hits += est.covers(exact)
        widths.append(est.half_width / exact)
    return hits / trials, sum(widths) / trials


@pytest.mark.slow
@pytest.mark.parametrize("method", [traces.hutchinson, traces.hutchpp])
def test_intervals_cover_the_exact_trace_at_the_stated_rate(method):
    trials, alpha = 600, 0.1
    rate, width = coverage(method, trials, products=30, alpha=alpha, seed=7)
    # Binomial slack: 4 standard deviations below 1 − alpha (the t-interval is asymptotic in the
    # number of probes; the test fails if it undercovers by more than sampling noise).
    assert rate >= 1 - alpha - 4 * math.sqrt(alpha * (1 - alpha) / trials), rate
    # … and not by being vacuous: the intervals are informative.
    assert width < 0.5, width


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    gen = torch.Generator().manual_seed(3)
    a = random_psd(200, gen, decay=2.0)
    exact = float(torch.trace(a))
    errs = {"hutchinson": [], "hutch++": []}
    for _ in range(20):
        for method in (traces.hutchinson, traces.hutchpp):
            est = method(traces.matrix_operator(a), 60, gen)
            errs[est.method].append(abs(est.estimate - exact) / exact)
    assert sum(errs["hutch++"]) < 0.2 * sum(errs["hutchinson"])


def test_product_counts_and_exact_trace():
    gen = torch.Generator().manual_seed(0)
    a = random_psd(30, gen, decay=1.0)
    op = traces.matrix_operator(a, chunk=7)
    ex = traces.exact_trace(op)
    assert ex.products == 30 and ex.half_width == 0
    assert ex.estimate == pytest.approx(float(torch.trace(a)), rel=1e-12)
    assert traces.hutchinson(op, 25, gen).products == 25
    assert traces.hutchpp(op, 25, gen).products == 25
    assert op.products == 80
    # Small d within budget: exact; otherwise Hutch++.
    assert traces.trace(op, 30, gen).method == "exact"
    assert traces.trace(op, 29, gen).method == "hutch++"


def test_hessian_operator_matches_the_symbolic_hessian():
    prob = quadratic([1, 3, 0, 5], [1, -2, 0, 1])
    x = torch.tensor([0.3, -1.0, 2.0, 0.5], dtype=torch.float64)
    op = traces.hessian_operator(prob.f, x)
    assert torch.allclose(traces.dense(op), prob.hess(x), atol=1e-12)
    p1 = example1()
    x1 = torch.tensor([0.5, 1.5], dtype=torch.float64)
    assert traces.exact_trace(traces.hessian_operator(p1.f, x1)).estimate == pytest.approx(
        float(torch.trace(p1.hess(x1)))
    )


def test_loss_of_parameters_hessian_matches_autograd():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    inputs = torch.randn(9, 3, dtype=torch.float64)
    targets = torch.randint(0, 2, (9,))
    f, theta = traces.loss_of_parameters(model, torch.nn.functional.cross_entropy, inputs, targets)
    ref = torch.autograd.functional.hessian(f, theta)
    assert torch.allclose(traces.dense(traces.hessian_operator(f, theta, chunk=5)), ref, atol=1e-12)


@pytest.mark.parametrize("which", ["top", "bottom"])
def test_lanczos_matches_eigh(which):
    gen = torch.Generator().manual_seed(11)
    d = 150
    u, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    lam = torch.linspace(-3, 5, d, dtype=torch.float64) ** 3  # indefinite, clustered near 0
    a = (u * lam) @ u.T
    ref = exact_eigenpairs(traces.matrix_operator(a), 3, which)
    got = lanczos_eigenpairs(traces.matrix_operator(a), 3, which, generator=gen, rtol=1e-10)
    assert got.converged and got.steps < d
    assert torch.allclose(got.values, ref.values, rtol=1e-8, atol=1e-8)
    # Each Ritz residual bounds its distance to the spectrum; the vectors are eigenvectors.
    assert torch.all((got.values - ref.values).abs() <= got.residuals + 1e-10)
    assert torch.allclose((got.vectors * ref.vectors).sum(-1).abs(), torch.ones(3, dtype=torch.float64), atol=1e-6)


def test_lanczos_survives_breakdown_on_a_low_rank_matrix():
    gen = torch.Generator().manual_seed(5)
    w = torch.randn(60, 4, generator=gen, dtype=torch.float64)
    a = w @ w.T  # rank 4: the Krylov space is invariant after 4 steps
    ref = torch.linalg.eigvalsh(a)
    got = lanczos_eigenpairs(traces.matrix_operator(a), 4, "top", generator=gen)
    assert got.converged and torch.allclose(got.values, ref[-4:], rtol=1e-9)
    zero = lanczos_eigenpairs(traces.matrix_operator(a), 2, "bottom", generator=gen)
    assert torch.allclose(zero.values, torch.zeros(2, dtype=torch.float64), atol=1e-9)
    assert eigenpairs(traces.matrix_operator(a), 1, "top").values.item() == pytest.approx(ref[-1].item())


def test_chunked_evaluation_equals_unchunked():
    gen = torch.Generator().manual_seed(2)
    a = random_psd(25, gen, decay=1.0)
    v = torch.randn(37, 25, generator=gen, dtype=torch.float64)
    assert torch.equal(chunked(lambda t: t @ a, v, 8), v @ a)
    x = torch.randn(25, dtype=torch.float64, generator=gen)
    f = lambda y: 0.5 * y @ a @ y + y.sin().sum()  # noqa: E731
    assert torch.allclose(traces.hessian_operator(f, x, chunk=6)(v), traces.hessian_operator(f, x)(v), atol=1e-13)
    draws = torch.randn(1000, 3, generator=gen, dtype=torch.float64)
    pos = iter(range(0, 1000, 64))
    streamed = streaming_moments(lambda k: draws[(i := next(pos)) : i + k], 1000, 64)
    whole = Moments.of(draws)
    assert streamed.count == 1000
    assert torch.allclose(streamed.mean, whole.mean, atol=1e-14)
    assert torch.allclose(streamed.var, draws.var(0), rtol=1e-12)
    # Same seed, different chunking of the product calls: identical Hutchinson forms.
    h1 = traces.hutchinson(traces.matrix_operator(a), 40, torch.Generator().manual_seed(9))
    h2 = traces.hutchinson(traces.matrix_operator(a, chunk=40), 40, torch.Generator().manual_seed(9))
    assert h1.estimate == pytest.approx(h2.estimate, rel=1e-14)
