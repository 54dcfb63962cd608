"""Pipeline benchmark harness (issue 9): full run vs bare computation, new-wave incremental run,
peak memory, time per asset, and peers (pyfixest, csdid) on the registry panel.

``python -m benchmarks.run --scale small|medium|national [--repeat N] [--no-write]``

1. generates the SYNTHETIC study of that scale (:mod:`benchmarks.generate`) into a work folder;
2. **full**: ``evaluation-pipeline run --study <copy>/study.yaml`` as a subprocess from an
   empty instance (fresh temporary DAGSTER_HOME, empty output), N times;
3. **bare**: :mod:`benchmarks.bare` (the same library calls without Dagster) as a subprocess,
   N times; it saves the tables an incremental run needs (``--save-state``; that cost is
   measured apart and subtracted);
4. **incremental**: after a full run, a 5th survey wave arrives (:func:`generate.add_next_wave`)
   and ``evaluation-pipeline run --new-waves`` runs only its partition, the all-wave assets
   downstream of the waves and the profiles (as the new-wave sensor and the automation
   would), in a subprocess, N times; **bare incremental**: the same wave arrives in the bare
   run's copy and ``benchmarks.bare --incremental`` runs the library calls of that work (the
   new wave, the all-wave survey outputs, effects, logic chain, report, profiles; the
   registry and interview tables taken from the saved state) as a subprocess, N times;
5. **time per asset** from the STEP_START / STEP_SUCCESS events in the instance's event log of
   the last full run;
6. **peers** in this process: ``did_twfe`` vs pyfixest ``feols`` (kommune and year FE, CR1) and
   ``staggered_att`` vs csdid ``ATTgt`` (never-treated controls, simple aggregation) on every
   indicator's harmonized registry panel.

Each measurement is the median of N runs. Wall time, CPU time (user + system of the process
tree), the peak RSS of the largest single process (``getrusage(RUSAGE_CHILDREN).ru_maxrss``
of a fresh wrapper process per run) and the peak RSS of the whole process tree at one moment
(sampled every 0.2 s) are recorded. Results go to ``benchmarks/results/<scale>.json``; the section
"## Pipeline benchmark" of BENCHMARKS.md is rebuilt from every results file there (so the growth
table small -> medium -> national fills in as scales are run), the other sections are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from . import generate

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
SECTION = "## Pipeline benchmark"
PY = sys.executable
CLI = str(Path(sys.executable).with_name("evaluation-pipeline"))
DAGSTER_YAML = "telemetry:\n  enabled: false\n"
TARGETS = {"full_over_bare": 1.5, "full_seconds": 300,
           "incremental_over_bare_incremental": 1.3, "peak_rss_gb": 4.0}


# --------------------------------------------------------------------------------------------
# measuring a subprocess


def _tree_rss(proc) -> int:
    """Resident bytes of ``proc`` and all its descendants now (0 when it has ended)."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:  # ended between the listing and the reading
            pass
    return total


def _measure_child(argv: list[str]) -> int:
    """Wrapper mode (``--_measure -- cmd ...``): run cmd, print its resource use as JSON on
    the last line of stderr. A fresh wrapper per run makes RUSAGE_CHILDREN per run.

    Two memory figures: ``peak_rss_mb``, the largest peak of any single process of the run
    (``ru_maxrss``, exact), and ``peak_total_rss_mb``, the largest sum over the process tree
    at one moment (what the machine must hold while parallel workers run), sampled every
    0.2 s, so a peak shorter than that can be missed."""
    import threading

    import psutil

    t0 = time.perf_counter()
    child = subprocess.Popen(argv)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        proc = psutil.Process(child.pid)
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(proc))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = child.wait()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    rec = {"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
           "peak_rss_mb": ru.ru_maxrss / 1024, "peak_total_rss_mb": peak[0] / 2**20}
    sys.stderr.write("\n@@measure " + json.dumps(rec) + "\n")
    return rc


def measure(cmd: list[str], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` through the wrapper; stdout/stderr go to ``log``. Raises when it fails."""
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run([PY, "-m", "benchmarks.run", "--_measure", "--", *cmd],
                              cwd=ROOT, env=env, stdout=out, stderr=subprocess.PIPE, text=True,
                              check=False)
    err = proc.stderr
    with log.open("a", encoding="utf-8") as out:
        out.write(err)
    found = re.findall(r"^@@measure (.*)$", err, re.M)
    if not found or proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log}:\n"
                           + err[-3000:])
    return json.loads(found[-1])


def _fresh_copy(study: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(study, dest, ignore=shutil.ignore_patterns("output"))
    return dest / "study.yaml"


def _fresh_home(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    return path


def _env(home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    env.pop("EVALUATION_STUDY", None)
    if home is not None:
        env["DAGSTER_HOME"] = str(home)
    return env


# --------------------------------------------------------------------------------------------
# incremental run (subprocess mode ``--_incremental STUDY``)


def _incremental_child(study_path: str) -> int:
    """``evaluation-pipeline run --new-waves``: the new wave's partition, then the all-wave
    assets downstream of the waves and the profiles (what the new-wave sensor and the
    automation run), not the registry and interview assets."""
    from assets import cli

    return cli.main(["run", "--study", study_path, "--new-waves"])


# --------------------------------------------------------------------------------------------
# time per asset from the event log


def step_times(home: Path, since: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Seconds per step (STEP_START -> STEP_SUCCESS) of the runs in the instance at ``home``,
    summed over the wave partitions, slowest first: (runs started before the time ``since``,
    runs started after it). One subprocess reads both (it imports Dagster: seconds)."""
    code = (
        "import json, dagster as dg\n"
        "inst = dg.DagsterInstance.get(); out = []\n"
        "for r in inst.get_runs():\n"
        "    rr = inst.get_run_record_by_id(r.run_id)\n"
        "    if rr.start_time is None: continue\n"
        "    start = {}\n"
        "    for rec in inst.all_logs(r.run_id):\n"
        "        ev = rec.dagster_event\n"
        "        if ev is None: continue\n"
        "        t = dg.DagsterEventType\n"
        "        if ev.event_type == t.STEP_START: start[ev.step_key] = rec.timestamp\n"
        "        elif ev.event_type == dg.DagsterEventType.STEP_SUCCESS:\n"
        "            sec = rec.timestamp - start[ev.step_key]\n"
        "            out.append([r.job_name, ev.step_key, sec, rr.start_time])\n"
        "    if rr.end_time is None: continue\n"
        "    out.append([r.job_name, '(whole run)', rr.end_time - rr.start_time, rr.start_time])\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([PY, "-c", code], env=_env(home), capture_output=True, text=True,
                          check=True, cwd=ROOT)
    agg: tuple[dict, dict] = ({}, {})
    for job, step, sec, started in json.loads(proc.stdout.strip().splitlines()[-1]):
        agg[started >= since].setdefault((job, step), []).append(sec)
    return tuple(sorted(({"job": j, "step": s, "seconds": sum(v), "runs": len(v)}
                         for (j, s), v in a.items()), key=lambda r: -r["seconds"])
                 for a in agg)


# --------------------------------------------------------------------------------------------
# peers


def _quiet():
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    return stack


def _ssc(pf) -> dict:
    """pyfixest's small-sample correction with every fixed effect counted and the cluster
    adjustment on (as ``did_twfe``'s CR1), in the argument names of the installed version
    (newer versions renamed ``adj``, ``fixef_k``, ``cluster_adj`` to ``k_adj``, ``k_fixef``,
    ``G_adj``)."""
    import inspect

    if "k_adj" in inspect.signature(pf.ssc).parameters:
        return pf.ssc(k_adj=True, k_fixef="full", G_adj=True)
    return pf.ssc(adj=True, fixef_k="full", cluster_adj=True)


def peers(study_path: Path) -> dict[str, Any]:
    """did_twfe vs pyfixest and staggered_att vs csdid on every indicator's registry panel."""
    import numpy as np
    import pandas as pd
    import pyfixest as pf
    from csdid.att_gt import ATTgt

    from evaluation_pipeline.analysis.did import did_twfe
    from evaluation_pipeline.analysis.registry import balanced_panel, registry_panel
    from evaluation_pipeline.analysis.staggered import staggered_att
    from evaluation_pipeline.geography import add_rates, harmonize
    from evaluation_pipeline.ingest import read_registry
    from evaluation_pipeline.observations import registry_observations
    from evaluation_pipeline.study import Study

    s = Study.load(study_path)
    inds = s.registry.indicators
    raw = pd.concat([registry_observations(read_registry(s.path(i.file)), k, i, i.file)
                     for k, i in inds.items()], ignore_index=True)
    obs = add_rates(harmonize(raw, s.geography_year,
                              age_groups={k: v.age_group for k, v in inds.items()}),
                    {k: v.per for k, v in inds.items()})
    t = {"twfe_ours": 0.0, "twfe_ours_cr1": 0.0, "twfe_peer": 0.0, "cs_ours": 0.0, "cs_peer": 0.0}
    d = {"twfe_est": 0.0, "twfe_se_rel": 0.0, "cs_att_gt": 0.0, "cs_est": 0.0, "cs_se_rel": 0.0}
    n_obs = 0
    # warm-up (untimed): pyfixest compiles its numba kernels on the first call
    first = registry_panel(obs, s, next(iter(inds))).dropna(subset=["value"])
    pf.feols("value ~ treated | kommune + year", data=first, vcov={"CRV1": "kommune"})
    for ind in inds:
        panel = registry_panel(obs, s, ind)
        data = panel.dropna(subset=["value"])[["kommune", "year", "treated", "value",
                                               "first_treated"]].copy()
        n_obs += len(data)
        t0 = time.perf_counter()
        ours = did_twfe(panel, "value", "kommune", "year", "treated", label=ind)
        t["twfe_ours"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        did_twfe(panel, "value", "kommune", "year", "treated", label=ind, bootstrap=None)
        t["twfe_ours_cr1"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        fit = pf.feols("value ~ treated | kommune + year", data=data, vcov={"CRV1": "kommune"},
                       ssc=_ssc(pf))
        est, se = float(fit.coef()["treated"]), float(fit.se()["treated"])
        t["twfe_peer"] += time.perf_counter() - t0
        d["twfe_est"] = max(d["twfe_est"], abs(ours.estimate - est))
        d["twfe_se_rel"] = max(d["twfe_se_rel"], abs(ours.se - se) / se)
        bal, _ = balanced_panel(panel)
        t0 = time.perf_counter()
        cs = staggered_att(bal, "value", "kommune", "year", "first_treated", control="never")
        t["cs_ours"] += time.perf_counter() - t0
        cdata = bal[["kommune", "year", "value", "first_treated"]].copy()
        cdata["unit"] = pd.factorize(cdata["kommune"])[0] + 1
        cdata["first_treated"] = cdata["first_treated"].astype(int)
        t0 = time.perf_counter()
        with _quiet():
            np.random.seed(1)
            m = ATTgt(yname="value", gname="first_treated", idname="unit", tname="year",
                      data=cdata, control_group=["nevertreated"], biters=999, cband=True)
            m.fit(est_method="reg", bstrap=True)
            m.aggte(typec="simple", bstrap=True)
        t["cs_peer"] += time.perf_counter() - t0
        ref = m.atte
        r = m.results
        cells = cs.att_gt.merge(pd.DataFrame({"group": r["group"], "time": r["year"],
                                              "att_ref": r["att"]}), on=["group", "time"])
        cells = cells.dropna(subset=["att"])
        d["cs_att_gt"] = max(d["cs_att_gt"], float((cells["att"] - cells["att_ref"]).abs().max()))
        # the simple aggregation: ours drops cohorts of fewer than min_group_size=2 kommuner
        # (csdid keeps them), so compare it with min_group_size=1 on the same panel
        cs1 = staggered_att(bal, "value", "kommune", "year", "first_treated", control="never",
                            min_group_size=1)
        ref_att = float(np.ravel(ref["overall_att"])[0])
        ref_se = float(np.ravel(ref["overall_se"])[0])
        d["cs_est"] = max(d["cs_est"], abs(cs1.simple.estimate - ref_att))
        d["cs_se_rel"] = max(d["cs_se_rel"], abs(cs1.simple.se - ref_se) / ref_se)
    return {"indicators": len(inds), "kommuner": len(s.kommuner), "rows": n_obs,
            "seconds": t, "max_abs_diff": d,
            "twfe_ratio": t["twfe_ours"] / t["twfe_peer"],
            "twfe_cr1_ratio": t["twfe_ours_cr1"] / t["twfe_peer"],
            "cs_ratio": t["cs_ours"] / t["cs_peer"]}


# --------------------------------------------------------------------------------------------
# the benchmark


MEASURES = ("wall", "cpu", "peak_rss_mb", "peak_total_rss_mb")


def _median(recs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in MEASURES if all(k in r for r in recs)]
    return {k: statistics.median(r[k] for r in recs) for k in keys} | {
        "runs": [{k: round(r[k], 2) for k in keys} for r in recs]}


#: Dagster steps whose work the bare run times in parts (the parts are summed)
BARE_PARTS = {"survey_all_wave_analysis": ["survey_effects", "survey_response",
                                           "survey_scale_summary"]}


def speed_probe(repeat: int = 5) -> float:
    """CPU seconds of a fixed single-threaded workload (a pure-Python loop, a numpy sort, a
    pandas groupby on text keys), the median of ``repeat`` runs.

    On a shared host the same code takes more CPU time when neighbours load the physical
    cores (shared caches, SMT siblings), which the load average inside the VM does not show:
    runs of different days are comparable only when their probes agree. Taken before the first
    and after the last measured run."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    values = rng.random(2_000_000)
    keys = pd.Series(rng.integers(0, 5_000, len(values))).astype(str)
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        total = 0
        for i in range(3_000_000):
            total += i % 7
        np.sort(values)
        pd.DataFrame({"k": keys, "v": values}).groupby("k")["v"].mean()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def machine() -> dict[str, Any]:
    import psutil

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    pkgs = ["dagster", "pandas", "numpy", "statsmodels", "scipy", "great-expectations",
            "duckdb", "matplotlib", "pyfixest", "csdid"]
    versions = {}
    for p in pkgs:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[p] = metadata.version(p)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(
        psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(terse=True),
        "python": platform.python_version(), "packages": versions,
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "speed_probe_s": round(speed_probe(), 3)}


def _commit() -> str | None:
    """The measured checkout's commit (short hash, ``+changes`` when the tree differs from it,
    not counting the files the benchmark itself writes), or None outside a git checkout:
    results of different scales compare only at one commit."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":!BENCHMARKS.md", ":!benchmarks/results"],
                               cwd=ROOT, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty.strip() else "")


def run_benchmark(scale: str, repeat: int, work: Path, seed: int, with_peers: bool,
                  log=print) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    study = work / "study"
    if study.exists():
        shutil.rmtree(study)
    t0 = time.perf_counter()
    summary = generate.generate(study, scale, seed)
    gen_seconds = time.perf_counter() - t0
    log(f"[bench] generated {scale} study in {gen_seconds:.1f} s: {study}")
    res: dict[str, Any] = {"scale": scale, "repeat": repeat, "seed": seed, "commit": _commit(),
                           "machine": machine(), "generate_seconds": gen_seconds,
                           "study": summary, "date": time.strftime("%Y-%m-%d %H:%M")}
    full, bare, incr, bare_incr = [], [], [], []
    for i in range(repeat):
        copy = _fresh_copy(study, work / "full")
        home = _fresh_home(work / "home")
        full.append(measure([CLI, "run", "--study", str(copy)], _env(home),
                            work / f"full-{i}.log"))
        log(f"[bench] full run {i + 1}/{repeat}: {full[-1]['wall']:.1f} s wall, "
            f"{full[-1]['cpu']:.1f} s CPU, {full[-1]['peak_rss_mb']:.0f} MB "
            f"largest process, {full[-1]['peak_total_rss_mb']:.0f} MB all processes")
        generate.add_next_wave(copy.parent)
        since = time.time()
        incr.append(measure([PY, "-m", "benchmarks.run", "--_incremental", str(copy)],
                            _env(home), work / f"incremental-{i}.log"))
        log(f"[bench] incremental run {i + 1}/{repeat}: {incr[-1]['wall']:.1f} s wall, "
            f"{incr[-1]['cpu']:.1f} s CPU, {incr[-1]['peak_rss_mb']:.0f} MB "
            f"largest process, {incr[-1]['peak_total_rss_mb']:.0f} MB all processes")
        if i == repeat - 1:
            res["steps"], res["steps_incremental"] = step_times(home, since)
        bcopy = _fresh_copy(study, work / "bare")
        state = work / "bare-state.pkl"
        bare.append(measure([PY, "-m", "benchmarks.bare", "--study", str(bcopy), "--json",
                             "--save-state", str(state)], _env(), work / f"bare-{i}.log"))
        out = (work / f"bare-{i}.log").read_text(encoding="utf-8")
        rec = json.loads(re.findall(r'^\{"total".*$', out, re.M)[-1])
        res["bare_steps"] = rec["steps"]
        # saving the state is not part of the bare run: its cost is taken out
        saved = rec["save_state"]
        bare[-1]["wall"] -= saved["wall"]
        bare[-1]["cpu"] -= saved["cpu"]
        bare[-1]["save_state"] = saved
        log(f"[bench] bare run {i + 1}/{repeat}: {bare[-1]['wall']:.1f} s wall, "
            f"{bare[-1]['cpu']:.1f} s CPU, {bare[-1]['peak_rss_mb']:.0f} MB "
            f"largest process, {bare[-1]['peak_total_rss_mb']:.0f} MB all processes "
            f"(saving the state: {saved['wall']:.1f} s wall, {saved['cpu']:.1f} s CPU, "
            "not counted)")
        generate.add_next_wave(bcopy.parent)
        bare_incr.append(measure([PY, "-m", "benchmarks.bare", "--study", str(bcopy), "--json",
                                  "--incremental", str(state)], _env(),
                                 work / f"bare-incremental-{i}.log"))
        out = (work / f"bare-incremental-{i}.log").read_text(encoding="utf-8")
        res["bare_incremental_steps"] = json.loads(
            re.findall(r'^\{"total".*$', out, re.M)[-1])["steps"]
        log(f"[bench] bare incremental run {i + 1}/{repeat}: {bare_incr[-1]['wall']:.1f} s "
            f"wall, {bare_incr[-1]['cpu']:.1f} s CPU, {bare_incr[-1]['peak_rss_mb']:.0f} MB "
            f"largest process, {bare_incr[-1]['peak_total_rss_mb']:.0f} MB all processes")
    res["full"], res["bare"], res["incremental"] = _median(full), _median(bare), _median(incr)
    res["bare_incremental"] = _median(bare_incr)
    # what saving the state cost each bare run (taken out of its wall and CPU time)
    res["bare_state_saved"] = [{k: round(v, 2) for k, v in b["save_state"].items()}
                               for b in bare]
    res["speed_probe_end_s"] = round(speed_probe(), 3)
    log(f"[bench] speed probe {res['machine']['speed_probe_s']:.2f} s CPU before the runs, "
        f"{res['speed_probe_end_s']:.2f} s after")
    if with_peers:
        res["peers"] = peers(study / "study.yaml")
        log(f"[bench] peers: TWFE ours/pyfixest {res['peers']['twfe_ratio']:.2f}, "
            f"CS ours/csdid {res['peers']['cs_ratio']:.2f}")
    return res


# --------------------------------------------------------------------------------------------
# BENCHMARKS.md


def _f(x: float, d: int = 1) -> str:
    return f"{x:,.{d}f}".replace(",", " ")


def _rss(m: dict[str, Any]) -> str:
    """'largest process / all processes' peak RSS (MB) of a measurement."""
    total = m.get("peak_total_rss_mb")
    return f"{_f(m['peak_rss_mb'], 0)} / {_f(total, 0) if total is not None else '–'}"


def _probe(r: dict[str, Any]) -> str:
    before, after = r["machine"].get("speed_probe_s"), r.get("speed_probe_end_s")
    return "–" if before is None or after is None else f"{before:.2f} / {after:.2f}"


def render(results: dict[str, dict[str, Any]]) -> str:
    order = [s for s in generate.SCALES_SPEC if s in results]
    last = results[order[-1]]
    m = last["machine"]
    lines = [SECTION, ""]
    lines.append(
        "Written by `python -m benchmarks.run --scale <scale> [--repeat N]` (one results file "
        "per scale in `benchmarks/results/`; this section is rebuilt from all of them). Every "
        "number is the median of N runs in one invocation. Wall time depends on what else runs "
        "on the machine: CPU time (user + system of the whole process tree) is the steadier "
        "measure of our cost, but on a shared host it too grows when neighbours load the "
        "physical cores. The speed probe (CPU seconds of a fixed single-threaded workload, the "
        "median of 5, before the first and after the last run) shows how fast the host was: "
        "compare runs of different days only when their probes agree.")
    lines += ["", f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, {m['os']}; "
              f"Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
              + ".", ""]
    lines += ["### Study sizes", "",
              "| scale | kommuner (network) | registry indicators × years | survey waves × "
              "respondents × items | interviews / coded segments | generate (s) |",
              "|---|---|---|---|---|---|"]
    for s in order:
        r = results[s]
        st = r["study"]
        sc = st["scale"]
        lines.append(
            f"| {s} | {st['kommuner']} ({st['network']}) | {st['registry']['indicators']} × "
            f"{st['years'][0]}–{st['years'][1]} | 4 (+1 new) × {_f(sc['respondents'], 0)} × 30 | "
            f"{_f(st['interviews']['interviews'], 0)} / {_f(st['interviews']['segments'], 0)} | "
            f"{_f(r['generate_seconds'])} |")
    lines += ["", "### Full, bare and incremental runs", "",
              "| scale | N | full wall (s) | full CPU (s) | full peak RSS (MB) | bare wall (s) | "
              "bare CPU (s) | bare peak RSS (MB) | incremental wall (s) | incremental CPU (s) | "
              "incremental peak RSS (MB) | bare incremental wall (s) | bare incremental CPU (s) "
              "| bare incremental peak RSS (MB) | full/bare (CPU) | incremental/bare "
              "incremental (CPU) | incremental/full (CPU) | load avg at start | speed probe "
              "before / after (s) | commit | date |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
              "---|"]
    for s in order:
        r = results[s]
        f, b, i = r["full"], r["bare"], r["incremental"]
        # (results measured before the bare incremental run was: '–')
        bi = r.get("bare_incremental")
        bare_incr = f"{_f(bi['wall'])} | {_f(bi['cpu'])} | {_rss(bi)}" if bi else "– | – | –"
        over_bare_incr = f"{i['cpu'] / bi['cpu']:.2f}" if bi else "–"
        lines.append(
            f"| {s} | {r['repeat']} | {_f(f['wall'])} | {_f(f['cpu'])} | {_rss(f)} "
            f"| {_f(b['wall'])} | {_f(b['cpu'])} | {_rss(b)} | {_f(i['wall'])} | "
            f"{_f(i['cpu'])} | {_rss(i)} | {bare_incr} | {f['cpu'] / b['cpu']:.2f} | "
            f"{over_bare_incr} | {i['cpu'] / f['cpu']:.2f} | "
            f"{r['machine']['load_avg_at_start'][0]} | {_probe(r)} | "
            f"{r.get('commit') or '–'} | {r.get('date', '–')[:10]} |")
    lines += ["", "Peak RSS: the largest single process / all processes of the run at one moment "
              "(sampled every 0.2 s; '–' where a run was measured before this was recorded). "
              "The full and incremental runs have parallel workers (survey waves, profiles), so "
              "the machine must hold the second figure.", "",
              "Incremental: after the full run a 5th survey wave lands and `evaluation-pipeline "
              "run --new-waves` runs its partition, the all-wave survey outputs, effects, logic "
              "chain, report and every profile. Bare incremental: the same library calls for "
              "the same work in one plain process (`python -m benchmarks.bare --incremental`), "
              "the registry and interview tables and the earlier waves' tables taken from the "
              "bare full run's saved state, as the orchestrated run loads them from the "
              "warehouse; the floor the incremental run should approach. Incremental/full is "
              "kept for information only: savings in the per-wave work shrink the full run "
              "more than the incremental one and so raise it.", "",
              "Targets at national scale (issues 9 and 24, 2 cores): full ≤ 1.5 × bare, "
              "incremental ≤ 1.3 × bare incremental (CPU), peak memory ≤ 4 GB, full ≤ 5 min.",
              ""]
    if len(order) > 1:
        base = results[order[0]]
        lines += ["### Growth", "",
                  "| scale | survey answers (rows) | full CPU (s) | × smallest | bare CPU (s) | "
                  "× smallest | full peak RSS (MB) | × smallest |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in order:
            r = results[s]
            rows = r["study"]["scale"]["respondents"] * 4 * 30
            lines.append(
                f"| {s} | {_f(rows, 0)} | {_f(r['full']['cpu'])} | "
                f"{r['full']['cpu'] / base['full']['cpu']:.1f} | {_f(r['bare']['cpu'])} | "
                f"{r['bare']['cpu'] / base['bare']['cpu']:.1f} | "
                f"{_f(r['full']['peak_rss_mb'], 0)} | "
                f"{r['full']['peak_rss_mb'] / base['full']['peak_rss_mb']:.1f} |")
        commits = {s: results[s].get("commit") or "unknown" for s in order}
        if len(set(commits.values())) > 1:
            lines += ["", "The scales were measured at different commits ("
                      + ", ".join(f"{s}: {c}" for s, c in commits.items())
                      + "), so these factors mix the growth with the changes in between."]
        lines.append("")
    for s in order:
        r = results[s]
        lines += [f"### Slowest steps, {s} scale (Dagster step events of the full run; bare "
                  "time of the same work)", "",
                  "Wall seconds from each step's start to its end. The wave runs run in "
                  "parallel workers and the profile runs beside the study job, so steps that "
                  "overlap share the cores and their seconds add up to more than the run's "
                  "wall time.", "",
                  "| job | step | seconds (summed over partitions) | runs | bare (s) |",
                  "|---|---|---|---|---|"]
        bare_steps = r.get("bare_steps", {})
        for row in [x for x in r["steps"] if x["step"] != "(whole run)"][:12]:
            st = row["step"]
            # a validate step is its table's one validation (contract check and split); a
            # reference table's step (kommune_codes, study_kommuner) includes its check
            keys = ([f"{st[len('validate_'):]}: validate split"] if st.startswith("validate_")
                    else [*BARE_PARTS.get(st, [st]), f"{st}: contract check"])
            b = sum(bare_steps.get(k, 0.0) for k in keys)
            lines.append(f"| {row['job']} | {row['step']} | {_f(row['seconds'])} | {row['runs']} "
                         f"| {_f(b) if b else ''} |")
        whole = [x for x in r["steps"] if x["step"] == "(whole run)"]
        lines += ["", "Whole runs: " + "; ".join(
            f"{x['job']} {_f(x['seconds'])} s ({x['runs']} run{'s' if x['runs'] > 1 else ''})"
            for x in whole) + ".", ""]
    peer_rows = [(s, results[s]["peers"]) for s in order if "peers" in results[s]]
    if peer_rows:
        lines += ["### Peers on the registry panel", "",
                  "Every indicator's harmonized kommune × year panel; times summed over the "
                  "indicators. TWFE: our `did_twfe` (as the pipeline calls it, CR1 and, when "
                  "clusters are few, the wild cluster bootstrap) vs pyfixest `feols(value ~ "
                  "treated | kommune + year, vcov={'CRV1': 'kommune'})`. Staggered: our "
                  "`staggered_att` (never-treated controls, 999 multiplier-bootstrap draws for "
                  "the band) vs csdid `ATTgt(...).fit(est_method='reg', bstrap=True)` + "
                  "`aggte('simple')` (999 draws). Targets: ratio ≤ 1, estimates equal to 1e-6 "
                  "(TWFE) / 1e-3 (staggered). Our `staggered_att` leaves out cohorts of fewer than "
                  "2 kommuner (`min_group_size=2`), csdid keeps them, so the simple ATT is "
                  "compared with `min_group_size=1` (ATT(g,t) cells are compared where both "
                  "estimate them). csdid's SE is its multiplier-bootstrap SE, ours analytic.",
                  "",
                  "| scale | indicators | panel rows | TWFE ours (s) | ours, CR1 only (s) "
                  "| pyfixest (s) "
                  "| ours/peer (CR1 only) "
                  "| max abs diff ATT | max rel diff SE | CS ours (s) | csdid (s) | ours/peer "
                  "| max abs diff ATT(g,t) | max abs diff simple ATT | max rel diff SE "
                  "(csdid: bootstrap) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s, p in peer_rows:
            t, d = p["seconds"], p["max_abs_diff"]
            lines.append(
                f"| {s} | {p['indicators']} | {_f(p['rows'], 0)} | {t['twfe_ours']:.2f} | "
                f"{t['twfe_ours_cr1']:.2f} | {t['twfe_peer']:.2f} | {p['twfe_ratio']:.2f} "
                f"({p['twfe_cr1_ratio']:.2f}) | {d['twfe_est']:.1e} | "
                f"{d['twfe_se_rel']:.1e} | {t['cs_ours']:.2f} | {t['cs_peer']:.2f} | "
                f"{p['cs_ratio']:.2f} | {d['cs_att_gt']:.1e} | {d['cs_est']:.1e} | "
                f"{d['cs_se_rel']:.1e} |")
        lines.append("")
    return "\n".join(lines)


def write_section(text: str, path: Path = BENCHMARKS_MD) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## (?!#)|\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text.rstrip() + "\n\n", old, count=1)
    else:
        new = old.rstrip() + "\n\n" + text.rstrip() + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new.rstrip() + "\n", encoding="utf-8")
    tmp.replace(path)


def load_results() -> dict[str, dict[str, Any]]:
    out = {}
    for s in generate.SCALES_SPEC:
        f = RESULTS / f"{s}.json"
        if f.exists():
            out[s] = json.loads(f.read_text(encoding="utf-8"))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--_measure"]:
        return _measure_child(argv[2:] if argv[1:2] == ["--"] else argv[1:])
    if argv[:1] == ["--_incremental"]:
        return _incremental_child(argv[1])
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=list(generate.SCALES_SPEC), default="small")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs per measurement, the median is reported (default 1)")
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the study copies and instances go (default: a temp folder, "
                    "removed afterwards)")
    ap.add_argument("--no-peers", action="store_true", help="skip pyfixest / csdid")
    ap.add_argument("--no-write", action="store_true",
                    help="do not write benchmarks/results/<scale>.json and BENCHMARKS.md")
    args = ap.parse_args(argv)
    repeat = args.repeat or 1
    if repeat < 1:
        ap.error("--repeat must be at least 1")
    work = args.workdir or Path(tempfile.mkdtemp(prefix=f"bench-{args.scale}-"))
    try:
        res = run_benchmark(args.scale, repeat, work, args.seed, not args.no_peers)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({k: res[k] for k in ("full", "bare", "incremental", "bare_incremental")},
                     indent=1))
    if args.workdir is not None:
        (args.workdir / "results.json").write_text(
            json.dumps(res, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        tmp = RESULTS / f".{args.scale}.json.tmp"
        tmp.write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str),
                       encoding="utf-8")
        tmp.replace(RESULTS / f"{args.scale}.json")
        write_section(render(load_results()))
        print(f"[bench] wrote {RESULTS / (args.scale + '.json')} and {BENCHMARKS_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
