"""Privacy: pseudonymisation of respondent/informant IDs at ingest, free-text and personal-data
screening, and small-cell suppression of everything published.

Pseudonyms are keyed HMAC-SHA256 digests: stable within a study, so the same person keeps the
same pseudonym in every wave (panels still pair), and not reversible without the key. The key
comes from the environment variable ``EVALUATION_PSEUDONYM_KEY``; only a synthetic study (the
shipped example) may instead carry a documented demo key in study.yaml
(``privacy.demo_pseudonym_key``). Python's ``hmac`` is the standard tool for this.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

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


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: list[str],
    threshold: int,
    value_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Blank every row whose count in any of ``count_columns`` is below ``threshold`` (but > 0 is
    not required: a zero count is not sensitive and is kept).

    The counts and the ``value_columns`` of such a row become NaN and the column ``suppressed``
    says True. Secondary suppression (stopping a hidden cell from being recovered from totals)
    is the job of the table builder, which knows the margins.
    """
    out = table.copy()
    counts = out[count_columns].apply(pd.to_numeric, errors="coerce")
    small = ((counts > 0) & (counts < threshold)).any(axis=1)
    cols = list(count_columns) + list(value_columns or [])
    for c in cols:
        out[c] = out[c].astype("float64") if pd.api.types.is_numeric_dtype(out[c]) else out[c]
        out.loc[small, c] = np.nan
    out["suppressed"] = small.to_numpy()
    return out


#: the numbers of an Effect row that a suppression hides (with its note)
EFFECT_VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "p_value", "p_adjusted",
                        "effect_size", "n_obs")
_PAIRS = re.compile(r"\s*\(\d+ pairs?\)")


def suppress_effects(effects: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Small-cell suppression of Effect rows by the number of **persons** behind them.

    A row is hidden when a count of persons is in (0, ``threshold``): ``n_treated`` or
    ``n_control`` when they count respondents, pairs or interviews (``n_unit``, see
    :func:`evaluation_pipeline.analysis.effects.count_units`), or for a survey row that counts
    kommuner (the network vs comparison model) the scores behind it (``n_obs``). A count of
    **kommuner** never hides a row: a DiD across four network kommuner publishes no person's
    data (its registry numerators are suppressed where they are published per kommune, in the
    profiles and the group-rate table).

    A hidden row keeps its labels (source, outcome, contrast, group, ``n_unit``) and loses
    every number: the estimate, SE, CI, p-values, effect size and its person counts become
    NaN, the note -- which can hold a bootstrap CI and p-value, the Wilcoxon p or a count --
    is replaced by the reason, and a count in the estimator's name (``paired t-test (3
    pairs)``) is dropped. ``suppressed`` says True (rows already suppressed stay so).
    """
    from .analysis.effects import PERSON_UNITS, count_units

    out = effects.copy()
    units = count_units(out)
    out["n_unit"] = units.to_numpy()
    persons = units.isin(PERSON_UNITS)

    def small(col: str) -> pd.Series:
        if col not in out:
            return pd.Series(False, index=out.index)
        n = pd.to_numeric(out[col], errors="coerce")
        return (n > 0) & (n < threshold)

    hide = (persons & (small("n_treated") | small("n_control"))) | (
        ~persons & (out["source"].astype(str) == "survey") & small("n_obs"))
    if "suppressed" in out:
        hide = hide | out["suppressed"].fillna(False).astype(bool)
    numbers = [c for c in EFFECT_VALUE_COLUMNS if c in out]
    for c in numbers + [c for c in ("n_treated", "n_control") if c in out]:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    out.loc[hide, numbers] = np.nan
    # the person counts of a hidden row go; a kommune count is not sensitive and stays
    for c in ("n_treated", "n_control"):
        if c in out:
            out.loc[hide & persons, c] = np.nan
    if "note" in out:
        out["note"] = out["note"].astype(object)
        out.loc[hide, "note"] = f"suppressed: fewer than {int(threshold)} persons"
    if "estimator" in out:
        out["estimator"] = out["estimator"].astype(object)
        out.loc[hide, "estimator"] = [_PAIRS.sub("", str(e))
                                      for e in out.loc[hide, "estimator"]]
    out["suppressed"] = hide.to_numpy()
    return out


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
    from .disclosure import find_personal_data

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


from .disclosure import (  # noqa: E402  (re-exported: the privacy API in one place)
    find_personal_data,
    hidden_intervals,
    is_valid_fnr,
    recoverable_cells,
    suppress,
    unprotected_cells,
)

__all__ = [
    "KEY_ENV", "PrivacyError", "pseudonym_key", "reads_personal_data", "pseudonymise",
    "suppress_small_cells", "suppress_effects", "drop_free_text", "personal_data_items",
    "suppress", "recoverable_cells", "hidden_intervals", "unprotected_cells",
    "find_personal_data", "is_valid_fnr",
]
