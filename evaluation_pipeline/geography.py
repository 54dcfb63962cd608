"""Kommune codes: which codes exist, names, and harmonization of observations to one geography.

Reference data (packaged in ``evaluation_pipeline/reference``, see ATTRIBUTION.md there):
- SSB's grouping of every kommune code used 1994–2024 to its 2024 kommune
  (``kommune_code_history_1994-2024.xlsx``);
- SSB KLASS 131, the codes valid on 2026-01-01;
- population 0–29 by kommune (2024 borders), year and age group (SSB 07459 via FHI), used to
  allocate figures of a code that was later split (2020–2023 Ålesund 1507 -> 1508 Ålesund and
  1580 Haram) by population share.

No maintained Python library carries Norwegian kommune code history, hence this module.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import PipelineError

REFERENCE = Path(str(resources.files("evaluation_pipeline") / "reference"))
HISTORY_FILE = REFERENCE / "kommune_code_history_1994-2024.xlsx"
KLASS_FILE = REFERENCE / "klass_131_codesAt_2026-01-01.json"
POPULATION_FILE = REFERENCE / "population_0-29_by_kommune_2005-2026.csv.gz"
SPLITS_FILE = REFERENCE / "kommune_splits.csv"

#: geography years this module can harmonize to (the 2024 borders held through 2025).
SUPPORTED_GEOGRAPHY_YEARS = (2024, 2025, 2026)  # no kommune changes between 2024 and 2026


class GeographyError(PipelineError, ValueError):
    """A kommune code is unknown, or cannot be mapped to the study's geography."""




_YEARS = re.compile(r"\((\d{4})?-(\d{4})?\)\s*$")


@lru_cache(maxsize=1)
def code_history() -> pd.DataFrame:
    """Every kommune code 1994–2024 with its name, 2024 kommune and years of validity."""
    raw = pd.read_excel(HISTORY_FILE, dtype=str)
    raw = raw[raw["GRUPPEKODE"].str.fullmatch(r"K\.\d{4}")]
    years = raw["TEKST"].str.extract(_YEARS)
    out = pd.DataFrame(
        {
            "code": raw["KODE"].str.strip(),
            "name": raw["TEKST"].str.replace(_YEARS, "", regex=True).str.strip(),
            "target": raw["GRUPPEKODE"].str[2:],
            "target_name": raw["GRUPPETEKST"].str.strip(),
            "valid_from": pd.to_numeric(years[0]).astype("Int64"),
            "valid_to": pd.to_numeric(years[1]).astype("Int64"),
        }
    )
    return out.reset_index(drop=True)


@lru_cache(maxsize=1)
def kommuner_2024() -> dict[str, str]:
    """The 357 kommune codes of 2024 -> name."""
    h = code_history()
    return dict(zip(h["target"], h["target_name"], strict=False))


@lru_cache(maxsize=1)
def klass_2026() -> dict[str, str]:
    """KLASS 131 codes valid on 2026-01-01 -> name (includes 9999 Uoppgitt)."""
    codes = json.loads(KLASS_FILE.read_text(encoding="utf-8"))["codes"]
    return {c["code"]: c["name"] for c in codes}


def valid_codes(year: int) -> dict[str, str]:
    """Kommune codes (-> name) of the borders of ``year``: 2024 and 2025 use the 2024 borders,
    2026 uses KLASS 131 as of 2026-01-01."""
    if year in (2024, 2025):
        return kommuner_2024()
    if year == 2026:
        return {k: v for k, v in klass_2026().items() if k != "9999"}
    raise GeographyError(f"no kommune code list for {year}: supported years are 2024-2026")


def known_codes() -> dict[str, str]:
    """Every kommune code used 1994-2024 (-> name as SSB writes it in the code history)."""
    h = code_history()
    return dict(zip(h["code"], h["name"], strict=False))


@lru_cache(maxsize=1)
def code_validity() -> pd.DataFrame:
    """Years each kommune code was valid (index: code; valid_from, valid_to; NA = open).

    SSB's code history writes the years on replaced codes ("Ålesund (2020-2023)"). A code
    without years is valid in 2024; it started in 2024 when it replaced a code that ended in
    2023 or received part of a split code (1508 Ålesund, 1580 Haram, 3101 Halden, ...); when it
    started otherwise is not in the history and is left open.
    """
    h = code_history().set_index("code")
    vf = h["valid_from"].astype("Int64")
    vt = h["valid_to"].astype("Int64")
    open_codes = vf.isna() & vt.isna()
    ended_2023 = set(h.loc[vt == 2023, "target"]) | set(splits()["to_code"])
    new_2024 = open_codes & h.index.isin(list(ended_2023))
    vf = vf.mask(new_2024, 2024)
    return pd.DataFrame({"valid_from": vf, "valid_to": vt})


def kommune_name(code: str) -> str:
    """The name of a kommune code (2024 name for current codes, historical otherwise)."""
    names = kommuner_2024()
    if code in names:
        return names[code]
    h = code_history().set_index("code")
    if code in h.index:
        return str(h.at[code, "name"])
    raise GeographyError(f"unknown kommune code {code!r}")


@lru_cache(maxsize=1)
def splits() -> pd.DataFrame:
    """Codes whose area was later split between several 2024 kommuner (from_code, first_year,
    last_year, to_code)."""
    return pd.read_csv(SPLITS_FILE, dtype={"from_code": str, "to_code": str})


@lru_cache(maxsize=1)
def population() -> pd.DataFrame:
    """Population on 1 January by kommune (2024 borders), year and age group, both sexes."""
    pop = pd.read_csv(POPULATION_FILE)
    pop = pop[pop["sex"] == "total"]
    return pd.DataFrame(
        {
            "kommune": pop["location_code"].str[-4:],
            "year": pop["calyear"].astype(int),
            "age_group": pop["age_group"],
            "population": pop["pop_jan1_n"].astype(float),
        }
    ).reset_index(drop=True)


def population_for(age_groups: list[str] | tuple[str, ...] | None) -> pd.DataFrame:
    """Population per kommune (2024 borders) and year summed over ``age_groups`` (all if None)."""
    pop = population()
    if age_groups:
        unknown = set(age_groups) - set(pop["age_group"])
        if unknown:
            raise GeographyError(
                f"unknown age group(s) {sorted(unknown)}: expected some of "
                f"{sorted(pop['age_group'].unique())}"
            )
        pop = pop[pop["age_group"].isin(age_groups)]
    return pop.groupby(["kommune", "year"], as_index=False)["population"].sum()


def _targets(codes: pd.Series, to_year: int) -> pd.Series:
    if to_year not in SUPPORTED_GEOGRAPHY_YEARS:
        raise GeographyError(
            f"cannot harmonize to {to_year}: supported geography years are "
            f"{', '.join(map(str, SUPPORTED_GEOGRAPHY_YEARS))}"
        )
    mapping = dict(zip(code_history()["code"], code_history()["target"], strict=False))
    out = codes.map(mapping)
    unknown = sorted(set(codes[out.isna()].dropna()))
    if unknown:
        raise GeographyError(
            f"unknown kommune code(s) {', '.join(map(repr, unknown))}: not in SSB's code history "
            "1994-2024"
        )
    return out


def harmonize(
    observations: pd.DataFrame,
    to_year: int = 2024,
    *,
    age_groups: dict[str, list[str]] | None = None,
    allocate_splits: bool = True,
) -> pd.DataFrame:
    """Map observations (kommune, year, indicator, numerator, denominator, value, status) to the
    kommune borders of ``to_year``.

    Merged kommuner: numerators and denominators are summed (rates are recomputed, never
    averaged); if any part of a merge is missing, the merged cell is missing with the reason.
    Split codes (see :func:`splits`): numerator and denominator are allocated to the 2024
    kommuner by the population share of the indicator's age groups (``age_groups`` maps
    indicator -> groups) in the first year the parts are counted separately (2024 for Ålesund
    1507; the population file gives the pre-split years a 50/50 approximation) and flagged
    ``estimated``; with ``allocate_splits=False`` they are left missing with status ``split``.
    Renumberings are plain relabels. Cells with SSB's status ``.`` (not applicable, e.g. a code
    that did not exist that year) contribute nothing to a merge; any other missing part (``:``
    suppressed, ``..`` not yet available) makes the merged cell missing with that status.
    """
    obs = observations.copy()
    obs["kommune"] = obs["kommune"].astype(str)
    obs["year"] = obs["year"].astype(int)
    for col in ("numerator", "denominator", "value"):
        if col not in obs:
            obs[col] = np.nan
    if "status" not in obs:
        obs["status"] = pd.NA
    obs["target"] = _targets(obs["kommune"], to_year)
    obs["share"] = 1.0
    obs["estimated"] = False

    sp = splits()
    keyed = obs.reset_index(names="_row").merge(
        sp, left_on="kommune", right_on="from_code", how="inner"
    )
    keyed = keyed[keyed["year"].between(keyed["first_year"], keyed["last_year"])].copy()
    plain = obs.drop(index=keyed["_row"].unique())
    if len(keyed):
        keyed["target"] = keyed["to_code"]
        keyed["estimated"] = True
        if allocate_splits:
            groups = age_groups or {}
            parts = []
            for ind, chunk in keyed.groupby("indicator", sort=False):
                pop = population_for(groups.get(ind)).rename(
                    columns={"kommune": "target", "year": "share_year"}
                )
                # FHI's 2024-border population splits the old area 50/50 before the split,
                # so shares come from the first year the parts are counted separately.
                chunk = chunk.assign(share_year=chunk["last_year"].astype(int) + 1)
                c = chunk.merge(pop, on=["target", "share_year"], how="left")
                c["share"] = c["population"] / c.groupby("_row")["population"].transform("sum")
                if c["share"].isna().any():
                    bad = c.loc[c["share"].isna()].iloc[0]
                    raise GeographyError(
                        f"no population to split kommune {bad['kommune']} in {bad['year']}"
                    )
                parts.append(c)
            keyed = pd.concat(parts, ignore_index=True)
        else:
            keyed["share"] = np.nan
            keyed["status"] = "split"
    split_rows = keyed[list(obs.columns)]
    allrows = pd.concat([plain, split_rows], ignore_index=True)
    not_applicable = (
        allrows["status"].astype("string").str.strip().eq(".").fillna(False)
        & allrows["numerator"].isna() & allrows["denominator"].isna()
    )
    only_na = allrows.assign(na=not_applicable).groupby(["target", "year", "indicator"])["na"]
    allrows = allrows[~not_applicable | only_na.transform("all")].copy()
    allrows["numerator"] = allrows["numerator"] * allrows["share"]
    allrows["denominator"] = allrows["denominator"] * allrows["share"]
    allrows["missing_part"] = allrows["numerator"].isna() | allrows["denominator"].isna()
    allrows["source_codes"] = allrows["kommune"]

    keys = ["target", "year", "indicator"]
    g = allrows.groupby(keys, sort=True)
    agg = g[["numerator", "denominator"]].sum(min_count=1)
    agg["estimated"] = g["estimated"].any()
    any_missing = g["missing_part"].any()
    n_parts = g.size()
    # a published rate without counts can be relabelled or split, never averaged in a merge
    rate_only = g["value"].count() > 0
    agg["value"] = g["value"].first().where(n_parts == 1)
    with_status = allrows.dropna(subset=["status"])
    agg["status"] = with_status.groupby(keys)["status"].agg(
        lambda s: ",".join(sorted({str(x) for x in s}))
    ).reindex(agg.index)
    agg.loc[rate_only & (n_parts > 1) & any_missing, "status"] = "merged rates need denominators"
    agg["source_codes"] = allrows.groupby(keys)["source_codes"].agg(
        lambda s: ",".join(sorted(set(s)))
    )
    if "period" in allrows:
        agg["period"] = g["period"].first()
    agg.loc[any_missing, ["numerator", "denominator"]] = np.nan
    has_number = agg["numerator"].notna() | agg["value"].notna()
    agg["status"] = agg["status"].where(~has_number).astype("string")
    return agg.reset_index().rename(columns={"target": "kommune"})


def add_rates(obs: pd.DataFrame, per: dict[str, float] | float = 100.0) -> pd.DataFrame:
    """value = numerator / denominator × per (per indicator: 100 for %, 1000 per 1,000) where
    both counts are known; a published rate without counts is kept as it is."""
    out = obs.copy()
    factor = out["indicator"].map(per) if isinstance(per, dict) else per
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = out["numerator"] / out["denominator"] * factor
    counted = out["numerator"].notna() & out["denominator"].notna()
    rate = rate.where(out["denominator"] > 0)
    out["value"] = rate.where(counted, out["value"] if "value" in out else np.nan)
    return out


# ---- kommune names -> codes (FHI/Kommunehelsa files name kommuner, not codes) ---------------
#: names a registry file uses for the whole country (a reference series, never a kommune)
COUNTRY_NAMES = frozenset(
    {"hele landet", "landet", "norge", "noreg", "hele norge", "landet i alt", "i alt"}
)

#: fylke names 1994–2026 -> the first two digits of the kommune codes of the area (old, 2020
#: and 2024 numbering). Used to tell apart kommuner of the same name (Bø in Telemark 0821 /
#: Nordland 1867) by the fylke rows a file carries, and to recognise those rows as reference
#: series. (SSB's fylke history; not in the packaged code history.)
FYLKER: dict[str, frozenset[str]] = {
    name: frozenset(prefixes)
    for name, prefixes in {
        "østfold": {"01", "30", "31"},
        "akershus": {"02", "30", "32"},
        "oslo": {"03"},
        "hedmark": {"04", "34"},
        "oppland": {"05", "34"},
        "buskerud": {"06", "30", "33"},
        "vestfold": {"07", "38", "39"},
        "telemark": {"08", "38", "40"},
        "aust-agder": {"09", "42"},
        "vest-agder": {"10", "42"},
        "rogaland": {"11"},
        "hordaland": {"12", "46"},
        "sogn og fjordane": {"14", "46"},
        "møre og romsdal": {"15"},
        "sør-trøndelag": {"16", "50"},
        "nord-trøndelag": {"17", "50"},
        "nordland": {"18"},
        "troms": {"19", "54", "55"},
        "finnmark": {"20", "54", "56"},
        "innlandet": {"04", "05", "34"},
        "agder": {"09", "10", "42"},
        "vestland": {"12", "14", "46"},
        "trøndelag": {"16", "17", "50"},
        "viken": {"01", "02", "06", "30", "31", "32", "33"},
        "vestfold og telemark": {"07", "08", "38", "39", "40"},
        "troms og finnmark": {"19", "20", "54", "55", "56"},
    }.items()
}
_FYLKE_ALIASES = {
    "troms - romsa - tromssa": "troms",
    "finnmark - finnmárku - finmarkku": "finnmark",
    "troms og finnmark - romsa ja finnmárku": "troms og finnmark",
    "trøndelag - trööndelage": "trøndelag",
}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().casefold()


def area_level(name: str) -> str:
    """'country', 'fylke' or 'kommune' for a region name as written in a registry file
    ('Hele landet', 'Telemark', 'Porsgrunn'). Oslo is a kommune (0301) here."""
    n = _norm(name)
    if n in COUNTRY_NAMES:
        return "country"
    n = _FYLKE_ALIASES.get(n, n)
    if n in FYLKER and n != "oslo":
        return "fylke"
    return "kommune"


def fylke_prefixes(name: str) -> frozenset[str]:
    """The kommune code prefixes of a fylke name (empty when it is not a fylke name)."""
    n = _norm(name)
    return FYLKER.get(_FYLKE_ALIASES.get(n, n), frozenset())


@lru_cache(maxsize=1)
def _name_index() -> tuple[dict[str, list[int]], pd.DataFrame]:
    """(alias -> row numbers of :func:`code_history`, the history with validity years).

    Aliases of "Bø (Telemark)": "bø (telemark)" and "bø"; of "Trondheim - Tråante": the whole
    name and each part."""
    h = code_history().copy()
    v = code_validity()
    h["from"] = h["code"].map(v["valid_from"]).astype("Float64").fillna(-1).astype(int)
    h["to"] = h["code"].map(v["valid_to"]).astype("Float64").fillna(9999).astype(int)
    h["base"] = h["name"].map(
        lambda n: re.sub(r"\s*\([^)]*\)\s*$", "", _norm(n)).split(" - ")[0].strip())
    # a code without a recorded start (3430 Os, 5001 Trondheim) started after the code of
    # the same name it replaced (0441 Os (Hedmark) until 2019 -> 3430 from 2020)
    ended = h[h["to"] < 9999].groupby(["target", "base"])["to"].max()
    start = pd.Series(list(zip(h["target"], h["base"], strict=True)), index=h.index).map(
        lambda k: ended.get(k, -2) + 1)
    open_start = (h["from"] == -1) & (h["to"] == 9999) & (start > 0)
    h.loc[open_start, "from"] = start[open_start]
    index: dict[str, list[int]] = {}
    for i, name in enumerate(h["name"]):
        full = _norm(name)
        base = re.sub(r"\s*\([^)]*\)\s*$", "", full)
        aliases = {full, base, *(part.strip() for part in base.split(" - "))}
        for a in aliases:
            if a:
                index.setdefault(a, []).append(i)
    return index, h


def _candidates(name: str) -> pd.DataFrame:
    index, h = _name_index()
    rows = index.get(_norm(name), [])
    return h.iloc[rows]


class KommuneNameError(GeographyError):
    """A kommune name in a registry file cannot be mapped to one code."""


def codes_for_names(
    names: pd.Series,
    years: pd.Series,
    *,
    borders: str,
    geography_year: int = 2024,
    fylker: frozenset[str] = frozenset(),
    kommuner: list[str] | tuple[str, ...] = (),
) -> tuple[pd.Series, list[tuple[str, int]], list[str]]:
    """Map kommune names (as FHI writes them: 'Porsgrunn', 'Midt-Telemark', 'Bø') to codes.

    ``borders='as_published'``: the code valid in each row's year (Porsgrunn 2015 -> 0805);
    ``'current'``: the code of ``geography_year`` (Porsgrunn 2015 -> 4001), for files that
    publish whole histories on today's borders. A name of several kommuner (Bø, Herøy, Våler,
    Nes, Sande, Os, ...) is resolved by ``fylker`` (code prefixes of the fylke rows in the
    file, :func:`fylke_prefixes`), then by the study's ``kommuner`` (``geography_year`` codes).

    Returns (codes, unresolved (name, year) pairs, ambiguous 'name (year): candidates'
    texts); a code is NA where it could not be resolved.
    """
    current = set(valid_codes(geography_year))
    pairs = pd.DataFrame({"name": names.astype("string"), "year": years.astype(int)})
    uniq = pairs.drop_duplicates()
    result: dict[tuple[str, int], Any] = {}
    unresolved: list[tuple[str, int]] = []
    ambiguous: list[str] = []
    for name, year in uniq.itertuples(index=False):
        c = _candidates(name)
        if borders == "current":
            c = c[c["code"].isin(current)]
        else:
            c = c[(c["from"] <= year) & (c["to"] >= year)]
        codes = sorted(set(c["code"]))
        if len(codes) > 1 and fylker:
            keep = c[c["code"].str[:2].isin(fylker) | c["target"].str[:2].isin(fylker)]
            codes = sorted(set(keep["code"])) or codes
            c = keep if len(keep) else c
        if len(codes) > 1 and kommuner:
            keep = c[c["target"].isin(list(kommuner))]
            codes = sorted(set(keep["code"])) or codes
            c = keep if len(keep) else c
        if len(codes) == 1:
            result[(name, year)] = codes[0]
            continue
        result[(name, year)] = pd.NA
        if not codes:
            unresolved.append((str(name), int(year)))
        else:
            listed = ", ".join(f"{r.code} {r.name_}" for r in c.rename(columns={"name": "name_"})
                               .drop_duplicates("code").itertuples())
            ambiguous.append(f"{name!r} ({year}): {listed}")
    keys = list(zip(pairs["name"], pairs["year"], strict=True))
    out = pd.Series([result[k] for k in keys], index=names.index, dtype="string")
    return out, unresolved, list(dict.fromkeys(ambiguous))


def valid_in_year(codes: pd.Series, years: pd.Series) -> pd.Series:
    """True where a kommune code is valid in the year (SSB's code history; codes without
    recorded years are open-ended)."""
    v = code_validity()
    lo = codes.map(v["valid_from"]).astype("Float64").fillna(-1)
    hi = codes.map(v["valid_to"]).astype("Float64").fillna(9999)
    return ((years >= lo) & (years <= hi)).astype(bool)


def validity_text(code: str) -> str:
    """'valid 2020–2023', 'valid from 2024', 'valid until 2019' or 'unknown code'."""
    v = code_validity()
    if code not in v.index:
        return "not a kommune code in SSB's code history"
    lo, hi = v.at[code, "valid_from"], v.at[code, "valid_to"]
    if pd.isna(lo) and pd.isna(hi):
        return "valid throughout"
    if pd.isna(lo):
        return f"valid until {hi}"
    if pd.isna(hi):
        return f"valid from {lo}"
    return f"valid {lo}–{hi}"


def describe_unresolved(unresolved: list[tuple[str, int]], geography_year: int | None = None
                        ) -> list[str]:
    """Texts for kommune names that matched no code in their year, one per name:
    "'Midt-Telemark' in 2015–2019: no kommune of that name then (3817 valid 2020–2023, 4020
    valid from 2024)"; "'Porsgrun' in 2015: not a kommune name in SSB's code history; did you
    mean Porsgrunn 4001?"."""
    by_name: dict[str, list[int]] = {}
    for name, year in unresolved:
        by_name.setdefault(name, []).append(year)
    out = []
    for name, years in by_name.items():
        lo, hi = min(years), max(years)
        when = f"in {lo}" if lo == hi else f"in {lo}–{hi}"
        c = _candidates(name)
        if len(c):
            codes = ", ".join(f"{code} {validity_text(code)}" for code in
                              dict.fromkeys(c["code"]))
            out.append(f"{name!r} {when}: no kommune of that name then ({codes})")
        else:
            hint = did_you_mean(name, geography_year or 2024)
            out.append(f"{name!r} {when}: not a kommune name in SSB's code history"
                       + (f"; {hint}" if hint else ""))
    return out


# ---- did you mean? ---------------------------------------------------------------------------
def _near_codes(code: str, valid: dict[str, str], n: int = 3) -> list[str]:
    """Valid codes one typo away from ``code``: two neighbouring digits swapped first, then
    one digit different (same fylke, i.e. the first two digits, before others)."""
    swaps, subs = [], []
    for c in valid:
        if len(c) != len(code) or c == code:
            continue
        diff = [i for i in range(len(c)) if c[i] != code[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and c[diff[0]] == code[diff[1]] \
                and c[diff[1]] == code[diff[0]]:
            swaps.append(c)
        elif len(diff) == 1:
            subs.append(c)
    subs.sort(key=lambda c: (c[:2] != code[:2], c))
    return (sorted(swaps) + subs)[:n]


def _codes_by_name(name: str, valid: dict[str, str]) -> list[str]:
    key = name.strip().casefold()

    def forms(nm: str) -> set[str]:
        base = re.sub(r"\s*\(.*\)\s*$", "", nm).strip()  # "Herøy (Nordland)" -> "Herøy"
        return {nm.strip().casefold(), base.casefold(),
                *(part.strip().casefold() for part in base.split(" - "))}

    return sorted(c for c, nm in valid.items() if key in forms(nm))


def code_for_name(name: str, year: int) -> str | None:
    """The kommune code of ``name`` in the borders of ``year`` when exactly one kommune has
    that name (case-insensitive; a Sami double name matches by either part), else None."""
    hits = _codes_by_name(name, valid_codes(year))
    return hits[0] if len(hits) == 1 else None


def did_you_mean(value: str, year: int) -> str:
    """A hint for a kommune code (or name) that is not valid in the borders of ``year``:

    - an old code: ``"3813 was Bamble's code 2020–2023; with geography_year 2024 use 4012"``;
    - a name: its code (``"Bamble is kommune 4012"``), or the candidates of an ambiguous name;
    - a typo: ``"did you mean 4012 Bamble, 4020 Midt-Telemark or 4022 Seljord?"``.

    Returns "" when there is nothing to suggest. Uses :func:`code_history` and
    :func:`code_validity` (SSB's code history 1994–2024)."""
    valid = valid_codes(year)
    value = str(value).strip()

    def listed(codes: list[str]) -> str:
        parts = [f"{c} {valid[c]}" for c in codes]
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]

    if value.isdigit():
        code = value.zfill(4)
        hist = code_history().set_index("code")
        if code in hist.index and code not in valid:
            row = hist.loc[code]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            validity = code_validity()
            vf, vt = validity.at[code, "valid_from"], validity.at[code, "valid_to"]
            if pd.notna(vf) and pd.notna(vt):
                years = f"{int(vf)}–{int(vt)}"
            elif pd.notna(vt):
                years = f"until {int(vt)}"
            else:
                years = f"from {int(vf)}" if pd.notna(vf) else "earlier"
            target = str(row["target"])
            use = (f"use {target}" + ("" if row["target_name"] == row["name"]
                                      else f" ({row['target_name']})"))
            parts = splits().loc[splits()["from_code"] == code, "to_code"].tolist()
            if parts and all(p in valid for p in parts):
                use = "use " + " or ".join(f"{p} {valid[p]}" for p in parts) + \
                    f" (it was split between them in {int(vt) + 1 if pd.notna(vt) else year})"
            if target not in valid:
                return f"{code} was {row['name']}'s code {years}"
            return (f"{code} was {row['name']}'s code {years}; with geography_year {year} "
                    f"{use}")
        near = _near_codes(code, valid)
        return f"did you mean {listed(near)}?" if near else ""
    hits = _codes_by_name(value, valid)
    if len(hits) == 1:
        return f"{value} is kommune {hits[0]}: write the code \"{hits[0]}\""
    if hits:
        return f"several kommuner are called {value}: {listed(hits)}; write the code"
    import difflib

    names = {nm.casefold(): c for c, nm in valid.items()}
    close = difflib.get_close_matches(value.casefold(), list(names), n=3, cutoff=0.75)
    return f"did you mean {listed([names[n] for n in close])}?" if close else ""
