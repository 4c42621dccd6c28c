"""One battery over every registered algorithm spec (flatcheck.impl.spec): flatcheck's own optimizer,
driven through the protocol as a user's class is (split parameters, the spec's driver, one
optimizer object kept across steps), equals the batched step for the same seed in float32 and
float64; a non-finite step is the protocol's NonFiniteError; the closure is evaluated as the spec
documents. Adding a spec adds it here; a hyper-parameter name the table below lacks fails loudly."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from flatcheck.errors import NonFiniteError
from flatcheck.impl import SPECS, AlgorithmSpec, Implementation, builtin
from flatcheck.impl.harness import harness_draws
from flatcheck.impl.jacobians import jacobian_draws
from flatcheck.impl.spec import REQUIRED
from flatcheck.problems import wen_toy
from flatcheck.problems.dexter_families import random_psd

# Values for the required hyper-parameters, by flatcheck name (not by algorithm).
VALUES = {"lr": 0.05, "rho": 0.1, "sigma": 0.1, "batch_size": 2}
SEED = 3
X0 = [0.3, 0.6, 0.5, -0.4]


def hyper(spec: AlgorithmSpec, n_examples: int) -> dict[str, Any]:
    required = [k for k, v in spec.hyper.items() if v is REQUIRED]
    hp = {k: n_examples if k == "n_examples" else VALUES[k] for k in required}
    if spec.data == "minibatch":
        hp["batch_size"] = VALUES["batch_size"]
    return spec.complete(hp)


def driven(spec: AlgorithmSpec, cls: type, gen: torch.Generator | None) -> Implementation:
    """flatcheck's own optimizer class as a user's (no batched step); a random algorithm gets the
    generator in the state the batched step's generator is in when the algorithm draws."""
    return Implementation(f"driven:{spec.name}", spec.name, cls, kwargs={"generator": gen} if spec.random else {})


def steps_for(spec: AlgorithmSpec) -> int:
    """Several steps, except where the harness's and the algorithm's draws interleave in one
    generator in the batched step (SAP): one shared generator cannot be replayed past step 1."""
    return 1 if (spec.random and spec.data) else 3


def index_family():
    return random_psd(3, 3, 2, 0.5, 7)


ROWS = [(name, dtype) for name in sorted(SPECS) for dtype in (torch.float32, torch.float64)]


@pytest.mark.parametrize("name, dtype", ROWS)
def test_driven_optimizer_equals_batched_step(name, dtype):
    spec = SPECS[name]
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}
    gen = torch.Generator()
    gen.manual_seed(SEED)
    if spec.closure == "index":
        # Linearized SGD is driven on its family of per-example quadratics (flatcheck.impl.jacobians),
        # which works in float64: the float32 row checks the same draw at float32's tolerance.
        fam = index_family()
        hp = hyper(spec, fam.n)
        ours = jacobian_draws(builtin(name), fam, hp, 1, SEED)
        theirs = jacobian_draws(driven(spec, spec.optimizer, gen), fam, hp, 1, SEED)
        assert torch.allclose(ours.to(dtype), theirs.to(dtype), **tol)
        return
    problem = wen_toy()
    hp = hyper(spec, problem.n_examples)
    x = torch.tensor([X0], dtype=dtype)
    harness_draws(spec, problem, x, hp, gen)  # the harness draws of step 1 come first
    steps = steps_for(spec)
    ours = builtin(name).run_many(problem, x, hp, SEED, steps)
    theirs = driven(spec, spec.optimizer, gen).run_many(problem, x, hp, SEED, steps)
    assert theirs.dtype == dtype
    assert torch.allclose(ours, theirs, **tol), (ours - theirs).abs().max()
    assert not torch.equal(theirs[:, -1], x)  # the step moved


def _subclass(spec: AlgorithmSpec, after_step) -> type:
    """spec.optimizer with `after_step(optimizer, closure_calls)` run after every step."""

    class Sub(spec.optimizer):
        def step(self, closure=None):
            calls = [0]

            def counted(*args, **kwargs):
                calls[0] += 1
                return closure(*args, **kwargs)

            loss = super().step(counted)
            after_step(self, calls[0])
            return loss

    return Sub


def _drive(spec: AlgorithmSpec, cls: type) -> None:
    gen = torch.Generator()
    gen.manual_seed(SEED)
    if spec.closure == "index":
        fam = index_family()
        jacobian_draws(driven(spec, cls, gen), fam, hyper(spec, fam.n), 1, SEED)
        return
    problem = wen_toy()
    driven(spec, cls, gen).run_many(
        problem, torch.tensor([X0], dtype=torch.float64), hyper(spec, problem.n_examples), SEED, 2
    )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_non_finite_step_is_the_protocol_error(name):
    spec = SPECS[name]

    def poison(opt, calls):
        with torch.no_grad():
            for group in opt.param_groups:
                for p in group["params"]:
                    p.fill_(float("nan"))

    with pytest.raises(NonFiniteError, match="NaN or inf"):
        _drive(spec, _subclass(spec, poison))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_closure_is_called_as_documented(name):
    spec = SPECS[name]
    seen: list[int] = []
    _drive(spec, _subclass(spec, lambda opt, calls: seen.append(calls)))
    problem_examples = index_family().n if spec.closure == "index" else wen_toy().n_examples
    assert seen and all(c == spec.calls(hyper(spec, problem_examples)) for c in seen), seen


def test_every_spec_names_its_protocol_and_aliases():
    for spec in SPECS.values():
        assert spec.aliases and spec.protocol
        assert set(spec.family) <= set(SPECS)
        assert not set(spec.hyper) & set(spec.harness)
