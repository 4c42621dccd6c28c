r"""dexter2024.def2 — the coherence measure, Definition 2, §3.1.

    "Definition 2. Coherence Measure: For a given set of PSD matrices {H_i}_{i∈[n]}, define S ∈ R^{n×n}
     such that S_ij = ‖H_i^{1/2} H_j^{1/2}‖_F. Equivalently, we may define S as the entry-wise square
     root of the Gram matrix of {H_i}_{i∈[n]} under the trace inner product. The coherence measure σ
     is then defined as: σ = λ₁(S) / max_{i∈[n]} λ₁(H_i)."

Symbolic side: ‖PQ‖_F² − tr[P²Q²] expands to 0 for generic symmetric 2×2 and 3×3 matrices P, Q, so
‖H_i^{1/2}H_j^{1/2}‖_F² = tr[H_iH_j] with P = H_i^{1/2}, Q = H_j^{1/2}: both forms of S agree.
Numeric side: on explicit families (the §3.1 settings, the §5.1 construction, random diagonal and
random PSD families with controlled coherence) and on the per-example Hessians of a label-smoothed
network on the digits data, S from matrix square roots and S from the Gram matrix must agree within
their certified round-off bounds (`flatcheck.numeric.coherence`), and so must the two σ.
Declared constant: the exponent ½ in S_ij = tr[H_iH_j]^{1/2} (the "entry-wise square root").
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
import torch

from flatcheck.numeric.coherence import coherence_bounds, gram_form, sqrt_form
from flatcheck.problems.dexter_families import HessianFamily, hessian_families
from flatcheck.verify import Claim, Constant, Evidence, constant

SForm = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

CONSTANTS = (
    Constant(
        "exponent", 0.5, "½ in √tr[H_iH_j]", "exact", mutation="exponent", step=0.5, text="S from the Gram matrix"
    ),
)


def gram_power(s_gram: SForm, power: float) -> SForm:
    """S_ij = tr[H_iH_j]^power from `s_gram` (which gives the power ½), with its round-off bound:
    |a^q − b^q| ≤ q·max(a, b)^{q−1}|a − b| for q = 2·power ≥ 1, ≤ |a − b|^q for q ≤ 1."""
    if power == 0.5:
        return s_gram

    def form(hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, err = s_gram(hs)
        q = 2 * power
        return s**q, (q * (s + err) ** (q - 1) * err if q >= 1 else err**q)

    return form


def derive() -> dict[int, sp.Expr]:
    """‖PQ‖_F² − tr[P²Q²] for symbolic symmetric P, Q of size 2 and 3: both expand to 0."""
    out = {}
    for d in (2, 3):
        p = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"p{min(i, j)}{max(i, j)}", real=True))
        q = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"q{min(i, j)}{max(i, j)}", real=True))
        pq = p * q
        out[d] = sp.expand(sum(v**2 for v in pq) - (p * p * q * q).trace())
    return out


def make_check(s_gram: SForm):
    """Compare S from square roots with S from `s_gram` (the paper: the entry-wise square root of the Gram matrix)."""

    def check(fam: HessianFamily, impl, budget) -> Evidence:
        form = gram_power(s_gram, constant(budget, CONSTANTS, "exponent"))
        if any(v != 0 for v in derive().values()):
            return Evidence(False, {"symbolic_difference": str(derive())}, note="‖PQ‖_F² ≠ tr[P²Q²] symbolically")
        s_root, err_root = sqrt_form(fam.hs)
        s_gram_, err_gram = form(fam.hs)
        tol = err_root + err_gram
        gap = (s_root - s_gram_).abs()
        sigma_root, tol_root, _ = coherence_bounds(fam.hs, sqrt_form)
        sigma_gram, tol_gram, _ = coherence_bounds(fam.hs, form)
        margin = float(((tol - gap) / tol).min())
        holds = bool((gap <= tol).all()) and abs(sigma_root - sigma_gram) <= tol_root + tol_gram
        values = {
            "max_entry_gap": float(gap.max()),
            "max_entry_tolerance": float(tol.max()),
            "sigma_sqrt_form": sigma_root,
            "sigma_gram_form": sigma_gram,
            "sigma_tolerance": tol_root + tol_gram,
        }
        note = "" if holds else "S from matrix square roots differs from S from the Gram matrix"
        return Evidence(holds, values, margin=margin, note=note)

    return check


CLAIM = Claim(
    id="dexter2024.def2",
    paper="dexter2024",
    ref="Definition 2, §3.1",
    kind="identity",
    statement=r"S_{ij}=\|H_i^{1/2}H_j^{1/2}\|_F=\sqrt{\mathrm{tr}[H_iH_j]},\quad"
    r"\sigma=\lambda_1(S)/\max_i\lambda_1(H_i)",
    summary="Coherence σ: S from matrix square roots equals the entry-wise square root of the trace Gram matrix.",
    faithful="exact",
    instances=lambda budget: hessian_families(),
    check=make_check(gram_form),
    constants=CONSTANTS,
    derive=derive,
    describe=HessianFamily.describe,
)
