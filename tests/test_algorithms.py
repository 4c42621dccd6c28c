"""The algorithms layer: each optimizer agrees step for step with its batched functional step under
the same draws, in float32 and float64, with several parameter tensors; draws have the stated laws."""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

from flatcheck import algorithms as alg
from flatcheck.impl.harness import example_grads
from flatcheck.numeric import hvp, proj_out
from flatcheck.problems import Problem
from flatcheck.symbolic.moments import monomial_moment

STEPS = 5


def toy() -> Problem:
    """A Setting-1 loss with three examples, non-quadratic so that every algorithm differs."""
    xs = sp.symbols("x1:5", real=True)
    ex = (
        (xs[0] * xs[1] - 1) ** 2,
        (xs[1] + xs[2] ** 2 - xs[3]) ** 2,
        (xs[0] - xs[3]) ** 4 / 4 + xs[2] ** 2,
    )
    return Problem("toy", xs, sum(ex) / 3, examples=ex)


def split_params(x: torch.Tensor) -> list[torch.nn.Parameter]:
    """The vector as two parameter tensors, as a model would hold it."""
    return [torch.nn.Parameter(part.clone()) for part in x.tensor_split(2)]


def closure_for(opt, params, loss_of):
    def closure(**kw):
        opt.zero_grad()
        loss = loss_of(torch.cat(list(params)), **kw)
        loss.backward()
        return loss

    return closure


def gen(seed: int = 3) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def prob() -> Problem:
    return toy()


@pytest.fixture(params=[torch.float64, torch.float32], ids=["f64", "f32"])
def dtype(request):
    return request.param


def tol(dtype) -> float:
    return 1e-12 if dtype == torch.float64 else 2e-5


def x0(dtype) -> torch.Tensor:
    return torch.tensor([0.7, -0.4, 0.3, 1.1], dtype=dtype)


def run_class(make, prob, x, steps, loss_of=None):
    """`steps` steps of the optimizer on two parameter tensors; loss_of(z, t, **closure kwargs)."""
    params = split_params(x)
    opt = make(params)
    loss_of = loss_of or (lambda z, t, **kw: prob.f(z))
    out = [x]
    for t in range(steps):
        opt.step(closure_for(opt, params, lambda z, t=t, **kw: loss_of(z, t, **kw)))
        out.append(torch.cat([p.detach() for p in params]))
    return torch.stack(out)


def run_functional(step, x, steps):
    out = [x[None]]
    for _ in range(steps):
        out.append(step(out[-1]))
    return torch.cat(out)


def test_gd_and_sgd(prob, dtype):
    x = x0(dtype)
    a = run_class(lambda p: alg.GD(p, lr=0.05), prob, x, STEPS)
    b = run_functional(lambda z: alg.gd_step(prob.grad, z, lr=0.05), x, STEPS)
    assert torch.allclose(a, b, atol=tol(dtype))
    w = alg.minibatch_weights(STEPS, 3, 2, "without_replacement", gen(), dtype)
    c = run_class(
        lambda p: alg.SGD(p, lr=0.05),
        prob,
        x,
        STEPS,
        loss_of=lambda z, t: sum(w[t][i] * f(z) for i, f in enumerate(prob.example_f)),
    )
    it = iter(w)
    d = run_functional(lambda z: alg.sgd_step(lambda y: example_grads(prob, y), z, next(it)[None], lr=0.05), x, STEPS)
    assert torch.allclose(c, d, atol=tol(dtype))


def test_rsp(prob, dtype):
    x = x0(dtype)
    a = run_class(lambda p: alg.RSP(p, lr=0.05, rho=0.2, generator=gen()), prob, x, STEPS)
    g = gen()
    b = run_functional(
        lambda z: alg.rsp_step(
            prob.grad, z, alg.rsp_directions(1, 4, g, dtype=dtype), lr=0.05, lr_prime=0.05, rho=0.2, eps0=math.inf
        ),
        x,
        STEPS,
    )
    assert torch.allclose(a, b, atol=tol(dtype))


def test_sam_full_batch_and_stochastic(prob, dtype):
    x = x0(dtype)

    def sam_class(loss_of):
        params = split_params(x)
        opt = alg.SAM([{"params": [params[0]]}, {"params": [params[1]]}], torch.optim.SGD, rho=0.2, lr=0.05)
        out = [x]
        for t in range(STEPS):
            opt.zero_grad()
            loss_of(torch.cat(params), t).backward()  # davda54: backward at w first
            opt.step(closure_for(opt, params, lambda z, t=t: loss_of(z, t)))
            out.append(torch.cat([p.detach() for p in params]))
        return torch.stack(out)

    a = sam_class(lambda z, t: prob.f(z))
    b = run_functional(lambda z: alg.sam_step(prob.grad, z, lr=0.05, rho=0.2), x, STEPS)
    assert torch.allclose(a, b, atol=tol(dtype))
    ks = alg.example_indices(STEPS, 3, gen())
    c = sam_class(lambda z, t: prob.example_f[int(ks[t])](z))
    it = iter(ks)
    d = run_functional(lambda z: alg.sam_step_example(prob.grad_example, z, next(it)[None], lr=0.05, rho=0.2), x, STEPS)
    assert torch.allclose(c, d, atol=tol(dtype))


def test_sam_first_and_second_step_match_step(prob):
    x = x0(torch.float64)
    p = torch.nn.Parameter(x.clone())
    opt = alg.SAM([p], torch.optim.SGD, rho=0.2, lr=0.05)
    prob.f(p).backward()
    opt.first_step(zero_grad=True)
    assert torch.allclose(p.detach(), x + 0.2 * prob.grad(x) / prob.grad(x).norm())
    prob.f(p).backward()
    opt.second_step(zero_grad=True)
    assert torch.allclose(p.detach(), alg.sam_step(prob.grad, x[None], lr=0.05, rho=0.2)[0], atol=1e-14)


def test_sap(prob, dtype):
    x = x0(dtype)
    ks = alg.example_indices(STEPS, 3, gen(9))
    a = run_class(
        lambda p: alg.SAP(p, lr=0.05, rho=0.2, generator=gen()),
        prob,
        x,
        STEPS,
        loss_of=lambda z, t, example=False: prob.example_f[int(ks[t])](z) if example else prob.f(z),
    )
    g, it = gen(), iter(ks)

    def step(z):
        sign = alg.random_signs(1, g, dtype=dtype)
        xi = torch.zeros_like(z)  # no example gradient vanishes here: Remark 2 is not exercised
        return alg.sap_step(
            prob.grad, prob.grad_example, z, next(it)[None], sign, xi, lr=0.05, lr_prime=0.05, rho=0.2, eps0=1e9
        )

    assert torch.allclose(a, run_functional(step, x, STEPS), atol=tol(dtype))


def test_sap_remark2_fallback():
    """A vanishing per-example gradient uses ∇f_i(x + ξ)/‖∇f_i(x + ξ)‖ (Remark 2), never 0/0."""
    xs = sp.symbols("x1:3", real=True)
    ex = ((xs[0] - 1) ** 2, (xs[1] + 1) ** 2 + xs[0] ** 2)
    prob = Problem("r2", xs, sum(ex) / 2, examples=ex)
    x = torch.tensor([[1.0, 0.5]], dtype=torch.float64)  # ∇f_0(x) = 0, ∇f(x) = (1, 1.5)
    xi = alg.small_vectors(1, 2, 1e-6, gen())
    out = alg.sap_step(
        prob.grad, prob.grad_example, x, torch.tensor([0]), torch.ones(1, 1), xi, lr=0.1, lr_prime=0.1, rho=0.3, eps0=9
    )
    # ∇f_0(x + ξ) = (2ξ₁, 0): the direction is sign(ξ₁)e₁, so ∇f_0(x + ρσu) = (0.6·sign(ξ₁), 0).
    g = torch.tensor([[1.0, 1.5]], dtype=torch.float64)
    w = torch.tensor([[0.6 * float(torch.sign(xi[0, 0])), 0.0]], dtype=torch.float64)
    assert torch.allclose(out, x - 0.1 * (g + proj_out(g, w)), atol=1e-12)
    p = torch.nn.Parameter(x[0].clone())
    opt = alg.SAP([p], lr=0.1, rho=0.3, xi=1e-6, generator=gen())
    opt.step(closure_for(opt, [p], lambda z, example=False: prob.example_f[0](z) if example else prob.f(z)))
    assert min(float((p - row).abs().max()) for row in (x - 0.1 * (g + proj_out(g, s * w)) for s in (1, -1))) < 1e-12


def test_ascent_gd_is_gradient_descent_on_l_asc(prob, dtype):
    x = x0(dtype)
    params = split_params(x)
    opt = alg.AscentGD(params, lr=0.05, rho=0.2)
    out = [x]
    for _ in range(STEPS):
        opt.step(lambda: prob.f(torch.cat(list(params))))
        out.append(torch.cat([p.detach() for p in params]))
    b = run_functional(
        lambda z: alg.ascent_step(prob.grad, lambda y, v: hvp(prob.f, y, v), z, lr=0.05, rho=0.2), x, STEPS
    )
    assert torch.allclose(torch.stack(out), b, atol=tol(dtype) * 10)
    # Independent: autograd through L^asc(x) = L(x + ρ∇L/‖∇L‖) with create_graph.
    z = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(prob.f(z), z, create_graph=True)
    (l_asc_grad,) = torch.autograd.grad(prob.f(z + 0.2 * g / g.norm()), z)
    assert torch.allclose(b[1], x - 0.05 * l_asc_grad, atol=tol(dtype) * 10)


def test_ascent_gd_rejects_a_closure_that_called_backward(prob):
    p = torch.nn.Parameter(x0(torch.float64))
    opt = alg.AscentGD([p], lr=0.1, rho=0.1)

    def closure():
        loss = prob.f(p)
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="without calling backward"):
        opt.step(closure)


@pytest.mark.parametrize("noise", alg.LAWS)
def test_nso_and_wp(prob, noise):
    x = x0(torch.float64)
    a = run_class(lambda p: alg.NSO(p, lr=0.05, sigma=0.1, k=3, noise=noise, generator=gen()), prob, x, STEPS)
    g = gen()
    b = run_functional(
        lambda z: alg.nso_step(prob.grad, z, alg.symmetric_noise((1, 3), 4, 0.1, noise, g), lr=0.05), x, STEPS
    )
    assert torch.allclose(a, b, atol=1e-12)
    c = run_class(lambda p: alg.WPSGD(p, lr=0.05, sigma=0.1, noise=noise, generator=gen()), prob, x, STEPS)
    g = gen()
    d = run_functional(
        lambda z: alg.wp_step(prob.grad, z, alg.symmetric_noise((1,), 4, 0.1, noise, g), lr=0.05), x, STEPS
    )
    assert torch.allclose(c, d, atol=1e-12)


@pytest.mark.parametrize("noise", alg.LAWS)
def test_noise_is_symmetric_with_standard_deviation_sigma(noise):
    u = alg.symmetric_noise((200_000,), 2, 0.5, noise, gen())
    assert abs(float(u.mean())) < 5 * 0.5 / math.sqrt(4e5)
    assert abs(float(u.std()) - 0.5) < 0.01
    assert abs(float((u**3).mean())) < 0.01
    # The fourth moment against the exact one of flatcheck.symbolic.moments (its p is the sampler's).
    fourth = float(monomial_moment((4,), noise)) * 0.5**4
    assert abs(float((u**4).mean()) - fourth) < 0.05 * fourth


def test_sparse_law_mass_at_zero():
    u = alg.symmetric_noise((100_000,), 1, 1.0, "sparse", gen())
    assert abs(float((u != 0).double().mean()) - alg.SPARSE_P) < 0.005
    assert set((u[u != 0].abs() - 8**0.5).abs().lt(1e-12).tolist()) == {True}


def test_minibatch_weights_are_unbiased():
    w = alg.minibatch_weights(100_000, 5, 2, "bernoulli", gen())
    assert torch.allclose(w.mean(0), torch.full((5,), 0.2, dtype=torch.float64), atol=0.005)
    w = alg.minibatch_weights(1000, 5, 2, "without_replacement", gen())
    assert torch.all((w > 0).sum(-1) == 2)
    assert torch.allclose(w.sum(-1), torch.ones(1000, dtype=torch.float64))
    with pytest.raises(ValueError, match="sampling"):
        alg.minibatch_weights(1, 5, 2, "with_replacement", gen())


def test_sam_trains_a_real_model():
    """SAM in an ordinary training loop: a linear model on a toy regression; the loss goes down."""
    torch.manual_seed(0)
    data, w_true = torch.randn(64, 5), torch.randn(5, 1)
    target = data @ w_true
    model = torch.nn.Linear(5, 1)
    opt = alg.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data), target)
        loss.backward()
        return loss

    first = float(closure())
    for _ in range(50):
        closure()
        opt.step(closure)
    assert float(closure()) < 0.05 * first


@pytest.mark.parametrize(
    "make",
    [
        lambda groups: alg.NSO(groups, lr=0.1, sigma=0.1),
        lambda groups: alg.RSP(groups, lr=0.1, rho=0.1, eps0=10.0),
    ],
)
def test_a_paper_algorithm_refuses_param_groups_with_their_own_hyper_parameters(make):
    """The papers' algorithms take one η, σ, ρ for the whole model: a param group setting its own
    was read as group 0's (a user's per-group σ silently ignored); now refused, by name. Groups
    that agree step as one model."""
    a = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))

    def stepped(groups) -> torch.Tensor:
        opt = make(groups)

        def closure():
            opt.zero_grad()
            loss = (a**2).sum() + (b**2).sum()
            loss.backward()
            return loss

        return opt.step(closure)

    with pytest.raises(ValueError, match="takes one lr for every parameter.*group 1 sets lr=0.5"):
        stepped([{"params": [a]}, {"params": [b], "lr": 0.5}])
    assert torch.isfinite(stepped([{"params": [a]}, {"params": [b]}]))
