"""flatcheck's own algorithms: for each, its batched functional step and its one `AlgorithmSpec`.

Every batched step takes its hyper-parameters by flatcheck name, completed with the spec's
defaults (documented in each algorithm's module), and receives the harness's draw for the step
(`flatcheck.impl.harness.harness_draws`, drawn first); its own randomness comes after, from the
same generator.
"""

from __future__ import annotations

from typing import Any

import torch

from flatcheck.algorithms import (
    GD,
    NSO,
    RSP,
    SAM,
    SAP,
    SGD,
    WPSGD,
    AscentGD,
    ascent_step,
    gd_step,
    nso_step,
    random_signs,
    rsp_directions,
    rsp_step,
    sam_step,
    sam_step_example,
    sap_step,
    sgd_step,
    small_vectors,
    symmetric_noise,
    wp_step,
)
from flatcheck.algorithms.linear_sgd import LinSGD
from flatcheck.impl.harness import PAIRED, example_grads, gradient_oracle, loss_hvp
from flatcheck.impl.jacobians import linsgd_batched
from flatcheck.impl.protocol import Implementation
from flatcheck.impl.spec import REQUIRED, SPECS, AlgorithmSpec, register, spec_of
from flatcheck.problems import Problem

HP = dict[str, Any]


def _rsp_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    g = rsp_directions(x.shape[0], x.shape[1], gen, antithetic, x.dtype, x.device)
    return rsp_step(
        problem.grad,
        x,
        g,
        lr=hp["lr"],
        lr_prime=hp["lr_prime"],
        rho=hp["rho"],
        eps0=hp["eps0"],
    )


def _sap_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    n, d = x.shape
    index = draw
    sign = random_signs(n, gen, antithetic, x.dtype, x.device)
    xi = small_vectors(n, d, hp.get("xi", 1e-6), gen, x.dtype, x.device)
    return sap_step(
        problem.grad,
        problem.grad_example,
        x,
        index,
        sign,
        xi,
        lr=hp["lr"],
        lr_prime=hp["lr_prime"],
        rho=hp["rho"],
        eps0=hp["eps0"],
    )


def _sam_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    return sam_step(problem.grad, x, lr=hp["lr"], rho=hp["rho"])


def _sam_stochastic_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    return sam_step_example(problem.grad_example, x, draw, lr=hp["lr"], rho=hp["rho"])


def _ascent_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    return ascent_step(problem.grad, loss_hvp(problem), x, lr=hp["lr"], rho=hp["rho"])


def _noise(hp: HP, shape: tuple[int, ...], x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return symmetric_noise(shape, x.shape[-1], hp["sigma"], hp.get("noise", "gaussian"), gen, x.dtype, x.device)


def _nso_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    # Line 4 already pairs U with −U, so antithetic draws add nothing here. nso_step evaluates
    # cat([W + U, W − U]): the layout a paired oracle shares its draws over.
    u = _noise(hp, (x.shape[0], int(hp.get("k", 1))), x, gen)
    return nso_step(gradient_oracle(problem, hp, gen, bool(hp.get(PAIRED))), x, u, lr=hp["lr"])


def _wp_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    n = x.shape[0]
    u = _noise(hp, ((n + 1) // 2 if antithetic else n,), x, gen)
    if antithetic:
        u = torch.cat([u, -u])[:n]
    return wp_step(gradient_oracle(problem, hp, gen), x, u, lr=hp["lr"])


def _gd_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    return gd_step(problem.grad, x, lr=hp["lr"])


def _sgd_batched(
    problem: Problem, x: torch.Tensor, hp: HP, gen: torch.Generator, antithetic: bool, draw: Any
) -> torch.Tensor:
    return sgd_step(lambda z: example_grads(problem, z), x, draw, lr=hp["lr"])


_CLOSURE = (
    "flatcheck calls step(closure) with a closure that zeroes the gradients, computes the loss, calls backward() "
    "and returns the loss; step returns that loss (PyTorch's convention)."
)


def _lr_prime(hp: HP) -> float:
    """η′ defaults to η (ahn2024 Algorithms 1, 2)."""
    return hp["lr"]


_TWO_PHASE = {"lr": REQUIRED, "rho": REQUIRED, "eps0": float("inf"), "lr_prime": _lr_prime}
_SAM_PROTOCOL = (
    "SAM follows the common SAM API (davda54/sam, pytorch-optimizer): Cls(params, base_optimizer=torch.optim.SGD, "
    "lr=…, rho=…); flatcheck runs backward() at the current point, then calls step(closure) with a closure that "
    "computes the loss and calls backward() but does NOT zero the gradients (the optimizer must, between its two "
    "passes). A staged API: --driver first_second; another constructor: --factory module:function."
)

for _spec in (
    AlgorithmSpec(
        "rsp",
        RSP,
        _rsp_batched,
        hyper=_TWO_PHASE,
        protocol=_CLOSURE,
        aliases=("rsp", "randomlysmoothed", "randomsmoothing"),
        calls=lambda hp: 2,
        random=True,
    ),
    AlgorithmSpec(
        "sap",
        SAP,
        _sap_batched,
        hyper=_TWO_PHASE,
        optional=("xi",),
        protocol="flatcheck calls step(closure); closure(example=False) zeroes the gradients, computes the full loss "
        "f (example=True: the loss f_i of this step's example), calls backward() and returns the loss.",
        aliases=("sap", "sharpnessawareperturbation"),
        calls=lambda hp: 3,
        data="example",
        closure="example_switch",
        random=True,
    ),
    AlgorithmSpec(
        "sam",
        SAM,
        _sam_batched,
        hyper={"lr": REQUIRED, "rho": REQUIRED},
        fixed={"base_optimizer": torch.optim.SGD},
        protocol=_SAM_PROTOCOL,
        aliases=("sam", "sharpnessaware"),
        calls=lambda hp: 1,
        driver="sam",
        family=("sam_stochastic",),
        # SAM's variants with updates of their own (pytorch-optimizer ships the first five): no
        # claim of the catalog states their steps, so SAM's must not be pinned on them by name.
        others={
            "gsam": "GSAM (Zhuang et al., ICLR 2022: surrogate gap guided SAM)",
            "wsam": "WSAM (Yue et al., KDD 2023: weighted SAM)",
            "bsam": "bSAM (Möllenhoff & Khan, ICLR 2023: Bayesian SAM)",
            "friendlysam": "Friendly SAM (Li et al., CVPR 2024)",
            "looksam": "LookSAM (Liu et al., CVPR 2022: the ascent reused for several steps)",
            "asam": "ASAM (Kwon et al., ICML 2021: adaptive SAM)",
            "esam": "ESAM (Du et al., ICLR 2022: efficient SAM)",
            "ssam": "SSAM (Mi et al., NeurIPS 2022: sparse SAM)",
        },
    ),
    AlgorithmSpec(
        "sam_stochastic",
        SAM,
        _sam_stochastic_batched,
        hyper={"lr": REQUIRED, "rho": REQUIRED},
        fixed={"base_optimizer": torch.optim.SGD},
        protocol=_SAM_PROTOCOL + " The loss is that of the example the harness drew for the step (wen2023 (7)).",
        aliases=("samstochastic", "stochasticsam"),
        calls=lambda hp: 1,
        driver="sam",
        data="example",
    ),
    AlgorithmSpec(
        "ascent_gd",
        AscentGD,
        _ascent_batched,
        hyper={"lr": REQUIRED, "rho": REQUIRED},
        protocol="flatcheck calls step(closure) with a closure that returns the loss without calling backward().",
        aliases=("ascentgd", "ascent", "lasc"),
        calls=lambda hp: 3,
        closure="no_backward",
    ),
    AlgorithmSpec(
        "nso",
        NSO,
        _nso_batched,
        hyper={"lr": REQUIRED, "sigma": REQUIRED, "k": 1},
        optional=("noise",),
        harness=("batch_size", "sampling", PAIRED),
        protocol=_CLOSURE + " NSO evaluates it 2k times per step (at W ± U_j). Where a claim asks for the paired "
        "oracle (paired_batches) the closure draws a new mini-batch at every second call: the paper's one seed per "
        "pair when it is called at W + U_j and W − U_j in turn; another order only lowers the oracle noise.",
        aliases=("nso", "noisestability"),
        calls=lambda hp: 2 * int(hp["k"]),
        random=True,
    ),
    AlgorithmSpec(
        "wp_sgd",
        WPSGD,
        _wp_batched,
        hyper={"lr": REQUIRED, "sigma": REQUIRED},
        optional=("noise",),
        harness=("batch_size", "sampling"),
        protocol=_CLOSURE,
        aliases=("wpsgd", "wpgd", "weightperturbed"),
        calls=lambda hp: 1,
        random=True,
    ),
    AlgorithmSpec(
        "gd",
        GD,
        _gd_batched,
        hyper={"lr": REQUIRED},
        protocol=_CLOSURE,
        aliases=("gd", "gradientdescent"),
        calls=lambda hp: 1,
        family=("sgd",),
    ),
    AlgorithmSpec(
        "sgd",
        SGD,
        _sgd_batched,
        hyper={"lr": REQUIRED},
        harness=("batch_size", "sampling"),
        protocol=_CLOSURE + " The loss is the step's mini-batch loss (1/B)Σ_{i∈S} f_i.",
        aliases=("sgd",),
        calls=lambda hp: 1,
        data="minibatch",
        family=("gd",),
    ),
    AlgorithmSpec(
        "linsgd",
        LinSGD,
        linsgd_batched,
        hyper={"lr": REQUIRED, "batch_size": REQUIRED, "n_examples": REQUIRED, "sampling": "bernoulli"},
        protocol="A linearized-SGD optimizer draws its mini-batch S and calls closure(index=S), which returns "
        "Σ_{i∈S} ℓ_i after calling backward() (flatcheck.impl.jacobians).",
        aliases=("linsgd", "linearsgd", "linearizedsgd"),
        calls=lambda hp: 1,
        closure="index",
        random=True,
    ),
):
    register(_spec)


def _builtin(spec: AlgorithmSpec) -> Implementation:
    name = f"flatcheck.algorithms:{spec.optimizer.__name__}"
    return Implementation(name, spec.name, spec.optimizer, batched_step=spec.batched_step, builtin=True)


BUILTINS: dict[str, Implementation] = {name: _builtin(spec) for name, spec in SPECS.items()}


def builtin(algorithm: str) -> Implementation:
    """flatcheck's own implementation of an algorithm (one registered after import included)."""
    if algorithm not in BUILTINS:
        BUILTINS[algorithm] = _builtin(spec_of(algorithm))
    return BUILTINS[algorithm]
