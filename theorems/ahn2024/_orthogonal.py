"""The sums over examples behind SAP's factor d (ahn2024 §4.2, proof sketch of Lemma 4), shared by
`sketch_d_factor` and `lemma4`: at x* with orthonormal u_i, ∇²f = Σ_jλ_ju_ju_jᵀ and
∇²f_i = nλ_iu_iu_iᵀ (14), averaged over i ∈ [n] and divided by tr̄ = Σλ_i/d."""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

D, N = sp.symbols("d n", positive=True, integer=True)


@lru_cache(maxsize=1)
def trace_factors() -> dict[str, sp.Expr]:
    """E_i uᵢᵀ∇²f uᵢ / tr̄ and E_i uᵢᵀ∇²f_i uᵢ / tr̄, with uᵢᵀu_j = δᵢⱼ: d/n and d, in d and n."""
    i, j = sp.symbols("i j", integer=True)
    lam = sp.IndexedBase("lambda")
    in_range = sp.Q.ge(i, 1) & sp.Q.le(i, N)
    full_i = sp.refine(sp.Sum(lam[j] * sp.KroneckerDelta(i, j) ** 2, (j, 1, N)).doit(), in_range)
    sto_i = N * lam[i] * sp.KroneckerDelta(i, i) ** 2
    trace_bar = sp.Sum(lam[i], (i, 1, N)) / D
    return {
        name: sp.simplify(sp.Sum(term, (i, 1, N)) / N / trace_bar)
        for name, term in (("full_batch", full_i), ("stochastic", sto_i))
    }
