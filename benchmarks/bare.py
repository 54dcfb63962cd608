"""The bare computation: the library functions the assets call, in the assets' order, in one
plain Python process without Dagster (the floor the orchestrated run should approach).

``python -m benchmarks.bare --study PATH [--json]`` runs it and prints the time per step.
It mirrors ``assets/*.py`` call for call (ingest -> validate: one validation per table gives
its blocking contract check and, for the ingested tables, the valid/rejected split ->
harmonize -> analyse -> report), but holds the tables in memory instead of the DuckDB
warehouse. Outputs (data docs, tables,
figures, the report) go to the study's output folder, as in the orchestrated run; point it at
a copy of a study.

The **bare incremental** run (``--incremental STATE``, :func:`run_bare_incremental`) is the
floor of ``evaluation-pipeline run --new-waves``: after a bare run that saved its tables
(``--save-state STATE``) a new wave lands, and it runs exactly what the orchestrated new-wave
run re-materialises -- the new wave's partition (ingest, contract check, validate split,
survey_wave_analysis), the all-wave survey outputs (survey_all_wave_analysis), effects, logic
chain, report and every profile -- taking the registry and interview tables and the earlier
waves' tables from the saved state (as the orchestrated run loads them from the warehouse:
the valid rows only as the column the validation summary counts), not recomputing them.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class Steps:
    """Wall time per named step (sums when a name repeats, e.g. once per wave)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


#: the per-wave tables an incremental run appends its new waves to
WAVE_TABLES = ("survey_answers_valid", "survey_answers_rejected", "scale_scores",
               "scale_reliability", "item_distribution")
#: the tables a new wave does not change (registry, interviews): the incremental run takes
#: them from the earlier run, as the orchestrated new-wave run loads them from the warehouse
UNCHANGED_TABLES = (
    "coded_segments_valid", "coded_segments_rejected", "registry_observations_valid",
    "registry_observations_rejected", "registry_reference", "registry_panel",
    "registry_effects", "registry_event_study", "registry_pretrend_tests",
    "registry_sensitivity", "registry_breakdown", "registry_group_rates",
    "theme_frequencies", "theme_role_frequencies", "theme_shifts", "theme_co_occurrence",
    "intercoder_agreement")
#: the valid rows the report only counts: the column it reads (assets/report.py COUNT_ONLY)
COUNT_ONLY = {"survey_answers_valid": "wave", "coded_segments_valid": "wave",
              "registry_observations_valid": "indicator"}


def state_tables(t: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """What an incremental run needs of a run's tables ``t``: the per-wave and the unchanged
    tables, the valid rows reduced to the column the report counts."""
    return {k: t[k][[COUNT_ONLY[k]]] if k in COUNT_ONLY else t[k]
            for k in (*WAVE_TABLES, *UNCHANGED_TABLES)}


def save_state(t: dict[str, Any], path: str | Path) -> None:
    """Save :func:`state_tables` of a run's tables to ``path`` (one pickle file)."""
    with Path(path).open("wb") as f:
        pickle.dump(state_tables(t), f, protocol=pickle.HIGHEST_PROTOCOL)


def load_state(path: str | Path) -> dict[str, pd.DataFrame]:
    with Path(path).open("rb") as f:
        return pickle.load(f)


def new_waves(study_path: str | Path, previous: dict[str, pd.DataFrame]) -> list[str]:
    """The study's waves the earlier run (``previous``) did not have."""
    from evaluation_pipeline.study import Study

    done = set(previous["scale_scores"]["wave"].astype(str))
    return [w for w in Study.load(study_path).wave_ids if w not in done]


def run_bare_incremental(study_path: str | Path, state: str | Path | dict[str, Any],
                         steps: Steps | None = None) -> dict[str, Any]:
    """The bare new-wave run: the waves the saved ``state`` (:func:`save_state`, or its
    tables) does not have, then the all-wave survey outputs, effects, logic chain, report
    and profiles (see the module docstring). Returns the tables by asset name."""
    step = steps or Steps()
    if isinstance(state, dict):
        previous = state
    else:
        with step("load previous tables"):
            previous = load_state(state)
    waves = new_waves(study_path, previous)
    if not waves:
        raise RuntimeError("no new wave: every wave of the study is in the saved state")
    return run_bare(study_path, step, waves=waves, previous=previous)


def run_bare(study_path: str | Path, steps: Steps | None = None,
             waves: list[str] | None = None,
             previous: dict[str, pd.DataFrame] | None = None) -> dict[str, Any]:
    """Run the study's computation without Dagster; ``waves`` restricts the per-wave part
    (default: every wave). With ``previous`` (an earlier run's :func:`state_tables`) it is
    the incremental run of :func:`run_bare_incremental`: ``waves`` (the new ones) are
    appended to the earlier waves' tables and the registry and interview tables are taken
    from ``previous``. Returns the tables by asset name."""
    import matplotlib

    matplotlib.use("Agg")

    from evaluation_pipeline.analysis.composition import item_distributions, study_groups
    from evaluation_pipeline.analysis.effects import effects_frame
    from evaluation_pipeline.analysis.interviews import (
        co_occurrence,
        code_frequencies,
        coder_table,
        intercoder_reliability,
        theme_shift,
    )
    from evaluation_pipeline.analysis.registry import (
        group_means,
        registry_dynamic,
        registry_effects,
        registry_panels,
    )
    from evaluation_pipeline.analysis.registry_sensitivity import registry_sensitivity
    from evaluation_pipeline.analysis.reliability import scales_reliability
    from evaluation_pipeline.analysis.scales import score_scales
    from evaluation_pipeline.contracts import validate
    from evaluation_pipeline.geography import add_rates, code_history, harmonize, kommune_name
    from evaluation_pipeline.ingest import read_interview_codes, read_survey
    from evaluation_pipeline.observations import read_indicators
    from evaluation_pipeline.privacy import (
        drop_free_text,
        personal_data_items,
        pseudonym_key,
        pseudonymise,
    )
    from evaluation_pipeline.study import Study

    step = steps or Steps()
    s = Study.load(study_path)
    docs = s.output / "data_docs"
    s.output.mkdir(parents=True, exist_ok=True)
    key = pseudonym_key(s)
    t: dict[str, Any] = {}

    def _check(table: str, df: pd.DataFrame, label: str):
        # the blocking contract check (assets/validate.py)
        report = validate(table, df, s, data_docs=docs, label=label)
        if not report.acceptable(s.validation.tolerated(table)):
            raise RuntimeError(f"contract check failed on {label}: {report.summary()}")
        return report

    def check(table: str, df: pd.DataFrame, label: str) -> None:
        # a reference table's check, in its own step
        with step(f"{table}: contract check"):
            _check(table, df, label)

    def check_and_split(table: str, df: pd.DataFrame, label: str) -> tuple[pd.DataFrame, ...]:
        # the validate step (assets/validate.py): one validation, its check and the split
        with step(f"{table}: validate split"):
            kept, rejected = _check(table, df, label).split(df)
        return kept, rejected

    # ---- per wave (survey_wave_job) ----
    valid, rejected, scores, rel, items, dist = [], [], [], [], [], []
    for wave in waves or s.wave_ids:
        with step("survey_answers"):
            path = s.wave_file(wave)
            df, _dropped = drop_free_text(read_survey(path, wave=wave), s.survey.free_text)
            df["respondent_id"] = pseudonymise(df["respondent_id"], key, prefix="R")
            found = personal_data_items(df)
            if found:
                raise RuntimeError(f"personal data in {path}: {found}")
        kept, rej = check_and_split("survey_answers", df, f"survey_answers-{wave}")
        valid.append(kept)
        rejected.append(rej)
        # one step in Dagster: survey_wave_analysis (scores, reliability, item statistics and
        # distributions from one load of the wave)
        with step("survey_wave_analysis"):
            scores.append(score_scales(kept, s.survey.scales))
            res = scales_reliability(kept, s.survey.scales, by="wave")
            rel.append(res.summary.rename(columns={"group": "wave"}))
            items.append(res.items.rename(columns={"group": "wave"}))
            dist.append(item_distributions(kept, s.survey.scales, groups=study_groups(s)))
    if previous is not None:  # incremental: after the earlier waves' tables
        valid = [previous["survey_answers_valid"], *(v[["wave"]] for v in valid)]
        rejected.insert(0, previous["survey_answers_rejected"])
        scores.insert(0, previous["scale_scores"])
        rel.insert(0, previous["scale_reliability"])
        dist.insert(0, previous["item_distribution"])
    t["survey_answers_valid"] = pd.concat(valid, ignore_index=True)
    t["survey_answers_rejected"] = pd.concat(rejected, ignore_index=True)
    t["scale_scores"] = pd.concat(scores, ignore_index=True)
    t["scale_reliability"] = pd.concat(rel, ignore_index=True)
    t["item_distribution"] = pd.concat(dist, ignore_index=True)

    # ---- incremental (survey_downstream_job and the profiles): what a new wave changes ----
    if previous is not None:
        t.update({k: previous[k] for k in UNCHANGED_TABLES})
        _survey_all_waves(s, t, step)
        _combine_and_report(s, t, step)
        return t

    # ---- everything else (study_job) ----
    with step("coded_segments"):
        frames = [read_interview_codes(s.path(f)) for f in s.interviews.files]
        seg = pd.concat(frames, ignore_index=True)
        seg["source"] = pseudonymise(seg["source"], key, prefix="I")
        seg["source_guid"] = pseudonymise(seg["source_guid"], key, prefix="G")
    t["coded_segments_valid"], t["coded_segments_rejected"] = check_and_split(
        "coded_segments", seg, "coded_segments")
    with step("registry_observations_raw"):
        # every indicator's file read once: the observations and the reference series
        read = read_indicators(s)
        t["registry_reference"] = read.reference
        raw = read.observations
    t["registry_observations_valid"], t["registry_observations_rejected"] = check_and_split(
        "registry_observations", raw, "registry_observations")
    with step("kommune_codes"):
        codes = code_history()
    check("kommune_codes", codes, "kommune_codes")
    with step("registry_observations"):
        inds = s.registry.indicators
        ro = harmonize(t["registry_observations_valid"], s.geography_year,
                       age_groups={k: v.age_group for k, v in inds.items()})
        ro = add_rates(ro, {k: v.per for k, v in inds.items()})
    with step("study_kommuner"):
        sk = pd.DataFrame({
            "kommune": s.kommuner,
            "name": [kommune_name(k) for k in s.kommuner],
            "group": ["network" if s.is_network(k) else "comparison" for k in s.kommuner],
            "join_year": pd.array([s.network.get(k) for k in s.kommuner], dtype="Float64"),
        })
    check("study_kommuner", sk, "study_kommuner")
    with step("registry_panel"):
        t["registry_panel"] = registry_panels(ro, s)
    _survey_all_waves(s, t, step)
    with step("registry_effects"):
        t["registry_effects"] = effects_frame(registry_effects(ro, s))
    with step("registry_event_study"):
        t["registry_event_study"], t["registry_pretrend_tests"] = registry_dynamic(ro, s)
    with step("registry_sensitivity_analysis"):
        t["registry_sensitivity"], t["registry_breakdown"] = registry_sensitivity(ro, s)
    with step("registry_group_rates"):
        t["registry_group_rates"] = group_means(ro, s)
    cs = t["coded_segments_valid"]
    with step("theme_frequencies"):
        t["theme_frequencies"] = code_frequencies(cs, by=("theme", "wave"))
        t["theme_role_frequencies"] = code_frequencies(cs, by=("theme", "role", "wave"))
    with step("theme_shifts"):
        rounds = s.interviews.rounds
        base = [r.id for r in rounds if r.role == "baseline"]
        follow = [r.id for r in rounds if r.role == "followup"]
        t["theme_shifts"] = effects_frame(theme_shift(cs, base[0], follow[-1], by="role")
                                          if base and follow else [])
    with step("theme_co_occurrence"):
        t["theme_co_occurrence"] = co_occurrence(cs, unit="source", level="theme")
    with step("intercoder_agreement"):
        t["intercoder_agreement"] = intercoder_reliability(coder_table(cs, level="code"))
    _combine_and_report(s, t, step)
    return t


def _survey_all_waves(s, t: dict[str, Any], step: Steps) -> None:
    """survey_all_wave_analysis: effects, response, retention and summary of every wave."""
    from evaluation_pipeline.analysis.composition import panel_retention, response_rates
    from evaluation_pipeline.analysis.effects import effects_frame
    from evaluation_pipeline.analysis.scales import scale_summary
    from evaluation_pipeline.analysis.survey import survey_effects

    sc = t["scale_scores"]
    with step("survey_response"):
        t["survey_response"] = response_rates(sc, s)
        t["survey_panel_retention"] = panel_retention(sc, s)
    with step("survey_effects"):
        t["survey_effects"] = effects_frame(survey_effects(sc, s, cache_dir=s.output / ".cache"
                                                           / "effects"))
    with step("survey_scale_summary"):
        t["survey_scale_summary"] = scale_summary(sc, s)


def _combine_and_report(s, t: dict[str, Any], step: Steps) -> None:
    """effects, logic_chain_evidence, study_report and the kommune profiles."""
    import matplotlib.pyplot as plt

    from evaluation_pipeline.analysis import logic_chain as lc
    from evaluation_pipeline.report.study_report import build_study_report, validation_summary

    with step("effects"):
        t["effects"] = pd.concat(
            [t["survey_effects"], t["registry_effects"], t["theme_shifts"]],
            ignore_index=True)
    with step("logic_chain_evidence"):
        ev = lc.logic_chain_evidence(s, t["effects"], sensitivity=t["registry_breakdown"])
        lc.element_verdicts(ev, s)
        if s.logic_chain is not None:
            from evaluation_pipeline.report.figures import png_bytes
            from evaluation_pipeline.report.logic_chain_figure import logic_chain_figure

            fig = logic_chain_figure(ev, s, s.language)
            png_bytes(fig, dpi=70)
            plt.close(fig)
        t["logic_chain_evidence"] = ev
    with step("study_report"):
        names = ("survey_answers", "coded_segments", "registry_observations")
        validation = validation_summary({n: t[f"{n}_valid"] for n in names},
                                        {n: t[f"{n}_rejected"] for n in names})
        build_study_report(
            s, effects=t["effects"], survey_summary=t["survey_scale_summary"],
            registry_means=t["registry_group_rates"], theme_freq=t["theme_frequencies"],
            event_study=t["registry_event_study"], pretrend=t["registry_pretrend_tests"],
            reliability=t["scale_reliability"], item_dist=t["item_distribution"],
            response=t["survey_response"], theme_role_freq=t["theme_role_frequencies"],
            co_occ=t["theme_co_occurrence"], intercoder=t["intercoder_agreement"],
            logic_chain=ev, validation=validation, retention=t["survey_panel_retention"],
            registry_reference=t["registry_reference"], sensitivity=t["registry_sensitivity"],
            breakdown=t["registry_breakdown"],
        )
    # kommune_profile: one per network kommune (Dagster runs them as partitions in parallel)
    from evaluation_pipeline.report.profiles import (
        build_kommune_profile,
        figure_cache,
        profile_kommuner,
    )

    shared: dict = {}  # as one run of the profile job: what the kommuner share, once
    for kommune in profile_kommuner(s):
        with step("kommune_profile"):
            build_kommune_profile(s, kommune, t["registry_panel"], t["scale_scores"],
                                  shared=shared, national=t["registry_reference"],
                                  cache_dir=figure_cache(s))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare", description=__doc__)
    parser.add_argument("--study", required=True, help="study.yaml (of a copy: outputs are "
                        "written to its output folder)")
    parser.add_argument("--json", action="store_true", help="print the step times as JSON")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a pyinstrument HTML profile of the run to this file")
    parser.add_argument("--save-state", type=Path, default=None, metavar="STATE",
                        help="after the run, save the tables an incremental run needs to this "
                        "file (its cost is reported apart, as 'save_state', not in 'total')")
    parser.add_argument("--incremental", type=Path, default=None, metavar="STATE",
                        help="the bare incremental run: only the waves STATE (saved by an "
                        "earlier run's --save-state) does not have, then what they change")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    steps = Steps()

    def run() -> dict[str, Any]:
        if args.incremental is not None:
            return run_bare_incremental(args.study, args.incremental, steps)
        return run_bare(args.study, steps)

    t0 = time.perf_counter()
    if args.profile:
        from pyinstrument import Profiler

        with Profiler(interval=0.005) as prof:
            tables = run()
        args.profile.write_text(prof.output_html(), encoding="utf-8")
        Path(str(args.profile) + ".txt").write_text(
            prof.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
    else:
        tables = run()
    total = time.perf_counter() - t0
    saved = None
    if args.save_state is not None:
        w0, c0 = time.perf_counter(), time.process_time()
        save_state(tables, args.save_state)
        saved = {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}
    if args.json:
        json.dump({"total": total, "steps": steps.seconds}
                  | ({"save_state": saved} if saved else {}), sys.stdout)
        sys.stdout.write("\n")
    else:
        for name, sec in sorted(steps.seconds.items(), key=lambda kv: -kv[1]):
            print(f"{sec:8.2f}  {name}")
        print(f"{total:8.2f}  total")
        if saved:
            print(f"{saved['wall']:8.2f}  (saving the state for an incremental run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
