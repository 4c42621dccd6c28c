"""False alarms of the step claims on correct implementations, over many run seeds.

    OMP_NUM_THREADS=1 python benchmarks/step_calibration.py [--profile quick] [--seeds 20] [--dtype float64]
        [--claims ID…] [--builtin-only | --users-only] [--check-claims]

Runs every step claim (the claims about the steps of one algorithm) — with --check-claims, every
claim `flatcheck check` runs against an implementation of the step claims' algorithms (the errata
replaced by their corrected twins: dynamics, rates, reproductions too) — against correct
implementations — flatcheck's built-ins, a SAM guarded by ‖g‖ + 1e-12 (tests/fixtures/mutants_sam.py),
a SAM whose norm is reduced in float32, pytorch-optimizer's SAM, an NSO taking the noise law,
an independently written RSP —
in one process (`--jobs 1`), with the catalog's multiplicity correction (the catalog's size),
and prints one row per (claim, implementation): verified / falsified / inconclusive / error counts
over the seeds, the undecided instances and the wall time. A correct implementation must never
be falsified; the stated rate is ≤ 1e-3 over the whole catalog per run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fixtures"))

from flatcheck.impl import Implementation, builtin  # noqa: E402
from flatcheck.verify.expectations import check_plan  # noqa: E402
from flatcheck.verify.profiles import budget_for  # noqa: E402
from flatcheck.verify.registry import all_claims, get  # noqa: E402
from flatcheck.verify.runner import run_claim  # noqa: E402

STEP_CLAIMS = {
    "wen2023.sam_step": "sam",
    "wen2023.sam_stochastic_step": "sam_stochastic",
    "wen2023.ascent_step": "ascent_gd",
    "ahn2024.sap_step": "sap",
    "ahn2024.rsp_step": "rsp",
    "nso.alg1_step": "nso",
    "nso.wp_step": "wp_sgd",
    "nso.alg1_noise": "nso",
    "nso.wp_noise": "wp_sgd",
    "ahn2024.rsp_direction": "rsp",
    "dexter2024.def1": "linsgd",
}
USERS = {
    "sam": [
        "broken_sam:ReferenceSAM",
        "mutants_sam:GuardedSAM",
        "mutants_sam:Float32NormSAM",
        "pytorch_optimizer:SAM",
        "unseen_sam:LazyBufferSAM",
    ],
    "sam_stochastic": ["mutants_sam:GuardedSAM", "pytorch_optimizer:SAM"],
    "nso": [
        "mutants_nso:NoiseLawNSO",
        "unseen_nso:LoopNSO",
        "unseen_nso:MatrixNoiseNSO",
        "unseen_nso:DrawnAheadNSO",
        "unseen_nso:BufferedNSO",
        "unseen_nso:InitialSeedNSO",
    ],
    "wp_sgd": ["unseen_nso:PerturbedSGDWPSGD", "unseen_nso:FlatLawWPSGD", "unseen_nso:BankedWPSGD"],
    "rsp": [
        "broken_rsp:ReferenceRSP",
        "unseen_rsp:LoopRSP",
        "unseen_rsp:Float32DirectionRSP",
        "unseen_rsp:DrawnAheadRSP",
        "unseen_rsp:BufferedRSP",
    ],
    "sap": [
        "broken_sap:ReferenceSAP",
        "unseen_sap:LoopSAP",
        "unseen_sap:GuardedSAP",
        "unseen_sap:Float32DotSAP",
        "unseen_sap:DrawnAheadSAP",
        "unseen_sap:BufferedSAP",
    ],
    "linsgd": [
        "broken_linsgd:ReferenceLinSGD",
        "unseen_linsgd:LoopLinSGD",
        "unseen_linsgd:PermutationLinSGD",
        "unseen_linsgd:InitialSeedLinSGD",
    ],
}


def user(path: str, kind: str) -> Implementation:
    module, _, name = path.partition(":")
    return Implementation(path, kind, getattr(importlib.import_module(module), name))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--dtype", default="float64")
    ap.add_argument("--claims", nargs="*", default=list(STEP_CLAIMS))
    ap.add_argument("--builtin-only", action="store_true", help="only flatcheck's own implementations")
    ap.add_argument("--users-only", action="store_true", help="only the user-style and third-party classes")
    ap.add_argument(
        "--check-claims", action="store_true", help="every claim `flatcheck check` runs for these algorithms"
    )
    args = ap.parse_args()
    catalog = all_claims()
    size = len(catalog)
    plan = {claim_id: catalog[claim_id].algorithm for claim_id in args.claims}
    if args.check_claims:
        kinds = set(plan.values())
        runs, _ = check_plan([c for c in catalog.values() if c.algorithm in kinds], tuple(kinds))
        plan = {c.id: c.algorithm for c in runs}
    print("| claim | implementation | seeds | verified | falsified | inconclusive | error | undecided | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for claim_id, kind in plan.items():
        impls = [] if args.users_only else [builtin(kind)]
        impls += [] if args.builtin_only else [user(p, kind) for p in USERS.get(kind, [])]
        for impl in impls:
            counts: Counter = Counter()
            undecided = 0
            t0 = time.perf_counter()
            for seed in range(args.seeds):
                budget = budget_for(args.profile, seed=seed, dtype=args.dtype)
                res = run_claim(get(claim_id), budget, impl=impl, catalog_size=size)
                counts[res.verdict] += 1
                undecided += res.undecided
                if res.verdict != "verified":
                    print(f"<!-- seed {seed}: {res.verdict}: {res.reason} -->", flush=True)
            wall = time.perf_counter() - t0
            row = [counts[v] for v in ("verified", "falsified", "inconclusive", "error")]
            print(
                f"| {claim_id} | {impl.name} | {args.seeds} | "
                + " | ".join(map(str, row))
                + f" | {undecided} | {wall:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
