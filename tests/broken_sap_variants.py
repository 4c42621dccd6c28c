"""More deliberately broken SAPs (ahn2024 Algorithm 2) beside tests/broken_sap.py: each must come
out falsified on at least one ahn2024 claim."""

from __future__ import annotations

from broken_sap import _SAPBase


class NoProjectionSAP(_SAPBase):
    """Forgets Proj⊥_{∇f(x)}: v_t = ∇f_i(x_t + ρσ_t g_{i,t})."""

    def project(self, gx, gp):
        return gp
