"""Deterministic generator of a SYNTHETIC benchmark study at small, medium or national scale.

``python -m benchmarks.generate DEST --scale small|medium|national [--seed N]`` writes a study
folder like ``examples/sunnmore``: ``study.yaml`` plus ``landing/{registry,surveys,interviews}``
and, outside the landing folder, ``next_wave/`` with one more survey wave that the benchmark
harness adds later to measure the incremental run (:func:`add_next_wave`).

Every outcome number is SYNTHETIC; real are only the kommune codes and names (SSB code
history) and the population used for denominators and survey sample sizes, read from the
packaged reference data through :mod:`evaluation_pipeline.synthetic` (whose helpers are reused:
code history, population, the kommune codes valid in each year, the .sav and CSV writers).
The example generator itself loops per person and per cell; this one draws the same kind of
data with vectorised numpy so that the national scale (357 kommuner, 40 indicators,
4 × 100,000 respondents × 30 items, 50,000 coded segments) is generated in about a minute.

Scales (kommuner; registry indicators over 2005–2025; respondents per wave × items;
interviews / coded segments):

- ``small``: Møre og Romsdal (27 kommuner), 3 indicators, 4 × 1,000 × 30, 40 / 1,000
- ``medium``: Møre og Romsdal, Vestland, Trøndelag (108), 20 indicators, 4 × 25,000 × 30,
  600 / 15,000
- ``national``: all 357 kommuner, 40 indicators, 4 × 100,000 × 30, 2,000 / 50,000

Registry files use the kommune codes valid in each year (pre-2020 codes to 2019, the 2020 codes
2020–2023, the 2024 codes from 2024), cycling through the three formats of the example
(JSON-stat 2.0, PxWeb CSV, JSON-stat 1.0). About 30 % of the kommuner form the network, joining
in four cohorts (2011, 2013, 2015, 2017); the rest are the comparison group.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evaluation_pipeline import synthetic as syn
from evaluation_pipeline.geography import valid_codes

DEFAULT_SEED = 20240
YEARS = tuple(range(2005, 2026))
JOIN_YEARS = (2011, 2013, 2015, 2017)
NETWORK_SHARE = 0.3
ROLES = ["skole", "barnehage", "PPT", "barnevern", "helsestasjon", "NAV", "politi", "BUP"]
#: survey waves (id, fieldwork date, role); the last one is the "new wave" of the incremental run
WAVES = [
    ("w2012", "2012-11-15", "baseline"),
    ("w2015", "2015-11-15", "followup"),
    ("w2018", "2018-11-15", "followup"),
    ("w2021", "2021-11-15", "followup"),
]
NEXT_WAVE = ("w2024", "2024-11-15", "followup")
#: 5 scales × 6 items = 30 items; the fourth item of each scale is reverse-worded
SCALES = {
    "samarbeid": ("sam", {"nb": "Samarbeidskvalitet", "en": "Collaboration quality"}),
    "felles_forstaelse": ("ff", {"nb": "Felles målforståelse", "en": "Shared goals"}),
    "informasjonsdeling": ("info", {"nb": "Informasjonsdeling", "en": "Information sharing"}),
    "ledelse": ("led", {"nb": "Ledelsesforankring", "en": "Leadership support"}),
    "kompetanse": ("komp", {"nb": "Kompetanse", "en": "Competence"}),
}
ITEMS_PER_SCALE = 6
#: planted survey effect (latent 1–5 metric) in network kommuner from the first wave after
#: joining; comparison kommuner get the secular trend at every follow-up
SURVEY_EFFECT = 0.4
SURVEY_TREND = 0.1
PANEL_SHARE = 0.3
ROUNDS = [("i2013", "baseline"), ("i2019", "followup")]
DOUBLE_CODED_SHARE = 0.1


@dataclass(frozen=True)
class Scale:
    name: str
    counties: tuple[str, ...] | None  # first two digits of the 2024 codes; None = all
    indicators: int
    respondents: int  # per wave
    interviews: int
    segments: int


SCALES_SPEC = {
    "small": Scale("small", ("15",), 3, 1_000, 40, 1_000),
    "medium": Scale("medium", ("15", "46", "50"), 20, 25_000, 600, 15_000),
    "national": Scale("national", None, 40, 100_000, 2_000, 50_000),
}

#: registry indicator templates (the example's three indicators): file format, contents
#: names, per, age groups and model (REGISTRY_MODEL of the example generator)
TEMPLATES = [
    {
        "model": "completion_5y", "format": "jsonstat2", "ext": "json",
        "numerator": "Fullfort", "denominator": "Startet", "per": 100,
        "effect": 4.0, "higher_is_better": True,
        "label": {"nb": "Fullført videregående innen 5 år (%)",
                  "en": "Upper secondary completed within 5 years (%)"},
    },
    {
        "model": "neet_15_29", "format": "pxweb_csv", "ext": "csv",
        "numerator": "Personer utenfor arbeid, utdanning og opplæring",
        "denominator": "Personer 15-29 år", "per": 100,
        "effect": -1.5, "higher_is_better": False,
        "label": {"nb": "Unge 15–29 utenfor arbeid og utdanning (%)",
                  "en": "NEET share age 15–29 (%)"},
    },
    {
        "model": "cw_measures_0_17", "format": "jsonstat1", "ext": "json",
        "numerator": "BarnTiltak", "denominator": "Befolkning0017", "per": 1000,
        "effect": -3.0, "higher_is_better": False, "breaks": [2016],
        "label": {"nb": "Barn 0–17 med barnevernstiltak per 1 000",
                  "en": "Children 0–17 with child-welfare measures per 1,000"},
    },
]


def _rng(seed: int, part: int) -> np.random.Generator:
    child = np.random.SeedSequence(seed).spawn(8)[part]
    return np.random.Generator(np.random.PCG64(child))


def _guid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


# --------------------------------------------------------------------------------------------
# the study


def study_kommuner(scale: Scale) -> list[str]:
    codes = sorted(valid_codes(2024))
    if scale.counties is not None:
        codes = [c for c in codes if c[:2] in scale.counties]
    return codes


def study_config(scale: Scale, seed: int) -> dict[str, Any]:
    """The study.yaml content (network, comparison, waves, scales, interviews, indicators)."""
    rng = _rng(seed, 0)
    kommuner = study_kommuner(scale)
    n_net = max(len(JOIN_YEARS), int(round(NETWORK_SHARE * len(kommuner))))
    chosen = sorted(rng.choice(len(kommuner), size=n_net, replace=False).tolist())
    # Ålesund and Haram (one code 2020–2023) are both in the network when in the study
    net = [kommuner[i] for i in chosen]
    for pair in (("1508", "1580"),):
        if all(k in kommuner for k in pair):
            net = sorted(set(net) | set(pair))
    network = {k: JOIN_YEARS[i % len(JOIN_YEARS)] for i, k in enumerate(net)}
    comparison = [k for k in kommuner if k not in network]
    scales = {}
    for name, (prefix, label) in SCALES.items():
        items = [f"{prefix}{i}" for i in range(1, ITEMS_PER_SCALE + 1)]
        scales[name] = {"label": label, "items": items, "reverse": [items[3]], "range": [1, 5]}
    indicators = {}
    for i in range(scale.indicators):
        t = TEMPLATES[i % len(TEMPLATES)]
        ind = f"{t['model']}_{i + 1:02d}"
        spec = {
            "label": {lang: f"{text} [{i + 1:02d}]" for lang, text in t["label"].items()},
            "file": f"landing/registry/{ind}.{t['ext']}",
            "numerator": t["numerator"],
            "denominator": t["denominator"],
            "per": t["per"],
            "age_group": list(syn.REGISTRY_MODEL[t["model"]]["factors"]),
            "higher_is_better": t["higher_is_better"],
        }
        if t.get("breaks"):
            spec["breaks"] = t["breaks"]
        indicators[ind] = spec
    waves = []
    for j, (wid, fw, role) in enumerate(WAVES):
        ext = "sav" if j == 0 else "csv"
        waves.append({"id": wid, "fieldwork": fw, "role": role,
                      "file": f"landing/surveys/staff_{wid}.{ext}"})
    return {
        "study": f"Benchmark study, {scale.name} scale (SYNTHETIC)",
        "synthetic": True,
        "geography_year": 2024,
        "language": "nb",
        "small_cell_threshold": 5,
        "privacy": {"demo_pseudonym_key": "benchmark-demo-key-not-secret"},
        "validation": {"max_rejected_rows": 0, "min_respondents_per_kommune": 10},
        "network": network,
        "comparison": comparison,
        "survey": {"landing": "landing/surveys", "waves": waves, "roles": ROLES,
                   "scales": scales},
        "interviews": {"files": ["landing/interviews/intervjuer.qdpx"],
                       "rounds": [{"id": r, "role": role} for r, role in ROUNDS]},
        "registry": {"indicators": indicators},
    }


# --------------------------------------------------------------------------------------------
# registry


def _units(kommuner: list[str]) -> dict[int, tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Per year: codes valid that year and the flat (code index, kommune index, share) parts."""
    kidx = {k: i for i, k in enumerate(kommuner)}
    out = {}
    for y in YEARS:
        units = syn.units_for_year(kommuner, y)
        codes = sorted(units)
        ci, ki, sh = [], [], []
        for c_no, code in enumerate(codes):
            for k, share in units[code]:
                ci.append(c_no)
                ki.append(kidx[k])
                sh.append(share)
        out[y] = (codes, np.array(ci), np.array(ki), np.array(sh))
    return out


def _registry_cells(
    rng: np.random.Generator, cfg: dict, ind: str, t: dict, units: dict, kommuner: list[str]
) -> pd.DataFrame:
    """Numerator, denominator and status symbols per (code, year), codes valid in each year."""
    model = syn.REGISTRY_MODEL[t["model"]]
    per = float(t["per"])
    pop = syn.population()
    years = np.array(YEARS)
    K = len(kommuner)
    den = np.zeros((K, len(YEARS)))
    for g, f in model["factors"].items():
        col = pop[g]
        den += f * np.array([[col.get((k, y), 0.0) for y in YEARS] for k in kommuner])
    level = rng.normal(0.0, model["level_sd"], size=(K, 1))
    noise = rng.normal(0.0, model["noise_sd"], size=(K, len(YEARS)))
    trend = np.array([model["trend"](int(y)) for y in years])[None, :]
    join = np.array([cfg["network"].get(k, 9999) for k in kommuner])[:, None]
    rate = model["base"] + level + trend + noise + t["effect"] * (years[None, :] >= join)
    rate = np.clip(rate, 0.005 * per, 0.995 * per)
    rows = []
    for j, y in enumerate(YEARS):
        codes, ci, ki, sh = units[y]
        n = np.rint(den[ki, j] * sh).astype(np.int64)
        num = rng.binomial(n, rate[ki, j] / per)
        num_c = np.bincount(ci, weights=num, minlength=len(codes)).astype(np.int64)
        den_c = np.bincount(ci, weights=n, minlength=len(codes)).astype(np.int64)
        rows.append(pd.DataFrame({"code": codes, "year": y, "num": num_c, "den": den_c}))
    cells = pd.concat(rows, ignore_index=True)
    small = (cells["num"] < 3) | (cells["den"] - cells["num"] < 3)
    cells["num_status"] = np.where(small, ":", None)
    cells["den_status"] = None
    for y in model.get("not_yet_published", []):
        cells.loc[cells["year"] == y, ["num_status", "den_status"]] = ".."
    return cells


def _cube(cells: pd.DataFrame, contents: list[str]) -> tuple[list[str], list, dict]:
    """Region × ContentsCode × Tid (row-major) values and status symbols; "." where the code
    did not exist that year."""
    codes = sorted(cells["code"].unique())
    full = pd.MultiIndex.from_product([codes, YEARS], names=["code", "year"])
    c = cells.set_index(["code", "year"]).reindex(full)
    missing = c["num"].isna().to_numpy()
    arrays = []
    for j, _content in enumerate(contents):
        if j == 0:
            val, sym = c["num"].to_numpy(float), c["num_status"].to_numpy(object)
        elif j == 1:
            val, sym = c["den"].to_numpy(float), c["den_status"].to_numpy(object)
        else:  # the published rate (Andel)
            with np.errstate(divide="ignore", invalid="ignore"):
                val = np.round(100.0 * c["num"].to_numpy(float) / c["den"].to_numpy(float), 1)
            sym = c["num_status"].to_numpy(object)
        sym = np.where(missing, ".", sym)
        arrays.append((val.reshape(len(codes), len(YEARS)), sym.reshape(len(codes), len(YEARS))))
    val = np.stack([a[0] for a in arrays], axis=1).ravel()  # code, content, year
    sym = np.stack([a[1] for a in arrays], axis=1).ravel()
    status = {str(i): s for i, s in enumerate(sym) if s is not None}
    values = [None if (s is not None or not np.isfinite(v)) else
              (int(v) if float(v).is_integer() else float(v))
              for v, s in zip(val.tolist(), sym.tolist(), strict=True)]
    return codes, values, status


def _jsonstat_dims(codes: list[str], contents: list[str], labels: dict, clabels: dict) -> dict:
    return {
        "Region": {"label": "region", "category": {
            "index": {c: i for i, c in enumerate(codes)},
            "label": {c: labels.get(c, c) for c in codes}}},
        "ContentsCode": {"label": "statistikkvariabel", "category": {
            "index": {c: i for i, c in enumerate(contents)},
            "label": {c: clabels.get(c, c) for c in contents}}},
        "Tid": {"label": "år", "category": {
            "index": {str(y): i for i, y in enumerate(YEARS)},
            "label": {str(y): str(y) for y in YEARS}}},
    }


def _write_registry(path: Path, ind: str, t: dict, cells: pd.DataFrame) -> None:
    model = syn.REGISTRY_MODEL[t["model"]]
    contents = [t["numerator"], t["denominator"]] + (["Andel"] if t["format"] == "jsonstat2"
                                                    else [])
    codes, values, status = _cube(cells, contents)
    labels = syn.code_labels()
    clabels = model.get("labels", {})
    title = f"{model['table']}: {model['title']} [{ind}], etter region, statistikkvariabel og år"
    size = [len(codes), len(contents), len(YEARS)]
    if t["format"] == "jsonstat2":
        doc = {"version": "2.0", "class": "dataset", "label": title,
               "source": "Statistisk sentralbyrå", "updated": "2026-02-16T07:00:00Z",
               "note": ["SYNTHETIC benchmark data"],
               "role": {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]},
               "id": ["Region", "ContentsCode", "Tid"], "size": size,
               "dimension": _jsonstat_dims(codes, contents, labels, clabels),
               "value": values, "status": status}
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        path.write_text(text, encoding="utf-8")
    elif t["format"] == "jsonstat1":
        dims = _jsonstat_dims(codes, contents, labels, clabels)
        dims.update({"id": ["Region", "ContentsCode", "Tid"], "size": size,
                     "role": {"geo": ["Region"], "metric": ["ContentsCode"], "time": ["Tid"]}})
        doc = {"dataset": {"status": status, "dimension": dims,
                           "label": title + " " + model.get("break_note", ""),
                           "source": "Statistisk sentralbyrå",
                           "updated": "2026-02-16T07:00:00Z", "value": values}}
        path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                        encoding="utf-8")
    else:  # PxWeb CSV download: ISO-8859-1, ';', CRLF, title line, blank line, wide years
        lines = [f'"{title}"', "",
                 ";".join(['"region"', '"statistikkvariabel"'] + [f'"{y}"' for y in YEARS])]
        idx = 0
        for code in codes:
            for content in contents:
                row = [f'"K-{code} {labels.get(code, code)}"', f'"{content}"']
                for _y in YEARS:
                    sym = status.get(str(idx))
                    row.append(sym if sym is not None else str(values[idx]))
                    idx += 1
                lines.append(";".join(row))
        path.write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-1"))


def generate_registry(dest: Path, cfg: dict, seed: int) -> dict[str, Any]:
    rng = _rng(seed, 1)
    kommuner = list(cfg["network"]) + list(cfg["comparison"])
    units = _units(kommuner)
    out: dict[str, Any] = {"indicators": 0, "cells": 0, "codes": set()}
    for i, (ind, spec) in enumerate(cfg["registry"]["indicators"].items()):
        t = TEMPLATES[i % len(TEMPLATES)]
        cells = _registry_cells(rng, cfg, ind, t, units, kommuner)
        path = dest / spec["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_registry(path, ind, t, cells)
        out["indicators"] += 1
        out["cells"] += len(cells)
        out["codes"] |= set(cells["code"])
    out["codes"] = len(out["codes"])
    return out


# --------------------------------------------------------------------------------------------
# surveys


def _survey_waves(cfg: dict, scale: Scale, seed: int, with_next: bool) -> list[pd.DataFrame]:
    """Wide survey frames, one per wave (respondent_id, wave, kommune, role, 30 items)."""
    rng = _rng(seed, 2)
    network = cfg["network"]
    kommuner = list(network) + list(cfg["comparison"])
    scales = cfg["survey"]["scales"]
    waves = WAVES + ([NEXT_WAVE] if with_next else [])
    pop = syn.population()
    size = np.array([pop.loc[(k, 2012)].sum() for k in kommuner])
    alloc = np.maximum(syn.SURVEY_MIN_PER_KOMMUNE, np.floor(scale.respondents * size / size.sum()))
    # trim the largest kommuner so each wave has exactly `respondents` answers
    excess = int(alloc.sum() - scale.respondents)
    order = np.argsort(-alloc, kind="stable")
    i = 0
    while excess != 0:
        step = 1 if excess > 0 else -1
        alloc[order[i % len(order)]] -= step
        excess -= step
        i += 1
    alloc = alloc.astype(int)
    kommuners = kommuner
    k_eff = rng.normal(0.0, syn.KOMMUNE_SD, len(kommuners))
    role_w = np.array([syn.ROLE_WEIGHTS.get(r, 0.05) for r in ROLES])
    role_w /= role_w.sum()
    role_eff = np.array([syn.ROLE_EFFECTS.get(r, 0.0) for r in ROLES])
    n_s = len(scales)
    corr = np.full((n_s, n_s), syn.PERSON_SCALE_CORR)
    np.fill_diagonal(corr, 1.0)
    chol = np.linalg.cholesky(syn.PERSON_SD**2 * corr)
    offsets = [syn._item_offsets(spec["items"], rng) for spec in scales.values()]
    join = np.array([network.get(k, 9999) for k in kommuners], dtype=float)
    is_net = np.array([k in network for k in kommuners])

    def persons(kidx: np.ndarray) -> dict[str, np.ndarray]:
        return {"k": kidx, "role": rng.choice(len(ROLES), size=len(kidx), p=role_w),
                "eff": rng.standard_normal((len(kidx), n_s)) @ chol.T}

    base_k = np.repeat(np.arange(len(kommuners)), alloc)
    base = persons(base_k)
    n_total = 0
    members = []
    for w_no, (wid, fw, _role) in enumerate(waves):
        if w_no == 0:
            p = base
            pid = np.arange(len(base_k))
            n_total = len(base_k)
        else:
            panel = np.sort(rng.choice(len(base_k), size=int(PANEL_SHARE * len(base_k)),
                                       replace=False))
            have = np.bincount(base_k[panel], minlength=len(kommuners))
            fresh_k = np.repeat(np.arange(len(kommuners)), np.maximum(alloc - have, 0))
            fresh = persons(fresh_k)
            p = {key: np.concatenate([base[key][panel], fresh[key]]) for key in base}
            pid = np.concatenate([panel, n_total + np.arange(len(fresh_k))])
            n_total += len(fresh_k)
        members.append((wid, fw, p, pid))
    ids = rng.permutation(n_total) + 1
    frames = []
    for w_no, (wid, fw, p, pid) in enumerate(members):
        year = int(fw[:4])
        n = len(pid)
        if w_no == 0:
            wave_eff = np.zeros(n)
        else:
            treated = is_net[p["k"]] & (join[p["k"]] <= year)
            wave_eff = np.where(treated, SURVEY_EFFECT, SURVEY_TREND)
        latent0 = (syn.PLANTED["survey"]["baseline_latent_mean"] + k_eff[p["k"]]
                   + role_eff[p["role"]] + wave_eff)
        cols: dict[str, Any] = {
            "respondent_id": np.char.add("R", np.char.zfill(ids[pid].astype(str), 7)),
            "wave": np.full(n, wid),
            "kommune": np.array(kommuners)[p["k"]],
            "role": np.array(ROLES)[p["role"]],
        }
        for s_no, spec in enumerate(scales.values()):
            lat = latent0 + p["eff"][:, s_no]
            raw = (lat[:, None] + offsets[s_no][None, :]
                   + rng.normal(0.0, syn.ITEM_NOISE_SD, (n, len(spec["items"]))))
            resp = np.clip(np.rint(raw), 1, 5).astype(int)
            for j, item in enumerate(spec["items"]):
                r = 6 - resp[:, j] if item in spec["reverse"] else resp[:, j]
                cols[item] = pd.array(r, dtype="Int64")
        df = pd.DataFrame(cols)
        items = [c for c in df.columns if c not in ("respondent_id", "wave", "kommune", "role")]
        mask = rng.random((n, len(items))) < syn.ITEM_NONRESPONSE
        for j, item in enumerate(items):
            df[item] = df[item].mask(mask[:, j])
        frames.append(df.sort_values("respondent_id", kind="stable").reset_index(drop=True))
    return frames


def generate_surveys(dest: Path, cfg: dict, scale: Scale, seed: int) -> dict[str, Any]:
    frames = _survey_waves(cfg, scale, seed, with_next=True)
    rng = _rng(seed, 3)
    out: dict[str, Any] = {}
    waves = cfg["survey"]["waves"] + [{"id": NEXT_WAVE[0],
                                       "file": f"next_wave/staff_{NEXT_WAVE[0]}.csv"}]
    for wave, df in zip(waves, frames, strict=True):
        path = dest / wave["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".sav":
            syn._write_sav(path, df, cfg, rng)
        else:
            syn._write_csv(path, df)
        out[wave["id"]] = {"respondents": len(df), "items": len(df.columns) - 4,
                           "kommuner": int(df["kommune"].nunique())}
    return out


def add_next_wave(study_dir: Path) -> str:
    """Make the study's next survey wave arrive: move ``next_wave/staff_<id>.csv`` into the
    landing folder and declare the wave in study.yaml (written to a temp file, then renamed).
    Returns the new wave id."""
    study_dir = Path(study_dir)
    wid, fw, role = NEXT_WAVE
    src = study_dir / "next_wave" / f"staff_{wid}.csv"
    dst = study_dir / "landing" / "surveys" / src.name
    shutil.copyfile(src, dst)
    yml = study_dir / "study.yaml"
    cfg = yaml.safe_load(yml.read_text(encoding="utf-8"))
    if wid not in [w["id"] for w in cfg["survey"]["waves"]]:
        cfg["survey"]["waves"].append({"id": wid, "fieldwork": fw, "role": role,
                                       "file": f"landing/surveys/{src.name}"})
        _write_yaml(yml, cfg)
    return wid


# --------------------------------------------------------------------------------------------
# interviews (REFI-QDA .qdpx)

_FILLER = " ".join(syn.FILLER + syn.INTRO) + " "
#: code paths with a planted shift baseline -> follow-up (relative weight in the draw)
_SHIFT = {"Felles rutiner": 2.0, "Møteplasser og strukturer": 1.8, "Barrierer/Siloer": 0.5}
SEGMENT_STEP = 160  # characters per coded answer in the synthetic transcripts


def _esc(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def generate_interviews(dest: Path, cfg: dict, scale: Scale, seed: int) -> dict[str, Any]:
    import io
    import zipfile

    rng = _rng(seed, 4)
    kommuner = list(cfg["network"]) + list(cfg["comparison"])
    leaves = [p for p, _ in syn._leaf_codes()]
    n_int = scale.interviews
    per = scale.segments // n_int
    extra = scale.segments - per * n_int  # the first `extra` interviews get one more
    users = {"Koder A": _guid(rng), "Koder B": _guid(rng)}
    code_guid: dict[str, str] = {}
    code_xml = []
    for top, children in syn.CODEBOOK.items():
        code_guid[top] = _guid(rng)
        if children:
            inner = []
            for ch in children:
                code_guid[f"{top}/{ch}"] = _guid(rng)
                inner.append(f'<Code guid="{code_guid[f"{top}/{ch}"]}" name="{_esc(ch)}" '
                             'isCodable="true"/>')
            code_xml.append(f'<Code guid="{code_guid[top]}" name="{_esc(top)}" '
                            f'isCodable="true">{"".join(inner)}</Code>')
        else:
            code_xml.append(f'<Code guid="{code_guid[top]}" name="{_esc(top)}" '
                            'isCodable="true"/>')
    var_guid = {v: _guid(rng) for v in ("kommune", "rolle", "runde")}
    w_base = np.ones(len(leaves))
    w_follow = np.array([_SHIFT.get(p, 1.0) for p in leaves])
    sources, cases, texts = [], [], {}
    double = set(rng.choice(n_int, size=int(DOUBLE_CODED_SHARE * n_int), replace=False).tolist())
    n_seg = 0
    for i in range(n_int):
        rnd, _ = ROUNDS[i % len(ROUNDS)]
        k = kommuner[int(rng.integers(len(kommuner)))]
        role = ROLES[int(rng.integers(len(ROLES)))]
        m = per + (1 if i < extra else 0)
        w = w_base if rnd == ROUNDS[0][0] else w_follow
        primary = "Koder A" if i % 2 == 0 else "Koder B"
        second = "Koder B" if primary == "Koder A" else "Koder A"
        if i in double:  # the second coder recodes the first half of the primary's answers
            n_first = m - m // 2
            plan = [(primary, j) for j in range(n_first)] + [(second, j) for j in range(m // 2)]
        else:
            plan = [(primary, j) for j in range(m)]
        n_answers = max(j for _, j in plan) + 1
        codes = rng.choice(len(leaves), size=n_answers, p=w / w.sum())
        jitter = rng.integers(-5, 6, size=(len(plan), 2))
        sg = _guid(rng)
        length = SEGMENT_STEP * n_answers + 40
        texts[sg] = (_FILLER * (length // len(_FILLER) + 1))[:length]
        sels = []
        for (coder, j), (a, b) in zip(plan, jitter, strict=True):
            start = j * SEGMENT_STEP + 20
            end = start + SEGMENT_STEP - 40
            if coder != primary:
                start, end = start + int(a), end + int(b)
            sels.append(
                f'<PlainTextSelection guid="{_guid(rng)}" startPosition="{start}" '
                f'endPosition="{end}" creatingUser="{users[coder]}">'
                f'<Coding guid="{_guid(rng)}" creatingUser="{users[coder]}">'
                f'<CodeRef targetGUID="{code_guid[leaves[codes[j]]]}"/></Coding>'
                "</PlainTextSelection>"
            )
        n_seg += len(plan)
        name = f"Intervju {rnd}-{i + 1:04d} {role} {k}"
        sources.append(f'<TextSource guid="{sg}" name="{_esc(name)}" '
                       f'plainTextPath="internal://{sg}.txt" creatingUser="{users[primary]}">'
                       + "".join(sels) + "</TextSource>")
        vals = "".join(
            f'<VariableValue><VariableRef targetGUID="{var_guid[v]}"/>'
            f"<TextValue>{_esc(x)}</TextValue></VariableValue>"
            for v, x in (("kommune", k), ("rolle", role), ("runde", rnd))
        )
        cases.append(f'<Case guid="{_guid(rng)}" name="Informant {i + 1:04d}">{vals}'
                     f'<SourceRef targetGUID="{sg}"/></Case>')
    user_xml = "".join(f'<User guid="{g}" name="{n}"/>' for n, g in users.items())
    var_xml = "".join(f'<Variable guid="{g}" name="{v}" typeOfVariable="Text"/>'
                      for v, g in var_guid.items())
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Project xmlns="{syn.QDA_NS}" name="Benchmark interviews (SYNTHETIC)" '
        'origin="benchmarks.generate (SYNTHETIC)">'
        f"<Users>{user_xml}</Users><CodeBook><Codes>{''.join(code_xml)}</Codes></CodeBook>"
        f"<Variables>{var_xml}</Variables><Cases>{''.join(cases)}</Cases>"
        f"<Sources>{''.join(sources)}</Sources>"
        "<Description>SYNTHETIC benchmark project. No real persons.</Description></Project>"
    )
    path = dest / cfg["interviews"]["files"][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    when = (2019, 12, 2, 10, 0, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(syn._zipinfo("project.qde", when), xml.encode("utf-8"))
        for sg, text in texts.items():
            zf.writestr(syn._zipinfo(f"Sources/{sg}.txt", when), text.encode("utf-8"))
    path.write_bytes(buf.getvalue())
    return {"interviews": n_int, "segments": n_seg, "double_coded": len(double)}


# --------------------------------------------------------------------------------------------
# entry points


def _write_yaml(path: Path, cfg: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        "# SYNTHETIC benchmark study written by benchmarks/generate.py: every outcome number,\n"
        "# survey answer and interview is synthetic; kommune codes and population are real.\n"
        + yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False, width=100),
        encoding="utf-8",
    )
    tmp.replace(path)


def generate(dest: Path, scale: str = "small", seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Write the benchmark study at ``scale`` into ``dest`` (created; must not exist or be
    empty). Everything is written into a temp folder next to ``dest`` and renamed at the end,
    so a failed run leaves nothing half-written. Returns a summary of what was generated."""
    if scale not in SCALES_SPEC:
        raise ValueError(f"scale must be one of {', '.join(SCALES_SPEC)}, got {scale!r}")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    spec = SCALES_SPEC[scale]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        cfg = study_config(spec, seed)
        _write_yaml(tmp / "study.yaml", cfg)
        summary: dict[str, Any] = {"scale": asdict(spec), "seed": seed,
                                   "kommuner": len(cfg["network"]) + len(cfg["comparison"]),
                                   "network": len(cfg["network"]),
                                   "years": [YEARS[0], YEARS[-1]]}
        summary["registry"] = generate_registry(tmp, cfg, seed)
        summary["surveys"] = generate_surveys(tmp, cfg, spec, seed)
        summary["interviews"] = generate_interviews(tmp, cfg, spec, seed)
        if dest.exists():
            dest.rmdir()
        tmp.chmod(0o755)
        tmp.replace(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path, help="folder to write the study into (new)")
    parser.add_argument("--scale", choices=list(SCALES_SPEC), default="small")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    summary = generate(args.dest, args.scale, args.seed)
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
