"""Budgets per profile: how many instances, Monte Carlo draws and seconds a claim may use."""

from __future__ import annotations

from flatcheck.verify.claim import Budget

PROFILES: dict[str, dict] = {
    "quick": {"max_examples": 4, "mc_samples": 1 << 12, "mc_samples_unbatched": 1 << 9, "time_limit_s": 30.0},
    "default": {"max_examples": 12, "mc_samples": 1 << 14, "mc_samples_unbatched": 1 << 11, "time_limit_s": 120.0},
    "thorough": {"max_examples": 40, "mc_samples": 1 << 16, "mc_samples_unbatched": 1 << 13, "time_limit_s": 900.0},
}


def budget_for(profile: str, seed: int = 0, device: str = "cpu") -> Budget:
    return Budget(profile=profile, seed=seed, device=device, **PROFILES[profile])
