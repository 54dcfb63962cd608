"""A contract -> great-expectations expectations: the columns some rules need that the
table does not carry (derived), row conditions, the (expectation, meta) pairs of a suite, the
per-group count tables, and what each expectation asks for in words."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .report import _listed
from .spec import _TYPES, Contract, TableRule, When, _resolve, roster_blocks


def _expected_text(exp, description: str) -> str:
    """What an expectation asks for, in words, for the failure table."""
    kw = {k: getattr(exp, k, None) for k in ("column", "value_set", "regex", "min_value",
                                               "max_value")}
    kind = type(exp).__name__
    scale = re.search(r"\(([\w.]+): (-?[\d.]+)-(-?[\d.]+)\)$", description)
    if scale:  # a scale's or roster block's response range (scale_ranges, roster_ranges)
        name = scale.group(1)
        what = (f"survey.{name}" if name.startswith("collaboration.") else f"scale {name}")
        return f"an answer from {scale.group(2)} to {scale.group(3)} ({what})"
    if kind == "ExpectColumnToExist":
        return f"a column {kw.get('column')!r}"
    if kind == "ExpectColumnValuesToNotBeNull":
        return "a value (not missing)" + ("" if not description else f": {description}")
    if kind == "ExpectColumnValuesToBeInSet" and kw.get("value_set") not in (None, [True]):
        return "one of: " + _listed(sorted(map(str, kw["value_set"])))
    if kind == "ExpectColumnValuesToMatchRegex":
        return f"matches {kw.get('regex')}"
    if kind == "ExpectColumnValuesToBeBetween" and kw.get("column") != "count":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if lo is not None and hi is not None:
            return f"between {lo:g} and {hi:g}"
        return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"
    if kind == "ExpectColumnDistinctValuesToContainSet":
        return f"{kw.get('column')} contains " + _listed(kw.get("value_set") or [], 12)
    return description


def _scale_range_column(scale: str) -> str:
    return f"_in_scale_range[{scale}]"


def _roster_range_column(block: str) -> str:
    return f"_in_roster_range[{block}]"


def _roster_columns(out: pd.DataFrame, contract: Contract, study) -> dict[str, Any]:
    """``roster_ranges``: one boolean per roster block (not the block's item, missing, or
    inside its range). ``roster_own_service``: False where a respondent answers the roster item
    about their own service (their role), with the offending answer in words."""
    rules = {r.study_rule for r in contract.row_rules}
    blocks = roster_blocks(study)
    if not blocks or not {"item", "value", "role"} <= set(out.columns):
        return {}
    extra: dict[str, Any] = {}
    value = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    missing = value.isna().to_numpy()
    if "roster_ranges" in rules:
        for name, block in blocks.items():
            lo, hi = block.range
            on_block = out["item"].isin(list(block.items)).to_numpy(bool)
            extra[_roster_range_column(name)] = (
                ~on_block | missing | value.between(lo, hi).to_numpy())
    if "roster_own_service" in rules:
        service = {i: s for block in blocks.values() for i, s in block.items.items()}
        about = out["item"].astype("string").map(service).astype("string")
        own = (about == out["role"].astype("string")).fillna(False).to_numpy(bool) & ~missing
        text = pd.Series(pd.NA, index=out.index, dtype="object")
        if own.any():
            text[own] = [f"role {r!r} answers {i} = {v:g} about its own service" for r, i, v in
                         zip(out.loc[own, "role"], out.loc[own, "item"], value[own],
                             strict=True)]
        extra["_not_own_service"] = ~own
        extra["_own_service_answer"] = text
    return extra


def _derived(df: pd.DataFrame, contract: Contract, study) -> pd.DataFrame:
    """Columns some rules need that the table does not carry."""
    out = df
    roster = _roster_columns(out, contract, study)
    if roster:
        out = out.assign(**roster)
    if (any(r.study_rule == "scale_ranges" for r in contract.row_rules)
            and getattr(study, "survey", None) and {"item", "value"} <= set(df.columns)):
        # one boolean per scale: not an answer to the scale's items, missing, or inside the
        # range. (As a row condition "item in the scale's items" GX re-filters the whole table
        # for every metric of the rule: 40 DataFrame.query calls per national wave.)
        value = pd.to_numeric(out["value"], errors="coerce").astype("float64")
        extra = {}
        for sname, scale in study.survey.scales.items():
            lo, hi = scale.range
            on_scale = out["item"].isin(list(scale.items)).to_numpy(bool)
            ok = ~on_scale | value.isna().to_numpy() | value.between(lo, hi).to_numpy()
            extra[_scale_range_column(sname)] = ok
        out = out.assign(**extra)
    if any(r.study_rule == "kommune_valid_in_year" for r in contract.row_rules):
        from ..geography import code_validity, validity_text

        v = code_validity()
        lo = out["kommune"].map(v["valid_from"]).astype("Float64").fillna(-1)
        hi = out["kommune"].map(v["valid_to"]).astype("Float64").fillna(9999)
        # a file on today's borders (``borders: current``): codes of the study's
        # geography_year for every year
        year = out["year"]
        if "borders" in out.columns and getattr(study, "geography_year", None):
            current = out["borders"].astype("string").eq("current").fillna(False)
            year = year.where(~current, study.geography_year)
        ok = ((year >= lo) & (year <= hi)).astype(bool)
        # the failing rows named by code and year (a boolean says nothing)
        text = pd.Series(pd.NA, index=out.index, dtype="object")
        bad = ~ok.to_numpy()
        if bad.any():
            text[bad] = [f"{k} in {y} ({validity_text(str(k))})" for k, y in
                         zip(out.loc[bad, "kommune"], out.loc[bad, "year"], strict=True)]
        out = out.assign(_kommune_valid_in_year=ok, _kommune_in_year=text)
    return out


def _condition(when: When | list[When] | None):
    from great_expectations.expectations.row_conditions import Column

    if when is None:
        return None
    if isinstance(when, list):
        conds = [_condition(w) for w in when]
        out = conds[0]
        for c in conds[1:]:
            out = out & c
        return out
    col = Column(when.column)
    if when.is_null is True:
        return col.is_null()
    if when.is_null is False:
        return col.is_not_null()
    if when.in_ is not None:
        return col.is_in(when.in_)
    return col == when.equals


def _expectations(contract: Contract, study, columns: set[str]) -> list[tuple[Any, dict]]:
    """(expectation, meta) pairs; meta carries rule name, description and level."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    out: list[tuple[Any, dict]] = []

    personal = {n for n, spec in contract.columns.items() if spec.personal}

    def add(exp, rule, row_level, description="", column=None, examples_from=None):
        out.append((exp, {"rule": rule, "row_level": row_level, "description": description,
                          "column": column, "examples_from": examples_from,
                          "expected": _expected_text(exp, description),
                          "personal": bool(set(str(column).split(",")) & personal)}))

    for name, spec in contract.columns.items():
        if name not in columns:
            if spec.required:
                add(gxe.ExpectColumnToExist(column=name), f"{name}.exists", False,
                    f"required column {name!r} is missing", name)
            continue
        add(gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=_TYPES[spec.type]),
            f"{name}.type", False, f"values are of type {spec.type}", name)
        if spec.required:
            add(gxe.ExpectColumnValuesToNotBeNull(column=name), f"{name}.required", True,
                f"{name} is never missing", name)
        allowed = _resolve(study, spec.allowed)
        if allowed is not None:
            add(gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(allowed)),
                f"{name}.allowed", True, f"{name} takes an allowed value", name)
        if spec.regex:
            add(gxe.ExpectColumnValuesToMatchRegex(column=name, regex=spec.regex),
                f"{name}.regex", True, f"{name} matches {spec.regex}", name)
        if spec.min is not None or spec.max is not None:
            add(gxe.ExpectColumnValuesToBeBetween(column=name, min_value=spec.min,
                                                  max_value=spec.max),
                f"{name}.range", True, f"{name} between {spec.min} and {spec.max}", name)
    for key in contract.unique:
        if not set(key) <= columns:
            continue
        # ignore_row_if="never": GX's default drops the rows whose key is all missing first,
        # a copy of the whole frame (~3 s on a national wave); such rows already break the
        # key columns' own not-null rules, and here a repeated all-missing key counts too
        exp = (gxe.ExpectColumnValuesToBeUnique(column=key[0]) if len(key) == 1
               else gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key),
                                                         ignore_row_if="never"))
        add(exp, f"unique({', '.join(key)})", False, f"one row per {' × '.join(key)}",
            ",".join(key))
    for rule in contract.row_rules:
        if rule.study_rule == "scale_ranges":
            survey = study.survey
            for sname, scale in (survey.scales.items() if survey else []):
                lo, hi = scale.range
                if _scale_range_column(sname) not in columns:
                    continue
                add(gxe.ExpectColumnValuesToBeInSet(
                        column=_scale_range_column(sname), value_set=[True]),
                    f"{rule.name}[{sname}]", True,
                    f"{rule.description} ({sname}: {lo}-{hi})", "value", examples_from="value")
        elif rule.study_rule == "roster_ranges":
            for bname, block in roster_blocks(study).items():
                lo, hi = block.range
                if _roster_range_column(bname) not in columns:
                    continue
                add(gxe.ExpectColumnValuesToBeInSet(
                        column=_roster_range_column(bname), value_set=[True]),
                    f"{rule.name}[{bname}]", True,
                    f"{rule.description} (collaboration.{bname}: {lo}-{hi})", "value",
                    examples_from="value")
        elif rule.study_rule == "roster_own_service":
            if "_not_own_service" in columns:
                add(gxe.ExpectColumnValuesToBeInSet(column="_not_own_service", value_set=[True]),
                    rule.name, True, rule.description, "value",
                    examples_from="_own_service_answer")
        elif rule.study_rule == "kommune_valid_in_year":
            add(gxe.ExpectColumnValuesToBeInSet(
                    column="_kommune_valid_in_year", value_set=[True],
                    row_condition=Column("numerator").is_not_null()
                    | Column("value").is_not_null()),
                rule.name, True, rule.description, "kommune", examples_from="_kommune_in_year")
        elif rule.pair is not None:
            if {rule.pair.column_a, rule.pair.column_b} <= columns:
                add(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=rule.pair.column_a, column_B=rule.pair.column_b,
                        or_equal=rule.pair.or_equal, ignore_row_if="either_value_is_missing"),
                    rule.name, True, rule.description,
                    f"{rule.pair.column_a},{rule.pair.column_b}")
        elif rule.column is not None and rule.column in columns:
            cond = _condition(rule.when)
            kw = {"row_condition": cond} if cond is not None else {}
            if rule.not_null:
                add(gxe.ExpectColumnValuesToNotBeNull(column=rule.column, **kw), rule.name,
                    True, rule.description, rule.column)
            if rule.between is not None:
                add(gxe.ExpectColumnValuesToBeBetween(column=rule.column,
                                                      min_value=rule.between[0],
                                                      max_value=rule.between[1], **kw),
                    rule.name, True, rule.description, rule.column)
    for rule in contract.table_rules:
        if rule.min_rows is not None:
            add(gxe.ExpectTableRowCountToBeBetween(min_value=rule.min_rows), rule.name, False,
                rule.description)
        elif rule.count_distinct and not rule.per and rule.count_distinct in columns:
            add(gxe.ExpectColumnUniqueValueCountToBeBetween(
                    column=rule.count_distinct, min_value=_resolve(study, rule.min)),
                rule.name, False, rule.description, rule.count_distinct)
        elif rule.column and rule.contains is not None and rule.column in columns:
            values = _resolve(study, rule.contains)
            if values:
                add(gxe.ExpectColumnDistinctValuesToContainSet(column=rule.column,
                                                               value_set=list(values)),
                    rule.name, False, rule.description, rule.column)
    return out


def _group_counts(df: pd.DataFrame, rule: TableRule, study) -> pd.DataFrame | None:
    """The derived table of a per-group ``count_distinct`` rule: one row per required group."""
    if not rule.count_distinct or not rule.per or not set(rule.per) <= set(df.columns):
        return None
    counts = df.groupby(rule.per, dropna=False)[rule.count_distinct].nunique()
    levels = []
    for col in rule.per:
        required = _resolve(study, rule.groups.get(col)) if col in rule.groups else None
        levels.append(sorted(df[col].dropna().unique()) if required is None
                      else list(required))
    full = pd.MultiIndex.from_product(levels, names=rule.per)
    counts = counts.reindex(full, fill_value=0).rename("count").reset_index()
    # ``agg(axis=1)`` of an empty frame returns a frame, not a column: a table whose every row
    # was rejected has no groups left to count (its row failures say why)
    counts["group"] = (counts[rule.per].astype(str).agg("/".join, axis=1) if len(counts)
                       else pd.Series([], index=counts.index, dtype=object))
    return counts
