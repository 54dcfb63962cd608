"""Monte Carlo check of the registry DiD estimators with few (treated) kommuner.

    python -m benchmarks.did_simulation --sims 500 [--jobs 2] [--draws 9999] [--write]

Simulates kommune × year panels like a network evaluation: 20 kommuner, 18 years, kommune and
year effects, AR(1) errors within kommune (rho 0.5), 5 or 9 network kommuner joining in two
cohorts (years 8 and 11 of 18), a constant planted ATT of 2.0 and a null case (ATT 0) for the
size of the tests. For each case it reports, per estimator, bias, RMSE, 95 % CI coverage,
the rejection rate of H0: ATT = 0 at 5 % (the size under the null, the power otherwise) and
the median CI width:

- ``TWFE, CR1``: ``did_twfe`` with its CR1 standard error and t(G-1) CI;
- ``TWFE, WCR bootstrap``: the same estimate with the restricted wild cluster bootstrap p-value
  and test-inversion CI (Rademacher weights, ``--draws`` draws, default 9999);
- ``Callaway-Sant'Anna``: ``staggered.staggered_att(...).simple`` (never-treated controls), if
  that module exists (imported lazily; skipped with a note otherwise).

Prints a Markdown section; ``--write`` puts it into BENCHMARKS.md under
"## Registry DiD: simulation" (replacing that section if present).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.sections import write_section
from evaluation_pipeline.analysis.did import did_twfe

UNITS, YEARS, RHO = 20, 18, 0.5
COHORTS = (8, 11)  # join years (index of the year) of the two cohorts
CASES = [(5, 2.0), (5, 0.0), (9, 2.0), (9, 0.0)]  # (treated kommuner, true ATT)
SECTION = "## Registry DiD: simulation"
ROOT = Path(__file__).resolve().parents[1]


def simulate_panel(seed: int, n_treated: int, att: float) -> pd.DataFrame:
    """One panel: y = 50 + unit effect + year effect + ATT·treated + AR(1) error."""
    rng = np.random.default_rng(seed)
    year_fx = np.cumsum(rng.normal(0.2, 0.5, YEARS))
    unit_fx = rng.normal(0, 2, UNITS)
    rows = []
    for u in range(UNITS):
        first = COHORTS[u % 2] if u < n_treated else None
        e = rng.normal(0, 1 / math.sqrt(1 - RHO**2))
        for t in range(YEARS):
            e = RHO * e + rng.normal()
            tr = int(first is not None and t >= first)
            rows.append((f"k{u:02d}", 2000 + t, 50 + unit_fx[u] + year_fx[t] + att * tr + e,
                         tr, 2000 + first if first is not None else 0))
    return pd.DataFrame(rows, columns=["kommune", "year", "y", "treated", "first_treated"])


def _staggered():
    try:
        from evaluation_pipeline.analysis.staggered import staggered_att
    except ImportError:
        return None
    return staggered_att


def one_replication(args: tuple[int, int, float, int]) -> list[tuple]:
    seed, n_treated, att, draws = args
    p = simulate_panel(seed, n_treated, att)
    e, det = did_twfe(p, "y", "kommune", "year", "treated", bootstrap=draws,
                      bootstrap_weights="rademacher", seed=seed, return_details=True)
    out = [
        ("TWFE, CR1", e.estimate, e.ci_low, e.ci_high, e.p_value),
        ("TWFE, WCR bootstrap", e.estimate, *det["boot_ci"], det["boot_p"]),
    ]
    staggered_att = _staggered()
    if staggered_att is not None:
        s = staggered_att(p, "y", "kommune", "year", "first_treated", control="never").simple
        out.append(("Callaway-Sant'Anna (simple)", s.estimate, s.ci_low, s.ci_high, s.p_value))
    return out


def summarise(results: list[tuple], att: float) -> pd.DataFrame:
    df = pd.DataFrame(results, columns=["estimator", "estimate", "lo", "hi", "p"])
    rows = []
    for name, g in df.groupby("estimator", sort=False):
        err = g["estimate"] - att
        rows.append({
            "estimator": name,
            "bias": err.mean(),
            "RMSE": math.sqrt((err**2).mean()),
            "coverage": ((g["lo"] <= att) & (att <= g["hi"])).mean(),
            "rejects H0: ATT=0": (g["p"] < 0.05).mean(),
            "median CI width": (g["hi"] - g["lo"]).median(),
            "failed": int(g["estimate"].isna().sum()),
        })
    return pd.DataFrame(rows)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import scipy
    import statsmodels
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas "
            f"{pd.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")


def run(sims: int, draws: int, jobs: int, seed: int) -> str:
    staggered_missing = _staggered() is None
    if staggered_missing:
        print("note: evaluation_pipeline.analysis.staggered.staggered_att not found: "
              "the Callaway-Sant'Anna column is skipped", file=sys.stderr)
    t0 = time.perf_counter()
    tables = []
    # one BLAS thread per worker: the matrices are small and threads only contend
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    ctx = multiprocessing.get_context("spawn")  # workers read the variables at start-up
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for ci, (n_treated, att) in enumerate(CASES):
            tasks = [(seed + 100_000 * ci + s, n_treated, att, draws) for s in range(sims)]
            res = [r for rep in pool.map(one_replication, tasks, chunksize=10) for r in rep]
            t = summarise(res, att)
            t.insert(0, "case", f"{n_treated} treated of {UNITS}, ATT {att:g}")
            tables.append(t)
    elapsed = time.perf_counter() - t0
    table = pd.concat(tables, ignore_index=True)
    mc = 100 * math.sqrt(0.05 * 0.95 / sims)
    lines = [
        SECTION,
        "",
        f"`python -m benchmarks.did_simulation --sims {sims} --draws {draws} --jobs {jobs}"
        f" --seed {seed}` ({elapsed:.0f} s on {machine()}).",
        "",
        f"Design: {UNITS} kommuner × {YEARS} years, kommune effects N(0, 2²), a random-walk "
        f"year effect, AR(1) errors within kommune (rho {RHO}, unit innovation variance), "
        f"network kommuner joining in two cohorts (years {COHORTS[0] + 1} and "
        f"{COHORTS[1] + 1}), a constant ATT; {sims} panels per case. The wild cluster "
        f"bootstrap is the restricted one (WCR) with Rademacher weights and {draws} draws; "
        "its CI is by test inversion. 'rejects H0: ATT=0' is the size of a 5 % test when the "
        "true ATT is 0 and the power when it is 2. Monte Carlo SE of a coverage or rejection "
        f"rate near 95 % / 5 %: ±{mc:.1f} percentage points.",
        "",
    ]
    if staggered_missing:
        lines += ["(Callaway-Sant'Anna skipped: `staggered_att` did not exist at run time.)", ""]
    fmt = table.copy()
    for col in ("bias", "RMSE", "median CI width"):
        fmt[col] = fmt[col].map(lambda x: f"{x:.3f}" if math.isfinite(x) else "inf")
    for col in ("coverage", "rejects H0: ATT=0"):
        fmt[col] = fmt[col].map(lambda x: f"{100 * x:.1f} %")
    lines.append(fmt.to_markdown(index=False))
    lines.append("")
    return "\n".join(lines)



def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=500, help="panels per case (default 500)")
    ap.add_argument("--draws", type=int, default=9999,
                    help="wild bootstrap draws per panel (default 9999, at least 999)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="worker processes (default: 2 or the number of cores if fewer)")
    ap.add_argument("--seed", type=int, default=20131)
    ap.add_argument("--write", action="store_true",
                    help=f"also write the section '{SECTION}' into BENCHMARKS.md")
    a = ap.parse_args(argv)
    text = run(a.sims, a.draws, a.jobs, a.seed)
    print(text)
    if a.write:
        write_section(text, ROOT / "BENCHMARKS.md", SECTION)
        print(f"written to {ROOT / 'BENCHMARKS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
