"""Budgets per profile: how many instances, Monte Carlo draws and seconds a claim may use.

time_limit_s is the hard limit per claim (runner.py): a claim past it is `inconclusive` with a
"time limit" reason. The limits sit well above the brief's targets (quick ≤ ~1.5 s, default ≤ ~6 s,
heavy dynamics ≤ 30 s per claim) so that only a runaway check meets them, never a slow machine.
"""

from __future__ import annotations

from flatcheck.errors import FlatcheckError
from flatcheck.verify.claim import Budget

PROFILES: dict[str, dict] = {
    "quick": {
        "max_examples": 4,
        "mc_samples": 1 << 12,
        "mc_samples_unbatched": 1 << 9,
        "time_limit_s": 30.0,
        "shrink_checks": 8,
    },
    "default": {
        "max_examples": 12,
        "mc_samples": 1 << 14,
        "mc_samples_unbatched": 1 << 11,
        "time_limit_s": 120.0,
        "shrink_checks": 48,
    },
    "thorough": {
        "max_examples": 40,
        "mc_samples": 1 << 16,
        "mc_samples_unbatched": 1 << 13,
        "time_limit_s": 900.0,
        "shrink_checks": 400,
        "batches": 4,
    },
}


def budget_for(
    profile: str, seed: int = 0, device: str = "cpu", time_limit_s: float | None = None, dtype: str = "float64"
) -> Budget:
    """The budget of a profile; `time_limit_s` overrides the profile's per-claim limit."""
    if profile not in PROFILES:
        raise FlatcheckError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if time_limit_s is not None and not time_limit_s > 0:
        raise FlatcheckError(f"the time limit must be a positive number of seconds, got {time_limit_s}")
    spec = dict(PROFILES[profile])
    if time_limit_s is not None:
        spec["time_limit_s"] = float(time_limit_s)
    if dtype not in ("float64", "float32"):
        raise FlatcheckError(f"unknown dtype {dtype!r}; use float64 or float32")
    return Budget(profile=profile, seed=seed, device=device, dtype=dtype, **spec)
