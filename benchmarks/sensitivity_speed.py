"""CPU time of the registry sensitivity (:func:`.registry_sensitivity.registry_sensitivity`)
alone, per indicator, on a benchmark study (``benchmarks.generate``), without Dagster.

    python -m benchmarks.sensitivity_speed --study PATH/study.yaml [--out DIR] [--repeat N]

The registry observations are prepared as :mod:`benchmarks.bare` does (read, validate split,
harmonise, rates) and cached next to the study (``.sensitivity_observations.pkl``). Then each
indicator is analysed on its own (a copy of the study with that one indicator) and its CPU
time (``time.process_time``: the machine is shared) printed; the best of ``--repeat`` runs
is reported. ``--out DIR`` writes the two tables (``sensitivity.csv``, ``breakdown.csv``,
full precision) so that two versions of the code can be compared (``--compare A B``: the
largest absolute difference per column).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def observations(study_path: Path) -> pd.DataFrame:
    """The harmonised registry observations with rates, as ``benchmarks.bare`` makes them."""
    cache = study_path.parent / ".sensitivity_observations.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from evaluation_pipeline.contracts import validate
    from evaluation_pipeline.geography import add_rates, harmonize
    from evaluation_pipeline.observations import read_indicators
    from evaluation_pipeline.study import Study

    s = Study.load(study_path)
    raw = read_indicators(s).observations
    kept, _ = validate("registry_observations", raw, s, label="registry_observations").split(raw)
    inds = s.registry.indicators
    ro = harmonize(kept, s.geography_year, age_groups={k: v.age_group for k, v in inds.items()})
    ro = add_rates(ro, {k: v.per for k, v in inds.items()})
    cache.write_bytes(pickle.dumps(ro, protocol=pickle.HIGHEST_PROTOCOL))
    return ro


def run(study_path: Path, repeat: int = 1, only: list[str] | None = None):
    from evaluation_pipeline.analysis.registry_sensitivity import registry_sensitivity
    from evaluation_pipeline.study import Study

    s = Study.load(study_path)
    ro = observations(study_path)
    seconds, tables, breakdowns = {}, [], []
    for ind, spec in s.registry.indicators.items():
        if only and ind not in only:
            continue
        one = s.model_copy(update={"registry": s.registry.model_copy(
            update={"indicators": {ind: spec}})})
        best = None
        for _ in range(repeat):
            t0 = time.process_time()
            table, breakdown = registry_sensitivity(ro, one)
            dt = time.process_time() - t0
            best = dt if best is None else min(best, dt)
        seconds[ind] = best
        tables.append(table)
        breakdowns.append(breakdown)
        print(f"{ind:40s} {best:8.2f} s CPU", flush=True)
    print(f"{'total':40s} {sum(seconds.values()):8.2f} s CPU", flush=True)
    return seconds, pd.concat(tables, ignore_index=True), pd.concat(breakdowns,
                                                                     ignore_index=True)


def compare(a: Path, b: Path) -> float:
    """The largest absolute difference between the numeric columns of two ``--out`` runs
    (text columns must be equal); printed per table and column."""
    worst = 0.0
    for name in ("sensitivity.csv", "breakdown.csv"):
        x, y = pd.read_csv(a / name), pd.read_csv(b / name)
        if x.shape != y.shape:
            print(f"{name}: shapes differ {x.shape} {y.shape}")
            return np.inf
        for c in x.columns:
            if x[c].dtype == object or y[c].dtype == object:
                same = x[c].fillna("").astype(str).equals(y[c].fillna("").astype(str))
                print(f"{name} {c}: {'equal' if same else 'DIFFERENT'}")
                worst = worst if same else np.inf
                continue
            u, v = x[c].to_numpy(float), y[c].to_numpy(float)
            both_nan = np.isnan(u) & np.isnan(v)
            same_inf = np.isinf(u) & (u == v)
            d = np.where(both_nan | same_inf, 0.0, np.abs(u - v))
            d = np.where(np.isnan(d), np.inf, d)
            print(f"{name} {c}: max |diff| = {d.max():.3g}")
            worst = max(worst, float(d.max()))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sensitivity_speed",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--only", nargs="*")
    p.add_argument("--compare", nargs=2, type=Path)
    args = p.parse_args(argv)
    if args.compare:
        return 0 if compare(*args.compare) <= 1e-9 else 1
    _, table, breakdown = run(args.study, args.repeat, args.only)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "sensitivity.csv", index=False, float_format="%.17g")
        breakdown.to_csv(args.out / "breakdown.csv", index=False, float_format="%.17g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
