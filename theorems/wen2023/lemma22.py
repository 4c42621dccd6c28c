r"""wen2023.lemma22 — Lemma 22, Appendix C.2 (Wen, Ma, Li 2023), as stated.

    "For convenience, we denote d²ℓ(y′, y_k)/d²y′|_{y′=f_k(x)} ∇f_k(x)/‖∇f_k(x)‖ as Λ_k(x), w_k(x).
     Lemma 22. Under Assumption 1, for any x ∈ U and p ∈ Γ, ∇²L_k(p) = Λ_k(p)w_k(p)w_k(p)ᵀ and
     ∃s ∈ {1, −1}: ∇L_k(x)/‖∇L_k(x)‖ = s w_k(p) + O(‖x − p‖)."
    Setting (§4): L_k(x) = ℓ(f_k(x), y_k), L = Σ_k L_k/M.

Two parts, on the Setting-1 losses of `flatcheck.problems.manifolds` at their base point p ∈ Γ
(Assumption 1 checked exactly):
(a) identity, exact: ∇²L_k(p) − Λ_k(p)w_k(p)w_k(p)ᵀ must be the zero matrix for every k, with Λ_k(p) the
    loss curvature ℓ″ exactly as the sentence above defines it. Since ∇²L_k(p) = ℓ″∇f_k∇f_kᵀ
    = ℓ″‖∇f_k(p)‖² w_kw_kᵀ, the identity as written holds only where ‖∇f_k(p)‖ = 1; the factor ‖∇f_k(p)‖²
    is also what makes C.2's E[Λ_k] = Tr(∇²L) true. `wen2023.lemma22.corrected` encodes Λ_k = ℓ″‖∇f_k‖².
(b) expansion: at x = p + tδ (a drawn unit direction δ) on t = 2^{-2} … 2^{-16}, the residual
    min_s ‖∇L_k(x)/‖∇L_k(x)‖ − s w_k(p)‖ must be O(t): its local order (`flatcheck.stats.fit_order`) must
    reach 1; t where ∇L_k(x) vanishes to round-off (x ∈ Γ_k) are skipped.
No derive() of its own: the printed weight ℓ″ is compared with the exact ∇²L_k(p) directly; the weight the
Hessian has, ℓ″‖∇f_k‖², is derived by wen2023.lemma22.corrected's derive().
"""

from __future__ import annotations

from functools import partial

from flatcheck.verify import Claim

from ._lemma22 import ASSUMPTIONS, CONSTANTS, describe, instances, make_lemma22_check, stated_weight

make_check = partial(make_lemma22_check, stated_weight)

CLAIM = Claim(
    id="wen2023.lemma22",
    paper="wen2023",
    ref="Lemma 22 and the notation before it, Appendix C.2; proof in D.6",
    kind="expansion",
    expected=(
        "falsified",
        "∇²L_k(p) = ℓ″‖∇f_k(p)‖²·w_kw_kᵀ: the stated Λ_k = ℓ″ misses the factor ‖∇f_k(p)‖² (the direction"
        " part, O(‖x − p‖), holds).",
    ),
    statement=r"\nabla^2L_k(p)=\Lambda_k(p)w_k(p)w_k(p)^\top,\ \Lambda_k=\tfrac{d^2\ell(y',y_k)}{dy'^2}\big|_{f_k},\ "
    r"w_k=\tfrac{\nabla f_k}{\|\nabla f_k\|};\ \exists s\in\{\pm1\}:\ \tfrac{\nabla L_k(x)}{\|\nabla L_k(x)\|}"
    r"=s\,w_k(p)+O(\|x-p\|)",
    summary="Per-example Hessians on Γ are Λ_k w_k w_kᵀ (Λ_k = ℓ″ as defined) and ∇L_k/‖∇L_k‖ = ±w_k + O(‖x−p‖).",
    faithful="exact",
    instances=instances,
    check=make_check(),
    assumptions=ASSUMPTIONS,
    describe=describe,
    constants=CONSTANTS,
)
