"""RSP variants (ahn2024 Algorithm 1) beside tests/broken_rsp.py for ahn2024.rsp_step: a random
direction drawn once and kept across steps."""

from __future__ import annotations

import torch
from broken_rsp import _RSPBase


class FixedDirectionRSP(_RSPBase):
    """Draws g ~ Unif(S^{d−1}) at its first step and reuses it at every later step."""

    def direction(self, d: int, like: torch.Tensor) -> torch.Tensor:
        if "g" not in self.state:
            self.state["g"] = super().direction(d, like)
        return self.state["g"]
