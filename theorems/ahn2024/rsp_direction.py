r"""ahn2024.rsp_direction — RSP's perturbation direction is a fresh uniform unit vector, update (2), §3.

    "x_{t+1} ← x_t − η(∇f(x_t) + v_t), where v_t := Proj⊥_{∇f(x_t)} ∇f(x_t + ρg_t)   (2)
     Here g_t ∼ Unif(S^{d−1}) is a random unit vector."
    Algorithm 1 draws g_t at every iteration t.

Update (2) evaluates ∇f at x_t + ρg_t, so every step's g_t is read back from the point its closure
evaluated the loss at besides x_t (`flatcheck.impl.readback`), even where the step cannot show it (a
quadratic's projected gradient sees g only through the Hessian's action). From many chains, each
taking two steps with ε₀ = ∞ (every step is (2)) and the optimizer i ∈ {0, 63, 599} steps into a
run, four exact tests at level α/4 each: ‖g‖ = 1 (round-off and a float32 normaliser,
8(d + 4)·u₃₂, admitted: a radius other than ρ, a direction normalised per tensor or param group);
the sign of g_ag_b a fair coin for every pair a < b (`flatcheck.stats.coins`; the uniform law on
the sphere is symmetric under each coordinate's sign: a direction shared by a matrix's rows or
columns); consecutive steps' directions independent (a direction kept or negated); and g_a² of one
coordinate per draw (coordinate i mod d for chain i) distributed as Beta(½, (d − 1)/2), the law of a
coordinate squared of a uniform unit vector (Kolmogorov–Smirnov: a Gaussian or cube direction
normalised, a direction not uniform). A fresh optimizer's first 602 steps are read as well, and no
direction may equal another or its negative to round-off (probability 0 on the sphere: a bank of
directions cycled, one kept and used again many steps later). A class whose steps
evaluate the loss at more than one point
besides x_t is undecided here (ahn2024.rsp_step still judges its steps). flatcheck's built-in is
checked through its optimizer class.
Declared constant: the sphere's radius 1 in g_t ∼ Unif(S^{d−1}); moved, the norm test fails.
No symbolic part: the direction is a sampling rule, tested against the sphere's exact symmetries and
its coordinates' Beta law; there is no closed form to derive.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from flatcheck.impl.protocol import LAYOUT, harness_keys
from flatcheck.impl.readback import ROUNDOFF, run_draws, run_repeats
from flatcheck.problems import LAYOUTS, PointInstance, point_instances, quadratics
from flatcheck.stats.coins import coordinates_test, fresh_test
from flatcheck.verify import Claim, Constant, Evidence, constant

from ._rsp import step_scalars

CONSTANTS = (Constant("radius", 1.0, "1 in g ∼ Unif(S^{d−1})", "exact", text="the direction's norm"),)


def direction_tests(
    g: torch.Tensor, radius: float, alpha: float, round_g: float
) -> list[tuple[str, float, float, dict]]:
    """The four tests of the module docstring on directions g (chains, steps, d); returns (name,
    p-value, level, values) per test (a test holds where p ≥ level). `round_g` is g's round-off."""
    from scipy.stats import beta, kstest

    n, steps, d = g.shape
    flat = g.reshape(-1, d)
    norms = torch.linalg.vector_norm(flat, dim=-1)
    off = float((norms - radius).abs().max())
    tol = 8 * (d + 4) * torch.finfo(torch.float32).eps / 2 * radius + round_g
    out = [("norm", 0.0 if off > tol else 1.0, alpha / 4, {"max_abs_norm_minus_radius": off, "tolerance": tol})]
    p, level, counts = coordinates_test(flat, alpha / 4)
    out.append(("coordinates", p, level, counts))
    p, counts = fresh_test(g.unsqueeze(2))
    out.append(("fresh", p, alpha / 4, counts))
    # One coordinate per draw (the coordinates of one draw are dependent), each squared ~ Beta(½, (d−1)/2).
    picked = flat[torch.arange(len(flat)), torch.arange(len(flat)) % d] / radius
    if d > 1:
        res = kstest((picked**2).tolist(), beta(0.5, (d - 1) / 2).cdf)
        out.append(("law", float(res.pvalue), alpha / 4, {"ks_statistic": float(res.statistic), "values": len(picked)}))
    return out


def check(inst: PointInstance, impl, budget) -> Evidence:
    s = inst.scalars
    x = inst.x_tensor(device=budget.device)
    # The law test reads one coordinate per draw: a direction off the sphere's law by a KS distance of
    # 0.05–0.09 (a cube's point normalised, d = 2…7) needs about a thousand — default's, not quick's
    # (CubeDirectionRSP, seeds 0–3: 0 of 4 at quick with 64 chains or 256, 2 of 2 at default).
    n = budget.draws(impl, cap=budget.scaled(64, 1024, 4096))
    # The loss does not enter the draw: a fresh optimizer is run in every layout (a direction drawn
    # per param group shows only in `groups`), a late one in its instance's (each would need its own
    # warm-up); the levels split among them.
    shapes = LAYOUTS if not s.get("iteration") else [s["layout"]]
    tests = []
    for layout in shapes:
        hp = {"lr": s["lr"], "rho": s["rho"], "eps0": math.inf, "lr_prime": s["lr"], **harness_keys(s), LAYOUT: layout}
        u, reach, unread = run_draws(impl, inst.problem, x, hp, n, budget.seed, 2, 1, pairs=False)
        if unread:
            return Evidence(None, {**hp, "chains": n}, note=unread)
        g = u[:, :, 0] / s["rho"]
        round_g = ROUNDOFF * torch.finfo(torch.float64).eps * (1 + reach / s["rho"])
        found = direction_tests(g, constant(budget, CONSTANTS, "radius"), budget.alpha / len(shapes), round_g)
        tests += [(f"{name} ({layout})", p, level, v) for name, p, level, v in found]
    # A fresh optimizer's first 602 steps are read too: no direction repeats another, or its negative
    # (a bank of directions cycled, one kept and used again many steps later).
    hp = {**hp, LAYOUT: s["layout"]}
    seen, unread = run_repeats(impl, inst.problem, x, hp, budget.seed, 602, 1, pairs=False)
    if unread:
        return Evidence(None, {**hp, "chains": n}, note=unread)
    tests.append(("repeats (a fresh run)", float(not seen["repeated"]), budget.alpha, seen))
    return Evidence.tests(tests, "the directions g_t", lr=s["lr"], rho=s["rho"], chains=n)


CLAIM = Claim(
    id="ahn2024.rsp_direction",
    paper="ahn2024",
    constants=CONSTANTS,
    algorithm="rsp",
    ref="update (2) and Algorithm 1, §3",
    kind="expectation",
    statement=r"g_t\sim\mathrm{Unif}(\mathbb S^{d-1}),\ \text{drawn afresh at every iteration }t",
    summary="RSP's direction, read where the loss is evaluated, is a fresh uniform unit vector: norm 1, "
    "symmetric coordinates, the sphere's law.",
    faithful="exact",
    # The loss does not enter the draw: quadratics, the cheapest to step; d up to 7 reaches the layouts'
    # 2 × 2 and 2 × 3 matrices and one-element tensors alike in shape (`parameter_shapes`).
    instances=lambda budget: point_instances(
        quadratics(d=st.integers(2, 7)),
        scalars=step_scalars(),
        lo=-4,
        hi=4,
    ),
    check=check,
    describe=PointInstance.describe,
)
