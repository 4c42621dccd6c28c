"""SAP variants (ahn2024 Algorithm 2) beside tests/broken_sap.py for ahn2024.sap_step: a random
sign drawn once per optimizer and kept across steps,."""

from __future__ import annotations

from broken_sap import _SAPBase


class FixedSignSAP(_SAPBase):
    """Draws σ ~ Unif({±1}) at its first step and keeps it: fair across optimizers, not across steps."""

    def sign(self):
        if "sigma" not in self.state:
            self.state["sigma"] = super().sign()
        return self.state["sigma"]
