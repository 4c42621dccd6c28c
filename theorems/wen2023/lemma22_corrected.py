r"""wen2023.lemma22.corrected — Lemma 22, Appendix C.2, with Λ_k(p) = ℓ″(f_k(p), y_k)‖∇f_k(p)‖².

`wen2023.lemma22` encodes the lemma with Λ_k(x) = d²ℓ(y′, y_k)/d²y′|_{y′=f_k(x)} as the paper defines it and
comes out falsified wherever ‖∇f_k(p)‖ ≠ 1: ∇²L_k(p) = ℓ″∇f_k(p)∇f_k(p)ᵀ = ℓ″‖∇f_k(p)‖² w_k(p)w_k(p)ᵀ.
This variant takes Λ_k(p) = ℓ″‖∇f_k(p)‖², the non-zero eigenvalue of ∇²L_k(p) — the value the rest of C.2
needs (E[Λ_k] = Σ_kΛ_k/M = Tr ∇²L(p)) — and keeps part (b) unchanged:
    ∇²L_k(p) = Λ_k(p)w_k(p)w_k(p)ᵀ  and  ∃s ∈ {±1}: ∇L_k(x)/‖∇L_k(x)‖ = s w_k(p) + O(‖x − p‖).
Checked as `wen2023.lemma22` is (exact identity; local order ≥ 1 of the direction residual at x = p + tδ),
with the weight's power e of ‖∇f_k‖ read from derive(): the chain rule ∇²L_k(p) = ℓ″∇f_k∇f_kᵀ (ℓ′ = 0 at p)
on a generic quadratic f_k and cubic ℓ, which gives Λ_k = ℓ″‖∇f_k‖^e, e = 2.
"""

from __future__ import annotations

from functools import partial

from flatcheck.verify import Claim

from ._lemma22 import (
    ASSUMPTIONS,
    CONSTANTS,
    derive_weight,
    describe,
    instances,
    make_lemma22_check,
    top_eigenvalue_weight,
)

make_check = partial(make_lemma22_check, top_eigenvalue_weight)

CLAIM = Claim(
    id="wen2023.lemma22.corrected",
    paper="wen2023",
    ref="Lemma 22, Appendix C.2 (corrected: Λ_k = ℓ″‖∇f_k‖²)",
    kind="expansion",
    statement=r"\nabla^2L_k(p)=\Lambda_k(p)w_k(p)w_k(p)^\top,\ \Lambda_k=\tfrac{d^2\ell(y',y_k)}{dy'^2}\big|_{f_k}"
    r"\|\nabla f_k\|^2;\ \exists s\in\{\pm1\}:\ \tfrac{\nabla L_k(x)}{\|\nabla L_k(x)\|}=s\,w_k(p)+O(\|x-p\|)",
    summary="Lemma 22 with Λ_k = ℓ″‖∇f_k‖² (the top eigenvalue of ∇²L_k): rank-one Hessians, aligned gradients.",
    faithful=("corrected", "Λ_k = ℓ″‖∇f_k‖², the non-zero eigenvalue of ∇²L_k, in place of the printed ℓ″"),
    instances=instances,
    check=make_check(),
    derive=derive_weight,
    assumptions=ASSUMPTIONS,
    describe=describe,
    constants=CONSTANTS,
)
