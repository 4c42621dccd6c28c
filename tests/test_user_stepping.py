"""The fast path of stepping a user's optimizer against an exact oracle: a plain loop that builds each
optimizer, its parameters and its loss closure the obvious way (every example of a mini-batch
summed, zero weights included) must give bit-identical iterates. And the start-up of a run: the
report's renderers (matplotlib) and scipy stay unimported until a run needs them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp
import torch
from broken_nso import ReferenceNSO
from broken_sam import ReferenceSAM

from flatcheck.algorithms import example_indices
from flatcheck.impl import Implementation
from flatcheck.impl.dynamics import iterates_at
from flatcheck.impl.harness import PAIRED, draw_weights
from flatcheck.impl.protocol import _Losses, _weighted_loss, parameter_shapes, row_seed
from flatcheck.problems import wen_toy
from flatcheck.problems.nso_families import noisy_quadratic

R = sp.Rational


def _nso_problem():
    # Three examples: a size-1 batch leaves two zero weights at every evaluation.
    return noisy_quadratic(
        [R(2), R(1), R(1, 2), R(1, 4)],
        [R(1), R(-1, 2), R(2), R(1, 4)],
        [[R(1), R(0), R(-1), R(1, 2)], [R(-1), R(1), R(0), R(0)], [R(0), R(-1), R(1), R(-1, 2)]],
    )


def _split(row: torch.Tensor) -> list[torch.nn.Parameter]:
    shapes = parameter_shapes(row.numel())
    sizes = [int(torch.Size(s).numel()) for s in shapes]
    return [torch.nn.Parameter(part.reshape(s).clone()) for part, s in zip(row.split(sizes), shapes)]


def _flat(params: list[torch.nn.Parameter]) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params])


def _reference_run(make, step, x: torch.Tensor, seed: int, steps: int, draw=None) -> torch.Tensor:
    """One freshly built optimizer per row of x, stepped `steps` times by `step(opt, params, d)`; each
    built and stepped with torch's global RNG on a stream of its own (row i's seeded `row_seed(seed, i)`,
    apart from the harness's stream), the harness generator seeded with `seed` and drawn from first
    each step (`draw(gen, n)`, else nothing). Returns the iterates (n, steps + 1, d)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        runs, streams = [], []
        for i, params in enumerate(map(_split, x)):
            torch.manual_seed(row_seed(seed, i))
            runs.append((params, make(params)))
            streams.append(torch.get_rng_state())
        path = [x]
        for _ in range(steps):
            draws = draw(gen, len(runs)).tolist() if draw else [None] * len(runs)
            for i, ((params, opt), d) in enumerate(zip(runs, draws)):
                torch.set_rng_state(streams[i])
                step(opt, params, d, gen)
                streams[i] = torch.get_rng_state()
            path.append(torch.stack([_flat(params).detach().clone() for params, _ in runs]))
    return torch.stack(path, 1)


def _loss_and_grad(loss_of, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p = x.clone().requires_grad_(True)
    loss = loss_of(p)
    loss.backward()
    return loss.detach(), p.grad


def test_weighted_loss_leaves_out_only_exact_zeros():
    prob = _nso_problem()
    formula = replace(prob, is_polynomial=False)  # autograd through the compiled formulas
    x = torch.tensor([0.5, -1.25, 2.0, 0.75], dtype=torch.float64)
    for weights in ([0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 0.0]):
        w = torch.tensor(weights, dtype=torch.float64)
        fast = _loss_and_grad(lambda p, w=w: _weighted_loss(_Losses(formula).examples, w, [p]), x)
        full = _loss_and_grad(lambda p, w=w: sum(wi * f(p) for wi, f in zip(w, formula.example_f)), x)
        assert torch.equal(fast[0], full[0]) and torch.equal(fast[1], full[1]), weights
        # The exact tables [f_i, ∇f_i], summed the same way.
        with torch.no_grad():
            fast = _weighted_loss(_Losses(prob).examples, w, [x])
            full = sum(wi * t(x) for wi, t in zip(w, prob.value_grad_tables[1:]))
        assert torch.equal(fast, full), weights


@pytest.mark.parametrize("polynomial", [False, True])
@pytest.mark.parametrize("paired", [False, True])
def test_user_nso_with_a_minibatch_oracle_matches_the_plain_loop(paired, polynomial):
    # On a polynomial the closure's gradient is the exact table's (`Problem.value_grad_tables`),
    # otherwise autograd's through the compiled formula: the plain loop does the same.
    prob = replace(_nso_problem(), is_polynomial=polynomial)
    hp = {"lr": 0.3, "sigma": 0.5, "k": 2, "batch_size": 1, "sampling": "without_replacement", PAIRED: paired}
    x = torch.tensor([[3.0, -2.0, 0.5, 5.0], [1.0, 1.0, -1.0, 0.25], [0.0, 2.0, 1.5, -3.0]], dtype=torch.float64)

    def step(opt, params, _, gen):
        calls, w = 0, None

        def closure():
            # Paired: a new mini-batch at every second call, the pair W + U_j, W − U_j sharing one.
            nonlocal calls, w
            opt.zero_grad()
            v = _flat(params)
            if w is None or not paired or calls % 2 == 0:
                (w,) = draw_weights(prob, 1, hp, gen, v.dtype, v.device)
            calls += 1
            if polynomial:
                table = sum(wi * t(v.detach()) for wi, t in zip(w, prob.value_grad_tables[1:]))
                for p, g in zip(params, table[1:].split([p.numel() for p in params])):
                    p.grad = g.reshape(p.shape).clone()
                return table[0]
            loss = sum(wi * f(v) for wi, f in zip(w, prob.example_f))
            loss.backward()
            return loss

        opt.step(closure)

    want = _reference_run(lambda ps: ReferenceNSO(ps, lr=0.3, sigma=0.5, k=2), step, x, 7, 6)
    got = Implementation("broken_nso:ReferenceNSO", "nso", ReferenceNSO).run_many(prob, x, hp, 7, 6)
    assert torch.equal(got, want)


@pytest.mark.parametrize("polynomial", [False, True])
def test_user_stochastic_sam_matches_the_plain_loop(polynomial):
    # On a polynomial the closure's gradient is the table's exact one (`Problem.value_grad_tables`).
    prob = replace(wen_toy(), is_polynomial=polynomial)
    x = torch.tensor([[0.75, 0.25, -0.125, -0.25], [0.5, 0.1, 0.3, -0.2]], dtype=torch.float64)

    def step(opt, params, i, _):
        def closure():
            if polynomial:
                table = prob.value_grad_tables[1 + i](_flat(params).detach())
                for p, g in zip(params, table[1:].split([p.numel() for p in params])):
                    p.grad = g.reshape(p.shape).clone()
                return table[0]
            loss = prob.example_f[i](_flat(params))
            loss.backward()
            return loss

        opt.zero_grad()
        with torch.enable_grad():
            closure()
        opt.step(closure)

    want = _reference_run(
        lambda ps: ReferenceSAM(ps, torch.optim.SGD, rho=0.2, lr=0.01),
        step,
        x,
        3,
        40,
        draw=lambda gen, n: example_indices(n, prob.n_examples, gen, "cpu"),
    )
    impl = Implementation("broken_sam:ReferenceSAM", "sam_stochastic", ReferenceSAM)
    got = impl.run_many(prob, x, {"lr": 0.01, "rho": 0.2}, 3, 40)
    assert torch.equal(got, want)


def test_the_exact_closure_is_autograds_to_round_off_and_leaves_hooks_to_autograd():
    prob = wen_toy()
    exact, formula = _Losses(prob), _Losses(replace(prob, is_polynomial=False))
    assert exact.exact and not formula.exact
    impl = Implementation("broken_sam:ReferenceSAM", "sam_stochastic", ReferenceSAM)
    x = torch.tensor([[0.75, 0.25, -0.125, -0.25], [0.5, 0.1, 0.3, -0.2]], dtype=torch.float64)
    got = impl.run_many(prob, x, {"lr": 0.01, "rho": 0.2}, 3, 40)
    want = impl.run_many(replace(prob, is_polynomial=False), x, {"lr": 0.01, "rho": 0.2}, 3, 40)
    assert torch.allclose(got, want, rtol=1e-13, atol=1e-15) and not torch.equal(got, want)
    for f, g in zip(exact.examples, formula.examples):
        (loss, grad), want = _loss_and_grad(lambda p, f=f: f([p])[0], x[1]), _loss_and_grad(lambda p, g=g: g([p]), x[1])
        assert torch.allclose(loss, want[0], rtol=1e-13) and torch.allclose(grad, want[1], rtol=1e-13, atol=1e-15)
    # A hook on a parameter: autograd's backward runs it (the table's values on autograd's graph).
    seen = []

    class Hooked(ReferenceSAM):
        def __init__(self, params, *args, **kwargs):
            super().__init__(params, *args, **kwargs)
            for p in self.param_groups[0]["params"]:
                p.register_hook(lambda g: seen.append(1) or g)

    hooked = Implementation("x:Hooked", "sam_stochastic", Hooked).run_many(prob, x, {"lr": 0.01, "rho": 0.2}, 3, 40)
    assert len(seen) == 2 * 40 * 2 * 3 and torch.allclose(hooked, got, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", ["sam", "sam_stochastic"])
def test_a_run_split_into_its_chains_is_the_run(kind):
    # Each chain alone gets the harness draws the full run hands it: the same iterates, bit for bit.
    impl = Implementation("broken_sam:ReferenceSAM", kind, ReferenceSAM)
    x = torch.tensor([[0.75, 0.25, -0.125, -0.25], [0.5, 0.1, 0.3, -0.2], [0.2, 0.9, -0.1, 0.05]], dtype=torch.float64)
    hp = {"lr": 0.01, "rho": 0.2}
    full = iterates_at(impl, wen_toy(), x, hp, [3, 20], 5)
    rows = [iterates_at(impl, wen_toy(), x, hp, [3, 20], 5, row=i) for i in range(3)]
    assert torch.equal(full, torch.cat(rows, 1))


def test_plots_drawn_ahead_are_the_reports():
    from flatcheck.cli import _PlotAhead
    from flatcheck.report.png import _render_cached, render_png

    spec = {"type": "scatter", "x": [1.0, 2.0, 4.0], "y": [0.5, 0.25, 0.126], "logx": True, "logy": True}
    ahead = _PlotAhead(2)
    ahead.add({"id": "a.claim", "evidence": {"plot": spec}, "counterexample": None})
    assert ahead.thread is None  # both workers still busy: nothing drawn yet
    ahead.add({"id": "b.claim", "evidence": {}, "counterexample": None})
    assert ahead.thread is not None
    ahead.close()
    before = _render_cached.cache_info().hits
    assert render_png(spec) == _render_cached.__wrapped__(json.dumps(spec, default=str))
    assert _render_cached.cache_info().hits == before + 1


def test_start_up_leaves_matplotlib_and_scipy_unimported():
    code = (
        "import sys\n"
        "from flatcheck.report import append_record, provenance\n"
        "from flatcheck.verify.registry import all_claims\n"
        "all_claims()\n"
        "print(sorted(m for m in ('matplotlib', 'scipy.special') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr
