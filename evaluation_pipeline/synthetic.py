"""Deterministic generator of the SYNTHETIC example study's landing files.

Every outcome number written by this module is SYNTHETIC. Real are only the kommune codes and
names (SSB code history 1994–2024) and the population used for denominators and survey sample
sizes (SSB 07459 via FHI), read from the packaged copies in ``evaluation_pipeline/reference``.

``generate_example_study(dest)`` reads ``dest/study.yaml`` and writes, under
``dest/landing/``:

- ``registry/``: one file per registry indicator, in the formats real producers use: SSB
  PxWebApi v2 JSON-stat 2.0, a PxWeb CSV download (ISO-8859-1, ``;``, CRLF) and SSB JSON-stat
  1.0. Years 2008–2025, one column/cell per kommune code *valid in that year*: pre-2020 codes
  up to 2019, the 2020 codes 2020–2023 (1507 Ålesund then covered today's 1508 Ålesund and
  1580 Haram) and the 2024 codes from 2024. Cells of a code in a year when it did not exist are
  null with status ``.``, as SSB's statbank shows them.
- ``surveys/``: a staff survey in three waves (SPSS .sav, CSV, XLSX) with a panel subset and,
  when study.yaml has ``survey.collaboration``, the collaboration roster
  (:mod:`evaluation_pipeline.synthetic_roster`).
- ``interviews/``: one REFI-QDA project (.qdpx) with two coders and a double-coded subset.

The effects planted in the data are documented in :data:`PLANTED`. Identical ``seed`` gives
byte-identical files: every random draw comes from ``numpy.random.Generator(PCG64(...))``
seeded from ``seed``, and every timestamp embedded in a file is fixed.

Run ``python -m evaluation_pipeline.synthetic examples/sunnmore`` to regenerate the shipped
example.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import re
import sys
import uuid
import xml.etree.ElementTree as ET
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

# openpyxl serialises XLSX differently when lxml is installed (pulled in by some optional
# packages); the byte-identical landing files need its own writer, chosen at its import.
os.environ.setdefault("OPENPYXL_LXML", "False")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from . import synthetic_roster as roster  # noqa: E402

REFERENCE = Path(__file__).resolve().parent / "reference"
POPULATION_FILE = REFERENCE / "population_0-29_by_kommune_2005-2026.csv.gz"
HISTORY_FILE = REFERENCE / "kommune_code_history_1994-2024.xlsx"

DEFAULT_SEED = 20131
#: registry years written to the landing files
YEARS = tuple(range(2008, 2026))
#: first year with the 2020 codes and first year with the 2024 codes
REFORM_2020 = 2020
REFORM_2024 = 2024
#: the example study's survey roles and waves (the planted roster density is stated for them)
ROLES = ("skole", "barnehage", "PPT", "barnevern", "helsestasjon", "NAV", "politi", "BUP")
WAVES = ("w2012", "w2016", "w2019")

#: The effects planted in the SYNTHETIC data (what a correct analysis should recover).
#:
#: survey: change of the latent scale score (1–5 metric) from the baseline wave w2012 in the
#: network kommuner; the comparison kommuner get the secular ``comparison_trend`` at each
#: follow-up (not cumulative), so network-minus-comparison (``did``) = effect - trend.
#: registry: additive effect on the rate (completion and NEET in percentage points, child
#: welfare per 1,000 children 0–17) in a network kommune from its join year on.
#: interviews: share of interviews (of 20 per round) whose primary coding contains the theme.
#: collaboration: the roster's planted change (latent frequency, 1–5 metric) and the density of
#: regular ties it implies by group and wave (see :mod:`evaluation_pipeline.synthetic_roster`).
PLANTED: dict[str, Any] = {
    "survey": {
        "samarbeid": {"w2016": 0.50, "w2019": 0.70},
        "felles_forstaelse": {"w2016": 0.30, "w2019": 0.40},
        "comparison_trend": {"w2016": 0.10, "w2019": 0.10},
        "did": {
            "samarbeid": {"w2016": 0.40, "w2019": 0.60},
            "felles_forstaelse": {"w2016": 0.20, "w2019": 0.30},
        },
        "baseline_latent_mean": 2.9,
        "panel_share": {"w2016": 0.30, "w2019": 0.20},
    },
    "registry": {
        "completion_5y": 4.0,
        "neet_15_29": -1.5,
        "cw_measures_0_17": -3.0,
    },
    "interviews": {
        "Felles rutiner": {"i2013": 0.30, "i2019": 0.75},
        "Møteplasser og strukturer": {"i2013": 0.35, "i2019": 0.70},
        "Barrierer/Siloer": {"i2013": 0.60, "i2019": 0.30},
        "flat": {
            "Felles målforståelse": 0.60,
            "Ledelse og ansvar": 0.50,
            "Barrierer/Taushetsplikt": 0.45,
            "Barrierer/Kapasitet": 0.50,
            "Barrierer/Turnover": 0.30,
            "Brukermedvirkning": 0.40,
            "Opplæring og refleksjon": 0.40,
        },
        "interviews_per_round": 20,
        "double_coded": 8,
        "agreement_code_presence": 0.85,
    },
    "collaboration": {
        **roster.PLANTED,
        "density": roster.model_density(list(ROLES), list(WAVES), WAVES[0]),
    },
}

# --------------------------------------------------------------------------------------------
# small helpers


def _rng(seed: int, part: int) -> np.random.Generator:
    """An independent generator per part of the study (0 registry, 1 survey, 2 interviews,
    3 survey "don't know" codes, 4 collaboration roster). Child ``part`` of the seed's
    SeedSequence is the same however many children are spawned, so a new part leaves the
    draws of the others unchanged."""
    child = np.random.SeedSequence(seed).spawn(5)[part]
    return np.random.Generator(np.random.PCG64(child))


def _guid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _repack_zip(raw: bytes, date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """Rewrite a zip archive with a fixed timestamp on every entry (byte-identical reruns)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(_zipinfo(info.filename, date_time), src.read(info.filename))
    return out.getvalue()


def _zipinfo(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


# --------------------------------------------------------------------------------------------
# reference data: kommune code history and population

_YEARS_RE = re.compile(r"\((\d{4})?-(\d{4})?\)\s*$")

#: 2024 kommuner that in some years were part of a code of another 2024 kommune's group:
#: Haram (1580) was part of 1507 Ålesund in 2020–2023 (SSB groups 1507 under 1508 only).
PART_OF: dict[str, tuple[str, int, int]] = {"1580": ("1507", 2020, 2023)}

#: Fixed SYNTHETIC shares used to split a 2024 kommune's denominator across the older codes it
#: was made of (rounded approximations of the 2019 population shares; deterministic).
SPLIT_SHARES: dict[str, float] = {
    # 1508 Ålesund before 2020
    "1504": 0.85,
    "1529": 0.085,
    "1523": 0.04,
    "1546": 0.025,
    # 1577 Volda before 2020
    "1519": 0.89,
    "1444": 0.11,
    # 1506 Molde before 2020
    "1502": 0.84,
    "1543": 0.09,
    "1545": 0.07,
    # 1579 Hustadvika before 2020
    "1548": 0.74,
    "1551": 0.26,
}

#: 2024 kommuner whose pre-2024 population in the FHI file is an equal split of their
#: combined area (see reference/ATTRIBUTION.md); re-allocated here by the 2024 shares.
EQUAL_SPLIT_POPULATION = ("1508", "1580")


@lru_cache(maxsize=1)
def code_history() -> pd.DataFrame:
    """Kommune codes with 2024 kommune (``group``), SSB label and years of validity."""
    raw = pd.read_excel(HISTORY_FILE, dtype=str)
    raw = raw[raw["GRUPPEKODE"].str.fullmatch(r"K\.\d{4}", na=False)]
    years = raw["TEKST"].str.extract(_YEARS_RE)
    df = pd.DataFrame(
        {
            "group": raw["GRUPPEKODE"].str[2:].to_numpy(),
            "code": raw["KODE"].str.strip().to_numpy(),
            "label": raw["TEKST"].str.replace(r"\s+", " ", regex=True).str.strip().to_numpy(),
            "valid_from": pd.to_numeric(years[0]).fillna(0).astype(int).to_numpy(),
            "valid_to": pd.to_numeric(years[1]).fillna(9999).astype(int).to_numpy(),
        }
    )
    # a code without years is the current one: valid from the year after its predecessors
    for i, row in df.iterrows():
        if row["valid_from"] == 0 and row["valid_to"] == 9999:
            others = df[(df["group"] == row["group"]) & (df["code"] != row["code"])]
            ended = others["valid_to"][others["valid_to"] < 9999]
            start = int(ended.max()) + 1 if len(ended) else 0
            if row["code"] in PART_OF:
                start = max(start, PART_OF[row["code"]][2] + 1)
            df.loc[i, "valid_from"] = start
    return df


@lru_cache(maxsize=1)
def _history_rows() -> tuple[tuple[str, str, int, int], ...]:
    h = code_history()
    return tuple(
        zip(
            h["group"],
            h["code"],
            h["valid_from"].astype(int),
            h["valid_to"].astype(int),
            strict=True,
        )
    )


def units_for_year(kommuner: list[str], year: int) -> dict[str, list[tuple[str, float]]]:
    """Kommune codes valid in ``year`` -> the (2024 kommune, share) parts they are made of."""
    units: dict[str, list[tuple[str, float]]] = {}
    for k in kommuner:
        codes = [c for g, c, lo, hi in _history_rows() if g == k and lo <= year <= hi]
        if not codes and k in PART_OF and PART_OF[k][1] <= year <= PART_OF[k][2]:
            codes = [PART_OF[k][0]]
        if not codes:
            raise ValueError(f"no valid kommune code for {k} in {year}")
        if len(codes) == 1:
            shares = [1.0]
        elif all(c in SPLIT_SHARES for c in codes):
            shares = [SPLIT_SHARES[c] for c in codes]
        else:
            shares = [1.0 / len(codes)] * len(codes)
        for code, share in zip(codes, shares, strict=True):
            units.setdefault(code, []).append((k, share))
    return units


def code_labels() -> dict[str, str]:
    """Kommune code -> SSB label such as "Ålesund (2020-2023)"."""
    hist = code_history()
    return dict(zip(hist["code"], hist["label"], strict=True))


@lru_cache(maxsize=1)
def population() -> pd.DataFrame:
    """Population (both sexes) by 2024 kommune code, year and age group; wide on age group.

    For 1508 Ålesund and 1580 Haram before 2024 the combined figure is re-allocated by each
    kommune's 2024 share of the combined population, per age group.
    """
    pop = pd.read_csv(
        POPULATION_FILE, usecols=["location_code", "calyear", "age_group", "sex", "pop_jan1_n"]
    )
    pop = pop[pop["sex"] == "total"]
    pop = pop.assign(kommune=pop["location_code"].str[-4:])
    wide = pop.pivot_table(
        index=["kommune", "calyear"], columns="age_group", values="pop_jan1_n", aggfunc="sum"
    ).astype(float)
    wide.columns.name = None
    pair = list(EQUAL_SPLIT_POPULATION)
    base = wide.loc[[(k, REFORM_2024) for k in pair]]
    shares = base.div(base.sum(axis=0), axis=1)
    years = sorted(y for y in wide.index.get_level_values("calyear").unique() if y < REFORM_2024)
    for y in years:
        combined = wide.loc[[(k, y) for k in pair]].sum(axis=0)
        for k in pair:
            wide.loc[(k, y)] = combined * shares.loc[(k, REFORM_2024)]
    return wide


# --------------------------------------------------------------------------------------------
# registry


#: model of each registry indicator: rate in units of ``per``; denominator = sum of the
#: population of the age groups times a factor (completion: one birth cohort of 16–18;
#: NEET: 16–29 scaled to 15–29; child welfare 0–17: 0–15 plus two thirds of 16–18).
REGISTRY_MODEL: dict[str, dict[str, Any]] = {
    "completion_5y": {
        "format": "jsonstat2",
        "table": "12971",
        "title": "Fullført videregående opplæring innen 5 år (SYNTHETIC)",
        "base": 75.0,
        "level_sd": 4.0,
        "noise_sd": 0.8,
        "trend": lambda y: 0.45 * (y - 2016) - 0.015 * (y - 2016) ** 2,
        "factors": {"016_018": 1 / 3},
        "labels": {
            "Fullfort": "Fullført innen 5 år (personer)",
            "Startet": "Startet i videregående opplæring (personer)",
            "Andel": "Andel fullført innen 5 år (prosent)",
        },
    },
    "neet_15_29": {
        "format": "pxweb_csv",
        "table": "13563",
        "title": "Personer 15-29 år utenfor arbeid, utdanning og opplæring (SYNTHETIC)",
        "base": 8.0,
        "level_sd": 1.2,
        "noise_sd": 0.3,
        "trend": lambda y: -0.06 * (y - 2016) + 0.8 * np.exp(-(((y - 2020.5) / 1.2) ** 2)),
        "factors": {"016_018": 15 / 14, "019_024": 15 / 14, "025_029": 15 / 14},
        "not_yet_published": [2025],
    },
    "cw_measures_0_17": {
        "format": "jsonstat1",
        "table": "09050",
        "title": "Barn 0-17 år med barnevernstiltak i løpet av året (SYNTHETIC)",
        "base": 30.0,
        "level_sd": 5.0,
        "noise_sd": 1.0,
        # the counting rule changed in 2016: a common level shift for every kommune
        "trend": lambda y: -0.25 * (y - 2016) + (2.0 if y >= 2016 else 0.0),
        "factors": {"000_005": 1.0, "006_012": 1.0, "013_015": 1.0, "016_018": 2 / 3},
        "labels": {
            "BarnTiltak": "Barn med barnevernstiltak 0-17 år (personer)",
            "Befolkning0017": "Befolkning 0-17 år (personer)",
        },
        # one or two cells SSB marks "." (figure not available) although the code was valid
        "not_available": [("1545", 2011), ("1557", 2009)],
        "break_note": "Brudd i tidsserien fra 2016: ny telleregel for barnevernstiltak.",
    },
}


def _registry_truth(
    rng: np.random.Generator, study: dict, indicator: str
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    """Rate (in units of ``per``) and denominator by (2024 kommune, year)."""
    model = REGISTRY_MODEL[indicator]
    spec = study["registry"]["indicators"][indicator]
    per = float(spec.get("per", 100))
    network = {str(k): int(v) for k, v in study["network"].items()}
    kommuner = list(network) + [str(c) for c in study["comparison"]]
    effect = PLANTED["registry"][indicator]
    pop = population()
    factors = model["factors"]
    unknown = set(spec["age_group"]) ^ set(factors)
    if unknown:
        raise ValueError(f"{indicator}: age groups {sorted(unknown)} do not match the model")
    rate: dict[tuple[str, int], float] = {}
    den: dict[tuple[str, int], float] = {}
    levels = rng.normal(0.0, model["level_sd"], size=len(kommuner))
    noise = rng.normal(0.0, model["noise_sd"], size=(len(kommuner), len(YEARS)))
    for i, k in enumerate(kommuner):
        for j, y in enumerate(YEARS):
            r = model["base"] + levels[i] + model["trend"](y) + noise[i, j]
            if k in network and y >= network[k]:
                r += effect
            rate[(k, y)] = float(np.clip(r, 0.005 * per, 0.995 * per))
            row = pop.loc[(k, y)]
            den[(k, y)] = float(sum(row[g] * f for g, f in factors.items()))
    return rate, den


def _registry_cells(rng: np.random.Generator, study: dict, indicator: str) -> dict[str, Any]:
    """Numerator, denominator and status per (code, year) with codes valid in each year."""
    spec = study["registry"]["indicators"][indicator]
    model = REGISTRY_MODEL[indicator]
    per = float(spec.get("per", 100))
    kommuner = [str(k) for k in study["network"]] + [str(c) for c in study["comparison"]]
    rate, den = _registry_truth(rng, study, indicator)
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for y in YEARS:
        for code, parts in sorted(units_for_year(kommuner, y).items()):
            num_total = 0
            den_total = 0
            for k, share in parts:
                n = int(round(den[(k, y)] * share))
                num_total += int(rng.binomial(n, rate[(k, y)] / per))
                den_total += n
            # small cells: fewer than 3 with, or fewer than 3 without, the outcome
            status = ":" if num_total < 3 or den_total - num_total < 3 else None
            cells[(code, y)] = {
                "num": num_total,
                "den": den_total,
                "num_status": status,
                "den_status": None,
            }
    for code, y in model.get("not_available", []):
        if (code, y) in cells:
            cells[(code, y)]["num_status"] = "."
    for y in model.get("not_yet_published", []):
        for (_code, yy), cell in cells.items():
            if yy == y:
                cell["num_status"] = ".."
                cell["den_status"] = ".."
    codes = sorted({c for c, _ in cells})
    return {"cells": cells, "codes": codes, "per": per}


def _cube(indicator: str, study: dict, reg: dict) -> tuple[list[str], list[str], list, dict]:
    """Region x ContentsCode x Tid cube (row-major) of values and status symbols."""
    spec = study["registry"]["indicators"][indicator]
    contents = [spec["numerator"], spec["denominator"]]
    with_rate = indicator == "completion_5y"
    if with_rate:
        contents.append("Andel")
    values: list = []
    status: dict[str, str] = {}
    idx = 0
    for code in reg["codes"]:
        for content in contents:
            for y in YEARS:
                cell = reg["cells"].get((code, y))
                if cell is None:
                    val, sym = None, "."
                elif content == spec["numerator"]:
                    val, sym = cell["num"], cell["num_status"]
                elif content == spec["denominator"]:
                    val, sym = cell["den"], cell["den_status"]
                else:
                    sym = cell["num_status"] or cell["den_status"]
                    val = round(100.0 * cell["num"] / cell["den"], 1) if cell["den"] else None
                    if val is None and sym is None:
                        sym = "."
                if sym is not None:
                    val = None
                    status[str(idx)] = sym
                values.append(val)
                idx += 1
    return reg["codes"], contents, values, status


_UPDATED = "2026-02-16T07:00:00Z"
_SYNTH_NOTE = (
    "SYNTHETIC: alle tall i denne tabellen er syntetiske (generert av "
    "evaluation_pipeline.synthetic med innplantede effekter). Kommunenummer og -navn er "
    "ekte (SSB), nevnere bygger på ekte folketall (SSB 07459 via FHI)."
)
_CODE_NOTE = (
    "Kommuner vises med nummeret som gjaldt det enkelte år. Celler for et nummer i år da det "
    "ikke var i bruk er tomme med symbolet «.»."
)


def _write_jsonstat2(path: Path, indicator: str, study: dict, reg: dict) -> None:
    model = REGISTRY_MODEL[indicator]
    codes, contents, values, status = _cube(indicator, study, reg)
    labels = code_labels()
    content_labels = {c: model["labels"].get(c, c) for c in contents}
    units = {
        c: {"base": "prosent" if c == "Andel" else "personer", "decimals": 1 if c == "Andel" else 0}
        for c in contents
    }
    doc: dict[str, Any] = {
        "version": "2.0",
        "class": "dataset",
        "label": f"{model['table']}: {model['title']}, etter region, statistikkvariabel og år",
        "source": "Statistisk sentralbyrå",
        "updated": _UPDATED,
        "note": [_SYNTH_NOTE, _CODE_NOTE],
        "role": {"time": ["Tid"], "geo": ["Region"], "metric": ["ContentsCode"]},
        "id": ["Region", "ContentsCode", "Tid"],
        "size": [len(codes), len(contents), len(YEARS)],
        "dimension": {
            "Region": {
                "label": "region",
                "category": {
                    "index": {c: i for i, c in enumerate(codes)},
                    "label": {c: labels[c] for c in codes},
                },
                "extension": {"elimination": False, "show": "code_value"},
            },
            "ContentsCode": {
                "label": "statistikkvariabel",
                "category": {
                    "index": {c: i for i, c in enumerate(contents)},
                    "label": content_labels,
                    "unit": units,
                },
                "extension": {"elimination": False, "show": "value"},
            },
            "Tid": {
                "label": "år",
                "category": {
                    "index": {str(y): i for i, y in enumerate(YEARS)},
                    "label": {str(y): str(y) for y in YEARS},
                },
                "extension": {"elimination": False, "show": "code"},
            },
        },
        "extension": {
            "px": {
                "tableid": model["table"],
                "decimals": 1,
                "language": "no",
                "official-statistics": False,
                "contents": f"{model['title']}",
                "heading": ["ContentsCode", "Tid"],
                "stub": ["Region"],
            },
            "synthetic": True,
        },
        "value": values,
        "status": status,
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _write_jsonstat1(path: Path, indicator: str, study: dict, reg: dict) -> None:
    model = REGISTRY_MODEL[indicator]
    codes, contents, values, status = _cube(indicator, study, reg)
    labels = code_labels()
    doc = {
        "dataset": {
            "status": status,
            "dimension": {
                "Region": {
                    "label": "region",
                    "category": {
                        "index": {c: i for i, c in enumerate(codes)},
                        "label": {c: labels[c] for c in codes},
                    },
                },
                "ContentsCode": {
                    "label": "statistikkvariabel",
                    "category": {
                        "index": {c: i for i, c in enumerate(contents)},
                        "label": {c: model["labels"].get(c, c) for c in contents},
                        "unit": {c: {"base": "personer", "decimals": 0} for c in contents},
                    },
                },
                "Tid": {
                    "label": "år",
                    "category": {
                        "index": {str(y): i for i, y in enumerate(YEARS)},
                        "label": {str(y): str(y) for y in YEARS},
                    },
                },
                "id": ["Region", "ContentsCode", "Tid"],
                "size": [len(codes), len(contents), len(YEARS)],
                "role": {"geo": ["Region"], "metric": ["ContentsCode"], "time": ["Tid"]},
            },
            "label": (
                f"{model['table']}: {model['title']}, etter region, statistikkvariabel "
                "og år. " + model.get("break_note", "") + " " + _SYNTH_NOTE
            ),
            "source": "Statistisk sentralbyrå",
            "updated": _UPDATED,
            "value": values,
        }
    }
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _write_pxweb_csv(path: Path, indicator: str, study: dict, reg: dict) -> None:
    model = REGISTRY_MODEL[indicator]
    codes, contents, values, status = _cube(indicator, study, reg)
    labels = code_labels()
    lines = [
        f'"{model["table"]}: {model["title"]}, etter region, statistikkvariabel og år"',
        "",
        ";".join(['"region"', '"statistikkvariabel"'] + [f'"{y}"' for y in YEARS]),
    ]
    idx = 0
    for code in codes:
        for content in contents:
            cells = [f'"K-{code} {labels[code]}"', f'"{content}"']
            for _y in YEARS:
                sym = status.get(str(idx))
                cells.append(sym if sym is not None else str(values[idx]))
                idx += 1
            lines.append(";".join(cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-1"))


_REGISTRY_WRITERS = {
    "jsonstat2": _write_jsonstat2,
    "jsonstat1": _write_jsonstat1,
    "pxweb_csv": _write_pxweb_csv,
}


def _generate_registry(dest: Path, study: dict, seed: int) -> dict[str, Any]:
    rng = _rng(seed, 0)
    summary: dict[str, Any] = {}
    for indicator, spec in study["registry"]["indicators"].items():
        if indicator not in REGISTRY_MODEL:
            raise ValueError(f"no synthetic model for registry indicator {indicator!r}")
        reg = _registry_cells(rng, study, indicator)
        path = dest / spec["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        fmt = REGISTRY_MODEL[indicator]["format"]
        _REGISTRY_WRITERS[fmt](path, indicator, study, reg)
        symbols: dict[str, int] = {}
        for cell in reg["cells"].values():
            for s in (cell["num_status"], cell["den_status"]):
                if s:
                    symbols[s] = symbols.get(s, 0) + 1
        summary[indicator] = {
            "file": spec["file"],
            "format": fmt,
            "codes": reg["codes"],
            "cells_valid": len(reg["cells"]),
            "status_in_valid_cells": symbols,
        }
    return summary


# --------------------------------------------------------------------------------------------
# survey

ITEM_WORDING: dict[str, str] = {
    "sam1": "Vi samarbeider godt med andre tjenester om barn og unge som trenger hjelp",
    "sam2": "Jeg vet hvem jeg skal kontakte i andre tjenester når jeg er bekymret for et barn",
    "sam3": "Informasjon deles raskt nok mellom tjenestene",
    "sam4": "Barn og familier blir ofte kasteballer mellom tjenestene",
    "sam5": "Vi har faste møteplasser med de andre tjenestene",
    "sam6": "Tiltakene rundt barnet henger godt sammen",
    "ff1": "Tjenestene har en felles forståelse av målene i arbeidet med utsatte barn og unge",
    "ff2": "Jeg kjenner til de andre tjenestenes mandat og oppgaver",
    "ff3": "Tjenestene drar ofte i ulike retninger i arbeidet med samme barn",
    "ff4": "Ledelsen formidler tydelig hva samarbeidet skal oppnå",
    "ff5": "Vi har felles rutiner for å melde og følge opp bekymring",
}
LIKERT_LABELS = {
    1: "Helt uenig",
    2: "Litt uenig",
    3: "Verken enig eller uenig",
    4: "Litt enig",
    5: "Helt enig",
}
DONT_KNOW = 9
ROLE_WEIGHTS = {
    "skole": 0.30,
    "barnehage": 0.20,
    "helsestasjon": 0.12,
    "NAV": 0.10,
    "barnevern": 0.10,
    "PPT": 0.08,
    "politi": 0.05,
    "BUP": 0.05,
}
ROLE_EFFECTS = {
    "skole": 0.0,
    "barnehage": 0.05,
    "helsestasjon": 0.05,
    "NAV": -0.08,
    "barnevern": -0.05,
    "PPT": 0.0,
    "politi": 0.03,
    "BUP": -0.08,
}
SURVEY_SIZE = 1500
SURVEY_MIN_PER_KOMMUNE = 15
ITEM_NONRESPONSE = 0.02
DONT_KNOW_SHARE = 0.01
KOMMUNE_SD = 0.15
PERSON_SD = 0.45
PERSON_SCALE_CORR = 0.6
ITEM_NOISE_SD = 0.6


def _item_offsets(items: list[str], rng: np.random.Generator) -> np.ndarray:
    off = rng.normal(0.0, 0.12, size=len(items))
    return off - off.mean()


def _survey_frames(study: dict, seed: int) -> list[pd.DataFrame]:
    rng = _rng(seed, 1)
    sv = study["survey"]
    waves = [w["id"] for w in sv["waves"]]
    baseline = next(w["id"] for w in sv["waves"] if w.get("role") == "baseline")
    roles = list(sv["roles"])
    weights = np.array([ROLE_WEIGHTS.get(r, 0.05) for r in roles])
    weights = weights / weights.sum()
    network = [str(k) for k in study["network"]]
    kommuner = network + [str(c) for c in study["comparison"]]
    scales = sv["scales"]
    # sample sizes: proportional to the population 0-29 in the baseline year, at least 15
    base_year = int(str(sv["waves"][0]["fieldwork"])[:4])
    pop = population()
    size = np.array([pop.loc[(k, base_year)].sum() for k in kommuner])
    alloc = np.maximum(SURVEY_MIN_PER_KOMMUNE, np.round(SURVEY_SIZE * size / size.sum()))
    k_effect = dict(zip(kommuner, rng.normal(0.0, KOMMUNE_SD, len(kommuner)), strict=True))
    offsets = {s: _item_offsets(spec["items"], rng) for s, spec in scales.items()}

    # wave effects by scale: network = PLANTED, comparison = secular trend
    def wave_effect(scale: str, kommune: str, wave: str) -> float:
        if wave == baseline:
            return 0.0
        if kommune in network:
            return PLANTED["survey"][scale][wave]
        return PLANTED["survey"]["comparison_trend"][wave]

    n_scales = len(scales)
    corr = np.full((n_scales, n_scales), PERSON_SCALE_CORR)
    np.fill_diagonal(corr, 1.0)
    chol = np.linalg.cholesky(PERSON_SD**2 * corr)
    persons: list[dict[str, Any]] = []

    def new_person(kommune: str) -> dict[str, Any]:
        role = roles[int(rng.choice(len(roles), p=weights))]
        eff = chol @ rng.standard_normal(n_scales)
        p = {
            "kommune": kommune,
            "role": role,
            "person": dict(zip(scales, eff, strict=True)),
            "idx": len(persons),
        }
        persons.append(p)
        return p

    def centre(members: list[dict[str, Any]], new: list[dict[str, Any]]) -> None:
        # shift the new persons' effects so that the person effects average exactly zero in
        # each group (network / comparison) of the wave: the sample then shows the planted
        # change up to item noise (person sd unchanged, no bias)
        for in_network in (True, False):
            grp = [p for p in members if (p["kommune"] in network) == in_network]
            fresh = [p for p in new if (p["kommune"] in network) == in_network]
            if not fresh:
                continue
            for s in scales:
                shift = sum(p["person"][s] for p in grp) / len(fresh)
                for p in fresh:
                    p["person"][s] -= shift

    waves_members: dict[str, list[dict[str, Any]]] = {}
    base_members: list[dict[str, Any]] = []
    for k, n in zip(kommuner, alloc, strict=True):
        base_members += [new_person(k) for _ in range(int(n))]
    centre(base_members, base_members)
    waves_members[baseline] = base_members
    for w in waves:
        if w == baseline:
            continue
        share = PLANTED["survey"]["panel_share"].get(w, 0.0)
        n_panel = int(round(share * len(base_members)))
        panel_idx = set(rng.choice(len(base_members), size=n_panel, replace=False).tolist())
        members: list[dict[str, Any]] = []
        fresh: list[dict[str, Any]] = []
        for k, n in zip(kommuner, alloc, strict=True):
            target = int(round(n * rng.uniform(0.92, 1.08)))
            panel_k = [
                p for i, p in enumerate(base_members) if i in panel_idx and p["kommune"] == k
            ]
            new_k = [new_person(k) for _ in range(max(0, target - len(panel_k)))]
            members += panel_k + new_k
            fresh += new_k
        centre(members, fresh)
        waves_members[w] = members
    ids = rng.permutation(len(persons)) + 1
    frames = []
    for w in waves:
        rows = []
        for p in waves_members[w]:
            row: dict[str, Any] = {
                "respondent_id": f"R{ids[p['idx']]:06d}",
                "wave": w,
                "kommune": p["kommune"],
                "role": p["role"],
            }
            for s, spec in scales.items():
                latent = (
                    PLANTED["survey"]["baseline_latent_mean"]
                    + k_effect[p["kommune"]]
                    + ROLE_EFFECTS.get(p["role"], 0.0)
                    + p["person"][s]
                    + wave_effect(s, p["kommune"], w)
                )
                lo, hi = spec.get("range", [1, 5])
                raw = latent + offsets[s] + rng.normal(0.0, ITEM_NOISE_SD, len(spec["items"]))
                resp = np.clip(np.round(raw), lo, hi).astype(int)
                for item, r in zip(spec["items"], resp, strict=True):
                    row[item] = int(lo + hi - r) if item in spec.get("reverse", []) else int(r)
            rows.append(row)
        df = pd.DataFrame(rows)
        df = df.sort_values("respondent_id", kind="stable").reset_index(drop=True)
        items = [i for spec in scales.values() for i in spec["items"]]
        mask = rng.random((len(df), len(items))) < ITEM_NONRESPONSE
        for j, item in enumerate(items):
            df[item] = df[item].astype("Int64").mask(mask[:, j])
        frames.append(df)
    return frames


_SAV_DATE = b"15 Nov 12"
_SAV_TIME = b"12:00:00"


def _write_sav(path: Path, df: pd.DataFrame, study: dict, rng: np.random.Generator) -> None:
    import pyreadstat

    scales = study["survey"]["scales"]
    items = [i for spec in scales.values() for i in spec["items"]]
    roles = list(study["survey"]["roles"])
    collab = study["survey"].get("collaboration") or {}
    blocks = [
        (collab[b]["items"], labels, wording)
        for b, labels, wording in (
            ("frequency", roster.FREQUENCY_LABELS, roster.FREQUENCY_WORDING),
            ("quality", roster.QUALITY_LABELS, roster.QUALITY_WORDING),
        )
        if collab.get(b)
    ]
    roster_items = [i for block, _, _ in blocks for i in block if i in df.columns]
    out = pd.DataFrame(
        {
            "respondent_id": df["respondent_id"],
            "wave": df["wave"],
            "kommune": df["kommune"].astype(int).astype(float),
            "role": df["role"].map({r: i + 1 for i, r in enumerate(roles)}).astype(float),
        }
    )
    for item in items:
        col = df[item].astype("float64")
        dont_know = (rng.random(len(col)) < DONT_KNOW_SHARE) & col.notna().to_numpy()
        out[item] = col.mask(dont_know, float(DONT_KNOW))
    for item in roster_items:  # no "don't know" code: empty = system missing
        out[item] = df[item].astype("float64")
    kommuner = sorted(df["kommune"].unique())
    value_labels: dict[str, dict[int | float, str]] = {
        "kommune": {int(k): k for k in kommuner},
        "role": {i + 1: r for i, r in enumerate(roles)},
    }
    for item in items:
        value_labels[item] = {**LIKERT_LABELS, DONT_KNOW: "Vet ikke"}
    labels = {
        "respondent_id": "Respondent-ID (SYNTHETIC)",
        "wave": "Bølge",
        "kommune": "Kommunenummer (verdietikett = firesifret kommunenummer)",
        "role": "Tjeneste / rolle",
    }
    labels.update({i: ITEM_WORDING.get(i, i) for i in items})
    for block, value_text, wording in blocks:
        for item, service in block.items():
            if item in roster_items:
                value_labels[item] = dict(value_text)
                labels[item] = wording.format(service=service)
    pyreadstat.write_sav(
        out,
        str(path),
        file_label="SYNTHETIC staff survey (example study)",
        column_labels=labels,
        note="SYNTHETIC data generated by evaluation_pipeline.synthetic; no real respondents.",
        variable_value_labels=value_labels,
        missing_ranges={i: [DONT_KNOW] for i in items},
        variable_measure={
            **{i: "ordinal" for i in items + roster_items},
            "kommune": "nominal",
            "role": "nominal",
        },
        variable_format={
            **{i: "F1.0" for i in items + roster_items},
            "kommune": "F4.0",
            "role": "F1.0",
        },
    )
    raw = bytearray(path.read_bytes())
    # the .sav header embeds the creation date and time (offsets 92 and 101): fix them
    if raw[:4] not in (b"$FL2", b"$FL3"):
        raise RuntimeError("unexpected .sav header")
    raw[92:101] = _SAV_DATE
    raw[101:109] = _SAV_TIME
    path.write_bytes(bytes(raw))


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    text = df.to_csv(sep=";", index=False, lineterminator="\r\n", na_rep="")
    path.write_bytes(text.encode("utf-8"))


def _write_xlsx(path: Path, df: pd.DataFrame, sheet: str, when: dt.datetime) -> None:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append(
            [None if pd.isna(v) else (int(v) if isinstance(v, np.integer) else v) for v in row]
        )
    wb.properties.creator = "evaluation_pipeline.synthetic (SYNTHETIC)"
    wb.properties.title = "SYNTHETIC staff survey"
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    archive = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    ExcelWriter(wb, archive).save()  # like openpyxl's save_workbook without its "now"
    path.write_bytes(_repack_zip(buf.getvalue(), when.timetuple()[:6]))


def _generate_surveys(dest: Path, study: dict, seed: int) -> dict[str, Any]:
    frames = _survey_frames(study, seed)
    if study["survey"].get("collaboration"):
        frames = roster.roster_answers(frames, study, _rng(seed, 4))
    rng = _rng(seed, 3)
    summary: dict[str, Any] = {}
    for wave, df in zip(study["survey"]["waves"], frames, strict=True):
        path = dest / wave["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        suffix = path.suffix.lower()
        if suffix == ".sav":
            _write_sav(path, df, study, rng)
        elif suffix == ".csv":
            _write_csv(path, df)
        elif suffix == ".xlsx":
            fw = dt.date.fromisoformat(str(wave["fieldwork"]))
            when = dt.datetime(fw.year, fw.month, fw.day, 12, 0, 0) + dt.timedelta(days=30)
            _write_xlsx(path, df, wave["id"], when)
        else:
            raise ValueError(f"no synthetic writer for survey file {path.name}")
        summary[wave["id"]] = {
            "file": wave["file"],
            "rows": len(df),
            "kommuner": int(df["kommune"].nunique()),
        }
    ids = [set(df["respondent_id"]) for df in frames]
    for i in range(1, len(frames)):
        summary[study["survey"]["waves"][i]["id"]]["panel_from_baseline"] = len(ids[0] & ids[i])
    return summary


# --------------------------------------------------------------------------------------------
# interviews (REFI-QDA .qdpx)

QDA_NS = "urn:QDA-XML:project:1.0"

#: codebook: top-level theme -> children (Norwegian names), with a colour each
CODEBOOK: dict[str, list[str]] = {
    "Felles målforståelse": [],
    "Felles rutiner": [],
    "Ledelse og ansvar": [],
    "Møteplasser og strukturer": [],
    "Barrierer": ["Taushetsplikt", "Siloer", "Kapasitet", "Turnover"],
    "Brukermedvirkning": [],
    "Opplæring og refleksjon": [],
}
CODE_COLORS = ["#1F77B4", "#2CA02C", "#9467BD", "#FF7F0E", "#D62728", "#17BECF", "#8C564B"]
CODE_DESCRIPTIONS = {
    "Felles målforståelse": "Tjenestene har en felles forståelse av mål og visjoner.",
    "Felles rutiner": "Felles rutiner, planer og maler for samarbeid rundt barnet.",
    "Ledelse og ansvar": "Ledere tar ansvar; det er avklart hvem som koordinerer.",
    "Møteplasser og strukturer": "Faste tverrfaglige møteplasser og strukturer.",
    "Barrierer": "Forhold som hindrer samarbeid (kan vokse tilbake).",
    "Taushetsplikt": "Taushetsplikt og samtykke som hinder for informasjonsdeling.",
    "Siloer": "Tjenestene arbeider hver for seg; sektortenkning.",
    "Kapasitet": "For lite tid og ressurser; ventetid.",
    "Turnover": "Utskifting av ansatte; tapt kunnskap og relasjoner.",
    "Brukermedvirkning": "Barn, unge og familier involveres og blir hørt.",
    "Opplæring og refleksjon": "Felles opplæring, øving og refleksjon over praksis.",
}

QUESTIONS = {
    "Felles målforståelse": "Hvordan opplever du at tjenestene forstår målene i arbeidet med "
    "utsatte barn og unge?",
    "Felles rutiner": "Finnes det felles rutiner for samarbeidet mellom tjenestene?",
    "Ledelse og ansvar": "Hvem tar ansvar for at samarbeidet fungerer?",
    "Møteplasser og strukturer": "Hvilke møteplasser har dere på tvers av tjenestene?",
    "Barrierer": "Hva gjør samarbeidet vanskelig?",
    "Brukermedvirkning": "Hvordan blir barn, unge og foreldre involvert?",
    "Opplæring og refleksjon": "Hvordan lærer dere av erfaringene i samarbeidet?",
}

SENTENCES = {
    "Felles målforståelse": [
        "Vi har brukt tid på å bli enige om hva vi egentlig skal oppnå for barna.",
        "Jeg opplever at skole, helsestasjon og barnevern i større grad snakker om de samme "
        "målene.",
        "Når vi har et felles mål for familien, blir det lettere å fordele oppgavene.",
        "Vi har en felles visjon om tidlig, rett og koordinert hjelp, og den blir brukt i møtene.",
        "Det hjelper at vi har skrevet ned hva vi mener med tidlig innsats, slik at alle legger "
        "det samme i ordene.",
        "Vi er ikke alltid enige om veien, men vi er enige om hvor vi skal.",
    ],
    "Felles rutiner": [
        "Vi har en felles rutine for hvordan en bekymring skal meldes og følges opp.",
        "Det finnes en skriftlig plan for hvem som kaller inn til møte når et barn trenger hjelp "
        "fra flere.",
        "Rutinene gjør at vi ikke starter på nytt hver gang, vi vet hvilke steg som gjelder.",
        "Vi bruker samme mal for stafettlogg, slik at informasjonen følger barnet mellom "
        "tjenestene.",
        "Når en ny sak kommer inn, følger vi en fast sjekkliste som alle tjenestene kjenner.",
        "Rutinen for overganger fra barnehage til skole er lik i hele kommunen.",
    ],
    "Ledelse og ansvar": [
        "Lederne har tatt tydelig ansvar for at samarbeidet prioriteres, også når det er travelt.",
        "Det er avklart hvem som har koordineringsansvaret i hver sak.",
        "Når ledelsen etterspør resultatene, blir det lettere for oss å sette av tid.",
        "Rådmannen har gjort samarbeidet til en del av styringen, og det merkes ute i tjenestene.",
        "Det er lederne som må rydde når ansvaret faller mellom to stoler.",
    ],
    "Møteplasser og strukturer": [
        "Vi har faste tverrfaglige møter annenhver uke der flere tjenester sitter rundt samme "
        "bord.",
        "Det operative nettverket møtes jevnlig, og der kan vi løfte saker raskt.",
        "Det er etablert et konsultasjonsteam der vi kan drøfte saker anonymt.",
        "Møtestrukturen gjør at vi kjenner hverandre, og da er terskelen lavere for å ta en "
        "telefon.",
        "Vi har en fast kontaktperson i hver tjeneste som vi kan ringe direkte.",
        "Ressursteamet på skolen møtes hver måned med helsesykepleier og PPT.",
    ],
    "Taushetsplikt": [
        "Taushetsplikten blir ofte brukt som en grunn til ikke å dele, selv når foreldrene har "
        "samtykket.",
        "Vi er usikre på hva vi kan si til hverandre uten samtykke, og da blir vi forsiktige.",
        "Det tar tid å få samtykke på plass, og imens står saken stille.",
    ],
    "Siloer": [
        "Hver tjeneste passer på sitt eget budsjett og sine egne oppgaver, og barnet blir en "
        "kasteball.",
        "Vi jobber mye hver for oss, og jeg vet ofte ikke hva de andre allerede har satt i gang.",
        "Det er vanskelig å få til helhetlige tiltak når tjenestene har hver sine systemer.",
        "Det blir fort et spørsmål om hvem som skal betale, og da stopper samarbeidet opp.",
    ],
    "Kapasitet": [
        "Vi har for liten tid til samarbeid ved siden av de ordinære oppgavene.",
        "Ventetiden i spesialisthelsetjenesten gjør at tiltakene stopper opp.",
        "Når det er mange saker samtidig, er det samarbeidsmøtene som blir nedprioritert.",
    ],
    "Turnover": [
        "Det har vært stor utskifting av ansatte, og da forsvinner kunnskapen om rutinene.",
        "Nye kolleger vet ikke hvem de skal kontakte, så vi må bygge relasjonene på nytt.",
        "Hver gang en leder slutter, må vi forklare hele modellen på nytt.",
    ],
    "Brukermedvirkning": [
        "Vi prøver å ta med foreldrene og ungdommen inn i møtene fra starten av.",
        "Barnas egne ønsker blir skrevet inn i planen, og vi spør dem hva som hjelper.",
        "Familiene sier at de slipper å fortelle historien sin mange ganger når vi møtes samlet.",
        "Ungdomsrådet har vært med og gitt innspill til hvordan vi møter unge i kommunen.",
        "Vi ser at foreldrene blir tryggere når de møter oss som likeverdige parter.",
    ],
    "Opplæring og refleksjon": [
        "Vi har hatt felles fagdager der vi øver på saker på tvers av tjenestene.",
        "Etter hvert møte tar vi noen minutter til refleksjon over hva som fungerte.",
        "Det digitale erfaringsrommet brukes til å dele erfaringer mellom kommunene.",
        "Vi har gått gjennom fiktive saker sammen for å øve på hvem som gjør hva.",
        "Nye ansatte får en innføring i samarbeidsmodellen den første måneden.",
    ],
}
FILLER = [
    "Det er vanskelig å si noe generelt om dette, det varierer fra sak til sak.",
    "Det har ikke vært noe vi har snakket så mye om hos oss.",
    "Jeg tror det er omtrent som i andre kommuner på vår størrelse.",
    "Det må jeg tenke litt på, jeg har ikke noe konkret eksempel akkurat nå.",
    "Vi har mange oppgaver, og hverdagen er ganske travel.",
    "Det er nok ulikt hvordan kollegene mine ville svart på det.",
    "Jeg har ikke vært med på så mange slike saker selv.",
    "Det er mest de andre i tjenesten som har jobbet med det.",
    "Det har nok gått litt opp og ned over tid.",
    "Vi har snakket om det på personalmøter, men uten at det har blitt noe mer av det.",
    "Sånn sett er det ikke så mye å si, egentlig.",
    "Jeg vet ikke helt, det er vel som det har vært.",
]
INTRO = [
    "Jeg har jobbet i tjenesten i noen år og har mest kontakt med barn i skolealder.",
    "Jeg har en lederstilling og deltar i samarbeidsmøter med andre tjenester.",
    "Jeg jobber direkte med barn, unge og familier i det daglige.",
    "Jobben min består mye av oppfølging av enkeltsaker og kontakt med foreldre.",
    "Før dette jobbet jeg i en annen kommune, så jeg kan sammenligne litt.",
    "Jeg sitter også i en arbeidsgruppe som ser på samarbeidet mellom tjenestene.",
]
CLOSING_QUESTION = "Hvordan vil du beskrive samarbeidet i dag sammenlignet med for noen år siden?"


def _leaf_codes() -> list[tuple[str, str]]:
    """(path, name) of every code that gets codings; path is "Parent/Child" for children."""
    out = []
    for top, children in CODEBOOK.items():
        if children:
            out += [(f"{top}/{c}", c) for c in children]
        else:
            out.append((top, top))
    return out


def _presence_targets() -> dict[str, dict[str, float]]:
    planted = PLANTED["interviews"]
    targets: dict[str, dict[str, float]] = {}
    for path, _ in _leaf_codes():
        if path in planted:
            targets[path] = planted[path]
        else:
            share = planted["flat"][path]
            targets[path] = {"i2013": share, "i2019": share}
    return targets


def _interview_plan(study: dict, rng: np.random.Generator) -> list[dict[str, Any]]:
    rounds = [r["id"] for r in study["interviews"]["rounds"]]
    n = PLANTED["interviews"]["interviews_per_round"]
    network = [str(k) for k in study["network"]]
    roles = list(study["survey"]["roles"])
    targets = _presence_targets()
    plan = []
    for rnd in rounds:
        # kommune: every network kommune at least twice, the rest to the largest (first) ones
        ks = (network * ((n // len(network)) + 1))[:n]
        ks = [ks[i] for i in rng.permutation(n)]
        rs = [roles[i % len(roles)] for i in rng.permutation(n)]
        presence = {path: np.zeros(n, dtype=bool) for path in targets}
        for path, t in targets.items():
            m = int(round(t[rnd] * n))
            presence[path][rng.choice(n, size=m, replace=False)] = True
        for i in range(n):
            plan.append(
                {
                    "round": rnd,
                    "no": i + 1,
                    "kommune": ks[i],
                    "role": rs[i],
                    "codes": [p for p in targets if presence[p][i]],
                }
            )
    return plan


def _interview_text(item: dict[str, Any], rng: np.random.Generator) -> tuple[str, dict]:
    """The transcript and the character span of each coded answer, by code path."""
    parts: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    pos = 0

    def add(text: str) -> tuple[int, int]:
        nonlocal pos
        start = pos
        parts.append(text)
        pos += len(text)
        return start, pos

    def pick(pool: list[str], k: int) -> list[str]:
        k = min(k, len(pool))
        return [pool[i] for i in sorted(rng.choice(len(pool), size=k, replace=False))]

    add(
        f"SYNTHETIC intervju {item['round']}-{item['no']:02d}. Fiktivt innhold generert for "
        "eksempelstudien; ingen reelle personer eller saker.\n"
    )
    add(f"Runde: {item['round']}. Kommune: {item['kommune']}. Informant: {item['role']}.\n\n")
    add("I: Kan du fortelle kort om din rolle?\nR: ")
    add(" ".join(pick(INTRO, 3)) + "\n\n")
    codes = set(item["codes"])
    for top, children in CODEBOOK.items():
        add(f"I: {QUESTIONS[top]}\nR: ")
        if children:
            present = [c for c in children if f"{top}/{c}" in codes]
            if not present:
                add(" ".join(pick(FILLER, 2)) + "\n\n")
                continue
            for j, child in enumerate(present):
                if j:
                    add(" ")
                spans[f"{top}/{child}"] = add(" ".join(pick(SENTENCES[child], 2)))
            add("\n\n")
        elif top in codes:
            spans[top] = add(" ".join(pick(SENTENCES[top], int(rng.integers(3, 5)))))
            add(" " + " ".join(pick(FILLER, int(rng.integers(1, 3)))) + "\n\n")
        else:
            add(" ".join(pick(FILLER, int(rng.integers(2, 4)))) + "\n\n")
    add(f"I: {CLOSING_QUESTION}\nR: ")
    add(" ".join(pick(FILLER, 3)) + "\n\n")
    add("I: Er det noe mer du vil legge til?\nR: ")
    add(pick(FILLER, 1)[0] + " SYNTHETIC.\n")
    return "".join(parts), spans


def _el(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{QDA_NS}}}{tag}", attrs)


def _generate_interviews(dest: Path, study: dict, seed: int) -> dict[str, Any]:
    rng = _rng(seed, 2)
    plan = _interview_plan(study, rng)
    ET.register_namespace("", QDA_NS)
    users = {"Koder A": _guid(rng), "Koder B": _guid(rng)}
    stamp = "2019-12-02T10:00:00Z"
    project = ET.Element(
        f"{{{QDA_NS}}}Project",
        {
            "name": "Samhandlingsnettverk Sunnmøre – intervjuer (SYNTHETIC)",
            "origin": "evaluation_pipeline.synthetic (SYNTHETIC example, REFI-QDA 1.0)",
            "creatingUserGUID": users["Koder A"],
            "creationDateTime": "2013-09-02T08:00:00Z",
            "modifyingUserGUID": users["Koder B"],
            "modifiedDateTime": stamp,
        },
    )
    el_users = _el(project, "Users")
    for name, g in users.items():
        _el(el_users, "User", guid=g, name=name)
    # codebook
    code_guid: dict[str, str] = {}
    codes_el = _el(_el(project, "CodeBook"), "Codes")
    for i, (top, children) in enumerate(CODEBOOK.items()):
        code_guid[top] = _guid(rng)
        el = _el(
            codes_el,
            "Code",
            guid=code_guid[top],
            name=top,
            isCodable="true",
            color=CODE_COLORS[i % len(CODE_COLORS)],
        )
        ET.SubElement(el, f"{{{QDA_NS}}}Description").text = CODE_DESCRIPTIONS[top]
        for child in children:
            path = f"{top}/{child}"
            code_guid[path] = _guid(rng)
            ch = _el(
                el,
                "Code",
                guid=code_guid[path],
                name=child,
                isCodable="true",
                color=CODE_COLORS[i % len(CODE_COLORS)],
            )
            ET.SubElement(ch, f"{{{QDA_NS}}}Description").text = CODE_DESCRIPTIONS[child]
    # variables
    var_names = {
        "kommune": "Kommunenummer (2024), firesifret",
        "rolle": "Informantens tjeneste/rolle (som i spørreundersøkelsen)",
        "runde": "Intervjurunde (i2013 = baseline, i2019 = oppfølging)",
    }
    var_guid = {v: _guid(rng) for v in var_names}
    vars_el = _el(project, "Variables")
    for v, desc in var_names.items():
        ve = _el(vars_el, "Variable", guid=var_guid[v], name=v, typeOfVariable="Text")
        ET.SubElement(ve, f"{{{QDA_NS}}}Description").text = desc
    cases_el = _el(project, "Cases")
    sources_el = _el(project, "Sources")
    # who codes what: primary coder alternates; 8 interviews (4 per round) double-coded
    n_double = PLANTED["interviews"]["double_coded"]
    rounds = [r["id"] for r in study["interviews"]["rounds"]]
    double: set[int] = set()
    for rnd in rounds:
        idx = [i for i, it in enumerate(plan) if it["round"] == rnd]
        double |= set(rng.choice(idx, size=n_double // len(rounds), replace=False).tolist())
    leaf_paths = [p for p, _ in _leaf_codes()]
    decisions = [(i, p) for i in sorted(double) for p in leaf_paths if p in plan[i]["codes"]]
    n_flips = int(
        round(
            (1 - PLANTED["interviews"]["agreement_code_presence"]) * len(double) * len(leaf_paths)
        )
    )
    flip_idx = rng.choice(len(decisions), size=min(n_flips, len(decisions)), replace=False)
    omitted = {decisions[j] for j in flip_idx}
    texts: dict[str, str] = {}
    set_members: dict[str, list[str]] = {r: [] for r in rounds}
    n_selections = 0
    for i, item in enumerate(plan):
        text, spans = _interview_text(item, rng)
        sg = _guid(rng)
        texts[sg] = text
        set_members[item["round"]].append(sg)
        year = int(item["round"][1:])
        created = f"{year}-10-{item['no']:02d}T09:00:00Z"
        coded = f"{year}-11-{item['no']:02d}T13:00:00Z"
        primary = "Koder A" if i % 2 == 0 else "Koder B"
        name = f"Intervju {item['round']}-{item['no']:02d} {item['role']} {item['kommune']}"
        src = _el(
            sources_el,
            "TextSource",
            guid=sg,
            name=name,
            plainTextPath=f"internal://{sg}.txt",
            creatingUser=users[primary],
            creationDateTime=created,
        )
        ET.SubElement(src, f"{{{QDA_NS}}}Description").text = (
            f"SYNTHETIC transkripsjon (fiktiv), runde {item['round']}, kommune "
            f"{item['kommune']}, informant {item['role']}."
            + (" Dobbeltkodet av Koder A og Koder B." if i in double else "")
        )
        coders = [primary] + (
            [("Koder B" if primary == "Koder A" else "Koder A")] if i in double else []
        )
        for c_no, coder in enumerate(coders):
            for path in leaf_paths:
                if path not in spans:
                    continue
                if c_no == 1 and (i, path) in omitted:
                    continue
                start, end = spans[path]
                if c_no == 1:
                    start = int(np.clip(start + rng.integers(-5, 6), 0, len(text) - 1))
                    end = int(np.clip(end + rng.integers(-5, 6), start + 1, len(text)))
                sel = _el(
                    src,
                    "PlainTextSelection",
                    guid=_guid(rng),
                    name=text[start:end][:40],
                    startPosition=str(start),
                    endPosition=str(end),
                    creatingUser=users[coder],
                    creationDateTime=coded,
                )
                cod = _el(
                    sel,
                    "Coding",
                    guid=_guid(rng),
                    creatingUser=users[coder],
                    creationDateTime=coded,
                )
                _el(cod, "CodeRef", targetGUID=code_guid[path])
                n_selections += 1
        case = _el(
            cases_el, "Case", guid=_guid(rng), name=f"Informant {item['round']}-{item['no']:02d}"
        )
        ET.SubElement(case, f"{{{QDA_NS}}}Description").text = "SYNTHETIC informant (fiktiv)."
        for v, value in (
            ("kommune", item["kommune"]),
            ("rolle", item["role"]),
            ("runde", item["round"]),
        ):
            vv = _el(case, "VariableValue")
            _el(vv, "VariableRef", targetGUID=var_guid[v])
            ET.SubElement(vv, f"{{{QDA_NS}}}TextValue").text = value
        _el(case, "SourceRef", targetGUID=sg)
    sets_el = _el(project, "Sets")
    for rnd in rounds:
        st = _el(sets_el, "Set", guid=_guid(rng), name=f"Runde {rnd}")
        ET.SubElement(st, f"{{{QDA_NS}}}Description").text = f"Intervjuer i runde {rnd}."
        for sg in set_members[rnd]:
            _el(st, "MemberSource", targetGUID=sg)
    ET.SubElement(project, f"{{{QDA_NS}}}Description").text = (
        "SYNTHETIC REFI-QDA project for the example study: fictitious interviews with planted "
        "theme shifts (see examples/sunnmore/README.md). No real persons."
    )
    ET.indent(project, space="  ")
    xml = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        project, encoding="unicode"
    ).encode("utf-8")
    files = study["interviews"]["files"]
    path = dest / files[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    when = (2019, 12, 2, 10, 0, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(_zipinfo("project.qde", when), xml)
        for sg, text in texts.items():
            zf.writestr(_zipinfo(f"Sources/{sg}.txt", when), text.encode("utf-8"))
    path.write_bytes(buf.getvalue())
    return {
        "file": files[0],
        "sources": len(plan),
        "double_coded": len(double),
        "selections": n_selections,
        "second_coder_omissions": len(omitted),
        "users": list(users),
    }


# --------------------------------------------------------------------------------------------
# entry points


def generate_example_study(dest: Path, seed: int = DEFAULT_SEED) -> dict:
    """Write the SYNTHETIC landing files for the study in ``dest/study.yaml``.

    Returns a summary: per file its size and sha256, and per part what was generated.
    """
    dest = Path(dest)
    study = yaml.safe_load((dest / "study.yaml").read_text(encoding="utf-8"))
    summary: dict[str, Any] = {"seed": seed, "study": study.get("study")}
    summary["registry"] = _generate_registry(dest, study, seed)
    summary["surveys"] = _generate_surveys(dest, study, seed)
    summary["interviews"] = _generate_interviews(dest, study, seed)
    files = {}
    for p in sorted((dest / "landing").rglob("*")):
        if p.is_file():
            files[p.relative_to(dest).as_posix()] = {
                "bytes": p.stat().st_size,
                "sha256": _sha256(p),
            }
    summary["files"] = files
    summary["planted"] = PLANTED
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation_pipeline.synthetic",
        description="Generate the SYNTHETIC landing files of an example study.",
    )
    parser.add_argument("study_dir", type=Path, help="folder holding study.yaml")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    summary = generate_example_study(args.study_dir, seed=args.seed)
    out = {k: v for k, v in summary.items() if k not in ("planted",)}
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
