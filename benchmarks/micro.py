"""Micro benchmarks of single library functions whose speed matters at national scale.

Run ``python -m benchmarks.micro [--repeat 5]``: prints a Markdown table (median of the
repeats). These timings used to be assertions in the test suite; speed is measured here, the
tests check only correctness.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd


def _national_panel(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.choice([0, 2004, 2008, 2011, 2014, 2017], size=357)
    p = pd.DataFrame({"unit": np.repeat(np.arange(357), 21),
                      "year": np.tile(np.arange(2000, 2021), 357), "g": np.repeat(first, 21)})
    p["treated"] = ((p.g > 0) & (p.year >= p.g)).astype(int)
    p["y"] = rng.normal(size=len(p)) + 2.0 * p["treated"]
    return p


def cases() -> dict[str, callable]:
    from evaluation_pipeline.analysis.did import did_twfe
    from evaluation_pipeline.analysis.linear_model import wild_cluster_bootstrap
    from evaluation_pipeline.analysis.staggered import staggered_att
    from evaluation_pipeline.privacy import find_personal_data, pseudonymise

    p = _national_panel()
    small = p[p.unit < 20]
    rng = np.random.default_rng(5)
    n = 3_000_000
    ids = pseudonymise(pd.Series([f"r{i}" for i in range(5000)]), b"bench-key", "R")
    long = pd.DataFrame({"respondent_id": np.repeat(np.asarray(ids), n // 5000),
                         "comment": rng.choice(["bra", "Felles rutiner", "ok", None], n)})
    boot_args = (small.y.to_numpy(), small.treated.to_numpy(float), small.unit.to_numpy(),
                 small.year.to_numpy(), small.unit.to_numpy())
    return {
        "did_twfe, 357 kommuner × 21 years": lambda: did_twfe(p, "y", "unit", "year",
                                                             "treated"),
        "wild cluster bootstrap, 20 clusters, 9999 draws":
            lambda: wild_cluster_bootstrap(*boot_args, draws=9999),
        "staggered_att never, 357 × 21, no bootstrap":
            lambda: staggered_att(p, "y", "unit", "year", "g", bootstrap=0),
        "staggered_att notyet, 357 × 21, no bootstrap":
            lambda: staggered_att(p, "y", "unit", "year", "g", control="notyet", bootstrap=0),
        "staggered_att never, 357 × 21, 999 bootstrap draws":
            lambda: staggered_att(p, "y", "unit", "year", "g"),
        "find_personal_data, 3,000,000 answers": lambda: find_personal_data(long),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print("| function | median s | min s |\n|---|---:|---:|")
    for name, fn in cases().items():
        fn()  # warm up (imports, caches)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
