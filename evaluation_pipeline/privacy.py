"""Privacy of the data read: pseudonymisation of respondent/informant IDs at ingest, free-text
handling and personal-data screening. (What a *published* table hides -- small-cell
suppression -- is :mod:`evaluation_pipeline.publication`.)

Pseudonyms are keyed HMAC-SHA256 digests: stable within a study, so the same person keeps the
same pseudonym in every wave (panels still pair), and not reversible without the key. The key
comes from the environment variable ``EVALUATION_PSEUDONYM_KEY``; only a synthetic study (the
shipped example) may instead carry a documented demo key in study.yaml
(``privacy.demo_pseudonym_key``). Python's ``hmac`` is the standard tool for this.

Personal data (``find_personal_data``, ``is_valid_fnr``)
--------------------------------------------------------
A screening helper, not a guarantee: it flags columns whose *names* or *values* look like
personal data. The Norwegian national identity number check (fødselsnummer, D-number) is the
published mod-11 algorithm, written out here; ``python-stdnum`` (``stdnum.no.fodselsnummer``)
implements the same check but is not a dependency of the project for one function.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
from typing import Any

import numpy as np
import pandas as pd

from .errors import PipelineError

KEY_ENV = "EVALUATION_PSEUDONYM_KEY"


class PrivacyError(PipelineError, ValueError):
    """Personal data would be exposed, or the pseudonymisation key is missing."""


def reads_personal_data(study) -> bool:
    """Whether the study reads person-level data: survey answers (respondent IDs) or coded
    interviews (interview names). Only then is a pseudonymisation key needed; registry
    statistics are aggregates per kommune and year, so a registry-only study needs none."""
    return study.survey is not None or study.interviews is not None


def pseudonym_key(study) -> bytes:
    """The study's pseudonymisation key: ``$EVALUATION_PSEUDONYM_KEY``, else the demo key of a
    synthetic study. A real study without the environment variable is refused. It is asked
    for only where person-level data is read (survey answers, interviews:
    :func:`reads_personal_data`); a registry-only study never needs it."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode("utf-8")
    demo = study.privacy.demo_pseudonym_key
    if demo and study.synthetic:
        return demo.encode("utf-8")
    raise PrivacyError(
        f"{study.source_file}: no pseudonymisation key (the study reads person-level data: "
        f"{' and '.join(_personal_sources(study)) or 'none'}). Set the environment variable "
        f"{KEY_ENV} to a long random secret kept outside the project (e.g. `export "
        f"{KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')`) and keep it: "
        "the same key gives the same pseudonyms in every wave."
    )


def _personal_sources(study) -> list[str]:
    return [name for name, sec in (("survey answers", study.survey),
                                   ("interviews", study.interviews)) if sec is not None]


def pseudonymise(values: pd.Series, key: bytes, prefix: str = "P") -> pd.Series:
    """Replace each ID by ``<prefix>-<12 hex digits>`` of HMAC-SHA256(key, id); NA stays NA."""
    uniq = pd.unique(values.dropna().astype(str))
    mapping = {
        v: f"{prefix}-{hmac.new(key, v.encode('utf-8'), hashlib.sha256).hexdigest()[:12]}"
        for v in uniq
    }
    out = values.astype("string").map(mapping)
    return out.astype("string")


def drop_free_text(answers: pd.DataFrame, keep: list[str] | tuple[str, ...] = ()) -> tuple[
    pd.DataFrame, list[str]
]:
    """Drop free-text items (items answered with text rather than numbers) unless listed in
    ``keep`` (the study's ``survey.free_text``). Returns the answers and the dropped items."""
    has_text = answers["value_text"].notna()
    text_items = set(answers.loc[has_text, "item"])
    dropped = sorted(text_items - set(keep))
    return answers[~answers["item"].isin(dropped)].reset_index(drop=True), dropped


def personal_data_items(answers: pd.DataFrame) -> dict[str, str]:
    """Survey items whose answers look like personal data (names, e-mail addresses, phone
    numbers, national identity numbers) or whose names say so -> the reason."""
    if answers.empty:
        return {}
    shown = answers["value_text"].astype("object").where(
        answers["value_text"].notna(), answers["value"]
    ).to_numpy(dtype=object)
    # one column per item holding that item's answers (find_personal_data looks at each
    # column's distinct values and their counts, so the respondents need not line up as in a
    # pivot; a reader's table has one answer per respondent, wave and item); shorter columns
    # are padded with NA, which it ignores
    by_item = answers.groupby(answers["item"].astype(str), sort=True).indices
    wide = pd.DataFrame({item: pd.Series(shown[idx], dtype=object)
                         for item, idx in by_item.items()})
    text_cols = sorted(set(answers.loc[answers["value_text"].notna(), "item"]))
    return find_personal_data(wide.reset_index(drop=True), text_columns=text_cols)


# --------------------------------------------------------------------------------------------
# Personal data
# --------------------------------------------------------------------------------------------

_K1 = np.array([3, 7, 6, 1, 8, 9, 4, 5, 2])
_K2 = np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])


def _check_digit(digits: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """mod-11 check digit for each row of ``digits``; -1 where none exists (remainder 1)."""
    rem = (digits[:, : weights.size] * weights).sum(axis=1) % 11
    return np.where(rem == 0, 0, np.where(rem == 1, -1, 11 - rem))


def _valid_fnr_digits(digits: np.ndarray) -> np.ndarray:
    """Vectorized validity of 11-digit rows: plausible day/month and both check digits."""
    if digits.size == 0:
        return np.zeros(0, dtype=bool)
    day = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    day_ok = ((day >= 1) & (day <= 31)) | ((day >= 41) & (day <= 71))  # D-number: day + 40
    # month + 40: H-number / NAV synthetic; month + 80: Skatteetaten's synthetic (Tenor)
    month_ok = (month % 40 >= 1) & (month % 40 <= 12) & (month < 93)
    k1 = _check_digit(digits, _K1)
    k2 = _check_digit(digits, _K2)
    return day_ok & month_ok & (k1 == digits[:, 9]) & (k2 == digits[:, 10])


def is_valid_fnr(s: str) -> bool:
    """True for a Norwegian fødselsnummer or D-number (11 digits, spaces allowed).

    Checks both mod-11 check digits (weights 3 7 6 1 8 9 4 5 2 and 5 4 3 2 7 6 5 4 3 2;
    remainder 0 gives 0, remainder 1 means no valid number) and that day (1-31, D-number
    41-71) and month (1-12, or +40 / +80 as in H-numbers and synthetic test numbers) are
    plausible; whether the date exists in the calendar is not checked.
    """
    t = re.sub(r"\s", "", str(s))
    if not re.fullmatch(r"[0-9]{11}", t):
        return False
    return bool(_valid_fnr_digits(np.array([[int(ch) for ch in t]]))[0])


def _valid_fnr_strings(values: pd.Series) -> np.ndarray:
    """Validity of each string (already 11 digits) as a vectorized array."""
    if values.empty:
        return np.zeros(0, dtype=bool)
    raw = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8)
    return _valid_fnr_digits(raw.reshape(-1, 11).astype(np.int64) - 48)


# column-name words (compared after lower-casing, splitting on non-letters and camelCase, and
# joining neighbouring words, so "e-post", "First_Name", "phoneNumber" match)
_NAME_WORDS = {
    "personal names": {
        "fornavn", "etternavn", "mellomnavn", "fulltnavn", "personnavn", "firstname",
        "lastname", "surname", "fullname", "givenname", "familyname", "forename",
    },
    "e-mail addresses": {
        "epost", "epostadresse", "email", "emailaddress", "emailadresse", "mail",
        "mailadresse",
    },
    "phone numbers": {
        "telefon", "telefonnummer", "telefonnr", "tlf", "tlfnr", "mobil", "mobilnummer",
        "mobilnr", "mobiltelefon", "phone", "phonenumber", "telephone", "mobile", "cellphone",
    },
    "national identity numbers": {
        "fødselsnummer", "fodselsnummer", "foedselsnummer", "fnr", "personnummer",
        "personnr", "dnummer", "ssn",
    },
    "addresses": {
        "adresse", "address", "postadresse", "bostedsadresse", "gateadresse",
        "hjemmeadresse", "streetaddress", "homeaddress",
    },
    "dates of birth": {"fødselsdato", "fodselsdato", "birthdate", "dateofbirth"},
}
# "name"/"navn" alone is ambiguous; with one of these words it names a thing, not a person
_THING_WORDS = {
    "kommune", "municipality", "fylke", "county", "region", "bydel", "code", "kode", "item",
    "scale", "skala", "theme", "tema", "indicator", "indikator", "variable", "variabel",
    "file", "fil", "org", "organisation", "organization", "virksomhet", "school", "skole",
    "network", "nettverk", "table", "tabell", "study", "studie", "category", "kategori",
    "project", "prosjekt", "source", "kilde", "group", "gruppe", "wave", "bolge", "bølge",
    "unit", "enhet", "service", "tjeneste", "dataset", "column", "kolonne",
}

_EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}"
_PHONE = r"(?:\+47|0047)?[2-9][0-9]{7}"
_NAME_WORD = r"[A-ZÆØÅÄÖÜÉ][a-zæøåäöüéèáóúñç]+(?:-[A-ZÆØÅÄÖÜÉ][a-zæøåäöüéèáóúñç]+)?"
_PERSON_NAME = rf"{_NAME_WORD}(?: {_NAME_WORD}){{1,3}}"
_FNR_IN_TEXT = r"(?<![0-9A-Za-z])([0-9]{6} ?[0-9]{5})(?![0-9A-Za-z])"


def _name_reason(column: Any) -> str | None:
    text = re.sub(r"(?<=[a-zæøå])(?=[A-ZÆØÅ])", " ", str(column)).lower()
    words = [w for w in re.split(r"[^0-9a-zæøåäöüé]+", text) if w]
    grams = set(words) | {a + b for a, b in zip(words, words[1:], strict=False)}
    for what, keys in _NAME_WORDS.items():
        hit = grams & keys
        if hit:
            return f"column name {column!r} suggests {what} ({sorted(hit)[0]!r})"
    if {"name", "navn"} & set(words) and not set(words) & _THING_WORDS:
        return f"column name {column!r} suggests personal names"
    return None


def _share(n: int, total: int) -> str:
    return f"{n} of {total} values ({100 * n / total:.0f} %)"


def find_personal_data(
    df: pd.DataFrame,
    text_columns: list[str] | None = None,
    *,
    min_share: float = 0.2,
    min_distinct_names: int = 25,
    max_distinct: int = 200_000,
) -> dict[str, str]:
    """Columns of ``df`` that look like personal data -> the reason (first reason found).

    * Column names (every column): Norwegian/English words for names, e-mail, phone,
      fødselsnummer, address, date of birth; "name"/"navn" unless qualified by a thing word
      (``kommune_name``, ``item_navn`` are not flagged).
    * Values of *text* columns (``text_columns``; None = every column of string-like dtype):
      - an e-mail address anywhere in any value: flagged from a single value;
      - an 11-digit number with valid fødselsnummer/D-number check digits inside a longer
        text: flagged from a single value;
      - whole values that are fødselsnumre, Norwegian phone numbers (8 digits, first 2-9,
        optional +47/0047, spaces/hyphens ignored; 8-digit YYYYMMDD dates excepted) or
        personal names (2-4 capitalised words, e.g. "Kari Nordmann"): flagged when at least
        ``min_share`` of the non-missing values (and at least one) match; names in addition
        need many *different* matching values: ``min_distinct_names``, or at least 5 making
        up half of the matching values (a short list of people), so a few code names or
        titles repeated over many rows are not taken for people.
    * Numeric values of every column: fødselsnumre stored as numbers (leading zero lost),
      with the ``min_share`` rule.

    Limits: names are recognised by shape only (lower-case particles, initials, single names
    and title-case code lists of many distinct values defeat it); phone numbers and names are
    not searched inside free text. Works on the distinct values of a column (fast on long
    tables); beyond ``max_distinct`` distinct values a seeded random sample of them is scanned,
    so a single rare hit can be missed.
    """
    if text_columns is None:
        text_set = {
            c for c in df.columns
            if pd.api.types.is_object_dtype(df[c])
            or pd.api.types.is_string_dtype(df[c])
            or isinstance(df[c].dtype, pd.CategoricalDtype)
        }
    else:
        missing = [c for c in text_columns if c not in df.columns]
        if missing:
            raise PrivacyError(f"text_columns not in the table: {missing}")
        text_set = set(text_columns)

    found: dict[str, str] = {}
    for col in df.columns:
        reason = _name_reason(col)
        if reason is None:
            reason = _value_reason(
                df[col], col in text_set, min_share, min_distinct_names, max_distinct
            )
        if reason is not None:
            found[col] = reason
    return found


def _value_reason(
    s: pd.Series, is_text: bool, min_share: float, min_distinct_names: int, max_distinct: int
) -> str | None:
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return None
    vc = s.value_counts(dropna=True, sort=False)
    if vc.empty:
        return None
    if len(vc) > max_distinct:
        vc = vc.sample(max_distinct, random_state=0)
    total = int(vc.sum())
    weights = vc.to_numpy()
    values = pd.Series(np.asarray(vc.index, dtype=object), dtype=object)

    def enough(mask: np.ndarray) -> int:
        n = int(weights[mask].sum())
        return n if n >= 1 and n >= min_share * total else 0

    # fødselsnumre stored as numbers (any column)
    is_str = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    num = pd.to_numeric(values.where(~is_str), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        num_ok = np.isfinite(num) & (num >= 1e9) & (num < 1e11) & (np.floor(num) == num)
    fnr = np.zeros(len(values), dtype=bool)
    if num_ok.any():
        padded = pd.Series([f"{int(x):011d}" for x in num[num_ok]], dtype=object)
        fnr[np.flatnonzero(num_ok)] = _valid_fnr_strings(padded)
    if not is_text or not is_str.any():
        n = enough(fnr)
        return f"national identity numbers (fødselsnummer) in {_share(n, total)}" if n else None

    text = values.where(is_str, "").astype(str)
    # e-mail addresses: a single one is enough
    email = text.str.contains(_EMAIL, regex=True).to_numpy(dtype=bool)
    if email.any():
        return f"e-mail addresses in {_share(int(weights[email].sum()), total)}"

    compact = text.str.replace(r"[\s\-]", "", regex=True)
    whole11 = compact.str.fullmatch(r"[0-9]{11}").to_numpy(dtype=bool)
    if whole11.any():
        fnr[whole11] = _valid_fnr_strings(compact[whole11])
    # fødselsnummer inside a longer text: a single one is enough
    has_digits = text.str.contains(r"[0-9]{6} ?[0-9]{5}", regex=True).to_numpy(dtype=bool)
    in_text = has_digits & ~whole11
    if in_text.any():
        cand = text[in_text].str.extractall(_FNR_IN_TEXT)[0].str.replace(" ", "", regex=False)
        if not cand.empty:
            ok = _valid_fnr_strings(cand)
            rows_hit = np.unique(cand.index.get_level_values(0)[ok])
            if rows_hit.size:
                n = int(weights[rows_hit].sum())
                return (
                    f"national identity numbers (fødselsnummer) inside text in {_share(n, total)}"
                )
    n = enough(fnr)
    if n:
        return f"national identity numbers (fødselsnummer) in {_share(n, total)}"

    phone = compact.str.fullmatch(_PHONE).to_numpy(dtype=bool)
    if phone.any():
        ymd = compact.str.fullmatch(r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])")
        phone &= ~ymd.to_numpy(dtype=bool)
    n = enough(phone)
    if n:
        return f"Norwegian phone numbers in {_share(n, total)}"

    name = text.str.fullmatch(_PERSON_NAME).to_numpy(dtype=bool)
    n = enough(name)
    if n:
        distinct = int(name.sum())
        needed = min(min_distinct_names, max(5, math.ceil(0.5 * n)))
        if distinct >= needed:
            return f"personal names in {_share(n, total)}, {distinct} different"
    return None


__all__ = [
    "KEY_ENV", "PrivacyError", "pseudonym_key", "reads_personal_data", "pseudonymise",
    "drop_free_text", "personal_data_items", "find_personal_data", "is_valid_fnr",
]
