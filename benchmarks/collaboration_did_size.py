"""Monte Carlo check of the collaboration network DiD (``collaboration.collaboration_did``) with
3 and 10 network kommuner.

    python -m benchmarks.collaboration_did_size [--sims 200] [--jobs 2] [--write]

(200 studies per case and scenario take about 4 minutes on 1 core.)

Simulates the collaboration roster of a staff survey (issue 25): 8 services, a baseline and one
follow-up wave, 3–8 respondents per kommune × wave × service (uniform); every respondent of
service A answers about each other service B ``1 + Binomial(4, expit(x))`` with ``x = pair
effect (symmetric, N(-0.3, 0.8²), fixed per study) + kommune effect N(0, 0.3²) + kommune ×
wave shock N(0, SHOCK²) + 0.1 at follow-up + planted``. Planted in the network kommuner at
follow-up: nothing (size and coverage under H0), or +0.8 on the ties among skole, barnevern,
PPT and helsestasjon and +1.0 more on skole–barnevern (power; coverage of the true effect on
the skole–barnevern pair: the network kommuners' mean of the expected change in the pair's mean
frequency caused by the planted term, from the simulated logits).

Every replication calls the library's ``collaboration_did`` (randomization inference over
kommune labels: all label choices with 3 network kommuner, 9999 sampled with 10; CI by test
inversion) and reads the wild cluster bootstrap check from its note. Prints a Markdown
section; ``--write`` puts it into BENCHMARKS.md under "## Collaboration network DiD:
simulation".
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.sections import write_section

SERVICES = ["skole", "barnehage", "PPT", "barnevern", "helsestasjon", "NAV", "politi", "BUP"]
CLUSTER = {"skole", "barnevern", "PPT", "helsestasjon"}
CASES = [(3, 12), (10, 15)]  # (network, comparison) kommuner
PER_ROLE = (3, 8)
KOMMUNE_SD, SHOCK_SD, TREND = 0.3, 0.2, 0.1
CLUSTER_EFFECT, PAIR_EFFECT = 0.8, 1.0
OUTCOMES = ["density", "centralization", "reciprocity", "asymmetry", "isolated",
            "mean_quality", "tie:skole-barnevern", "tie:NAV-politi"]
SECTION = "## Collaboration network DiD: simulation"
ROOT = Path(__file__).resolve().parents[1]
WCR_NOTE = re.compile(r"wild cluster bootstrap \([^)]*\): p=(?P<p>[-\d.e+naninf]+), "
                      r"\d+% CI \[(?P<lo>[-\d.e+naninf]+), (?P<hi>[-\d.e+naninf]+)\]")


def collaboration():
    from evaluation_pipeline.study import Collaboration

    return Collaboration(
        frequency={"items": {f"ofte_{s}": s for s in SERVICES}, "range": [1, 5],
                   "regular_from": 4},
        quality={"items": {f"godt_{s}": s for s in SERVICES}, "range": [1, 5]})


def simulate(seed: int, n_net: int, n_comp: int, planted: bool):
    """(answers, groups, true effect on the skole–barnevern pair mean frequency)."""
    rng = np.random.default_rng(seed)
    S, K = len(SERVICES), n_net + n_comp
    pair_rng = np.random.default_rng(12345)  # the same services' pairs in every study
    pair = pair_rng.normal(-0.3, 0.8, (S, S))
    pair = (pair + pair.T) / 2
    level = rng.normal(0, KOMMUNE_SD, K)
    shock = rng.normal(0, SHOCK_SD, (K, 2))
    in_cluster = np.array([[a != b and {a, b} <= CLUSTER for b in SERVICES] for a in SERVICES])
    sb = np.array([[{a, b} == {"skole", "barnevern"} for b in SERVICES] for a in SERVICES])
    plant = (CLUSTER_EFFECT * in_cluster + PAIR_EFFECT * sb) if planted else np.zeros((S, S))
    n = rng.integers(PER_ROLE[0], PER_ROLE[1] + 1, size=(K, 2, S))
    k_idx, w_idx, a_idx = (np.repeat(g.ravel(), n.ravel()) for g in np.meshgrid(
        np.arange(K), np.arange(2), np.arange(S), indexing="ij"))
    R = len(k_idx)
    treated = (k_idx < n_net) & (w_idx == 1)
    x = (pair[a_idx] + (level[k_idx] + shock[k_idx, w_idx] + TREND * w_idx)[:, None]
         + treated[:, None] * plant[a_idx])
    freq = 1 + rng.binomial(4, 1 / (1 + np.exp(-x))).astype(float)
    qual = 1 + rng.binomial(4, 0.6, size=(R, S)).astype(float)
    own = a_idx[:, None] == np.arange(S)[None, :]
    kommuner = np.array([f"{1500 + i}" for i in range(n_net)]
                        + [f"{1600 + i}" for i in range(n_comp)])
    rid = np.arange(R).astype(str)
    keep = ~own.ravel()
    answers = pd.DataFrame({
        "respondent_id": np.tile(np.repeat(rid, S)[keep], 2),
        "wave": np.tile(np.repeat(np.array(["b", "f"])[w_idx], S)[keep], 2),
        "kommune": np.tile(np.repeat(kommuner[k_idx], S)[keep], 2),
        "role": np.tile(np.repeat(np.array(SERVICES)[a_idx], S)[keep], 2),
        "item": np.r_[np.tile([f"ofte_{s}" for s in SERVICES], R)[keep],
                      np.tile([f"godt_{s}" for s in SERVICES], R)[keep]],
        "value": np.r_[freq.ravel()[keep], qual.ravel()[keep]],
    })
    groups = {k: "network" if i < n_net else "comparison" for i, k in enumerate(kommuner)}
    # true effect: network kommuner's expected change caused by the planted term, pair mean
    i, j = SERVICES.index("skole"), SERVICES.index("barnevern")
    base = pair[[i, j], [j, i]][None, :] + (level[:n_net] + shock[:n_net, 1] + TREND)[:, None]
    expit = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    tau = 4 * (expit(base + plant[i, j]) - expit(base)).mean(axis=1)
    return answers, groups, float(tau.mean())


def one_replication(args: tuple) -> list[tuple]:
    from evaluation_pipeline.analysis.collaboration import collaboration_did

    seed, n_net, n_comp, planted, draws = args
    answers, groups, truth = simulate(seed, n_net, n_comp, planted)
    effects = collaboration_did(answers, collaboration(), groups, baseline="b",
                                outcomes=OUTCOMES, wild_bootstrap=draws, seed=seed)
    out = []
    for e in effects:
        if e.outcome not in OUTCOMES:
            continue
        m = WCR_NOTE.search(e.note)
        wp, wlo, whi = ((float(m["p"]), float(m["lo"]), float(m["hi"])) if m
                        else (math.nan, math.nan, math.nan))
        out.append((e.outcome, e.estimate, e.ci_low, e.ci_high, e.p_value, wp, wlo, whi,
                    truth if e.outcome == "tie:skole-barnevern" else math.nan))
    return out


COLS = ["outcome", "est", "lo", "hi", "p", "wcr_p", "wcr_lo", "wcr_hi", "truth"]


def _pct(x: np.ndarray) -> str:
    x = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    if not len(x):
        return "–"
    m = float(np.mean(x))
    return f"{100 * m:.1f} ± {100 * math.sqrt(m * (1 - m) / len(x)):.1f}"


def summarise(null: pd.DataFrame, alt: pd.DataFrame) -> list[dict]:
    rows = []
    for outcome in OUTCOMES:
        n0, a1 = null[null["outcome"] == outcome], alt[alt["outcome"] == outcome]
        n0 = n0[n0["est"].notna()]
        a1 = a1[a1["est"].notna()]
        cover_truth = (((a1["lo"] <= a1["truth"]) & (a1["hi"] >= a1["truth"])).to_numpy(float)
                       if outcome == "tie:skole-barnevern" else np.array([]))
        width = (n0["hi"] - n0["lo"]).to_numpy()
        rows.append({
            "outcome": outcome,
            "studies": len(n0),
            "RI size %": _pct((n0["p"] <= 0.05).to_numpy(float)),
            "RI coverage % (H0)": _pct(((n0["lo"] <= 0) & (n0["hi"] >= 0)).to_numpy(float)),
            "RI power % (planted)": _pct((a1["p"] <= 0.05).to_numpy(float)),
            "RI coverage % of planted effect": _pct(cover_truth) if len(cover_truth) else "–",
            "RI median CI width (H0)": f"{np.median(width):.3g}",
            "WCR size % (check)": _pct((n0["wcr_p"] <= 0.05).to_numpy(float)),
        })
    return rows


def change_coverage(studies: int, seed: int, n_boot: int = 499) -> pd.DataFrame:
    """Coverage of ``collaboration_change``'s per-kommune CIs when nothing changes: 10
    kommuner, no kommune × wave shock, no trend, no planted effect (the true change of every
    outcome is 0)."""
    from evaluation_pipeline.analysis.collaboration import collaboration_change
    from evaluation_pipeline.analysis.effects import effects_frame

    global SHOCK_SD, TREND
    saved = SHOCK_SD, TREND
    SHOCK_SD, TREND = 0.0, 0.0
    try:
        parts = []
        for s in range(studies):
            answers, groups, _ = simulate(seed + s, 1, 9, False)
            f = effects_frame(collaboration_change(answers, collaboration(), groups,
                                                   baseline="b", n_boot=n_boot, seed=seed + s))
            parts.append(f[~f["group"].isin(["network", "comparison"]) & f["estimate"].notna()])
    finally:
        SHOCK_SD, TREND = saved
    f = pd.concat(parts)
    kind = f["outcome"].where(~f["outcome"].str.startswith("tie:"), "tie:<A>-<B> (all 28 pairs)")
    cover = ((f["ci_low"] <= 0) & (f["ci_high"] >= 0)).to_numpy(float)
    out = pd.DataFrame({"outcome": kind, "cover": cover}).groupby("outcome", sort=False)
    return pd.DataFrame({
        "kommune changes": out.size(),
        "coverage % of 0": out["cover"].agg(lambda x: _pct(x.to_numpy(float))),
    }).reset_index()


def run(sims: int, draws: int, jobs: int, seed: int) -> str:
    from benchmarks.did_simulation import machine

    t0 = time.perf_counter()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    ctx = multiprocessing.get_context("spawn")
    rows = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        for ci, (n_net, n_comp) in enumerate(CASES):
            out = {}
            for planted in (False, True):
                tasks = [(seed + 100_000 * (2 * ci + planted) + s, n_net, n_comp, planted,
                          draws) for s in range(sims)]
                res = list(pool.map(one_replication, tasks, chunksize=10))
                out[planted] = pd.DataFrame([r for rr in res for r in rr], columns=COLS)
            for r in summarise(out[False], out[True]):
                rows.append({"kommuner (network + comparison)": f"{n_net} + {n_comp}", **r})
            print(f"done {n_net} + {n_comp} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr)
    t1 = time.perf_counter()
    n_change = max(20, sims // 5)
    change = change_coverage(n_change, seed)
    t_change = time.perf_counter() - t1
    elapsed = time.perf_counter() - t0
    mc = 100 * math.sqrt(0.05 * 0.95 / sims)
    lines = [
        SECTION,
        "",
        f"`python -m benchmarks.collaboration_did_size --sims {sims} --draws {draws} "
        f"--jobs {jobs} --seed {seed}` ({elapsed:.0f} s on {machine()}).",
        "",
        "Design (issue 25): the collaboration roster of 8 services, a baseline and one "
        f"follow-up wave, {PER_ROLE[0]}–{PER_ROLE[1]} respondents per kommune × wave × service; "
        "each answers about every other service 1 + Binomial(4, expit(pair effect + kommune "
        f"effect N(0, {KOMMUNE_SD}²) + kommune × wave shock N(0, {SHOCK_SD}²) + {TREND} at "
        "follow-up + planted)). Planted in the network kommuner at follow-up: none (size, "
        f"coverage under H0), or +{CLUSTER_EFFECT} on the ties among skole, barnevern, PPT, "
        f"helsestasjon and +{PAIR_EFFECT} more on skole–barnevern (power; coverage of the "
        "true effect on the skole–barnevern pair's mean frequency, the network kommuners' mean "
        "expected change from the planted term). tie:NAV-politi is never planted. Each "
        "study is analysed by `collaboration_did` as the pipeline calls it: randomization "
        "inference over kommune labels (all C(15, 3) = 455 label choices with 3 network "
        "kommuner; 9999 sampled with 10 of 25), CI by test inversion under a constant "
        f"effect; the check in its note is the restricted wild cluster bootstrap ({draws} "
        f"draws). {sims} studies per case and scenario; rates ± Monte Carlo SE (±{mc:.1f} "
        "points at 5 %). `studies`: those where the outcome could be estimated.",
        "",
        pd.DataFrame(rows).to_markdown(index=False),
        "",
        f"**Per-kommune change CIs** (`collaboration_change`, Rao–Wu rescaled respondent "
        f"bootstrap, 499 draws; {n_change} studies of 10 kommuner, {t_change:.0f} s): coverage "
        "of the true change 0 when nothing changes (no kommune × wave shock, no trend, no "
        "planted effect), every kommune's change of each outcome.",
        "",
        change.to_markdown(index=False),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=200,
                    help="studies per case and scenario (default 200)")
    ap.add_argument("--draws", type=int, default=999,
                    help="wild cluster bootstrap draws of the check (default 999)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--seed", type=int, default=20251)
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
