"""Data contracts: ``data_contracts/<table>.yaml`` -> a great-expectations suite -> a
:class:`ValidationReport`.

The contract is the single source of truth of what a tidy table must look like. Its parts map to
great-expectations 1.x expectations, run on an ephemeral context with a pandas datasource:

==================  ==========================================================  ============
contract            expectation                                                 level
==================  ==========================================================  ============
column exists       ExpectColumnToExist (required columns)                      table
``type``            ExpectColumnValuesToBeInTypeList                            table
``required``        ExpectColumnValuesToNotBeNull                               row
``allowed``         ExpectColumnValuesToBeInSet (a list, or ``{study: name}``)  row
``regex``           ExpectColumnValuesToMatchRegex                              row
``min``/``max``     ExpectColumnValuesToBeBetween                               row
``unique``          ExpectCompoundColumnsToBeUnique / ColumnValuesToBeUnique    table
``personal``        (no expectation) failures on the column report counts only  --
row rule ``column`` ExpectColumnValuesToNotBeNull / ToBeBetween with ``when``   row
row rule ``pair``   ExpectColumnPairValuesAToBeGreaterThanB                     row
row rule study      one expectation per scale (``scale_ranges``), or a derived  row
                    column (``kommune_valid_in_year``)
``min_rows``        ExpectTableRowCountToBeBetween                              table
``count_distinct``  ExpectColumnUniqueValueCountToBeBetween, or per group on a  table
                    derived count table (every required group must be present)
``contains``        ExpectColumnDistinctValuesToContainSet                      table
==================  ==========================================================  ============

Row-level failures name the rows (index) that broke the rule: the pipeline keeps such rows
aside with the reason and tolerates as many as the study allows. Table-level failures cannot be
mended by dropping rows and always fail the check.

great_expectations is imported inside :func:`validate` (it takes seconds to import), so loading
the Dagster code location stays fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .content_cache import DiskCache
from .errors import ContractViolation, PipelineError
from .memory import release_memory

CONTRACTS_ENV = "EVALUATION_CONTRACTS"
DEFAULT_CONTRACTS = Path(__file__).resolve().parents[1] / "data_contracts"
MAX_EXAMPLES = 5
#: examples (with their rows) shown per failed rule in :meth:`ValidationReport.table_text`
TABLE_EXAMPLES = 3


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _listed(values, n: int = 8) -> str:
    values = [str(v) for v in values]
    more = f", … ({len(values)} values)" if len(values) > n else ""
    return ", ".join(values[:n]) + more


def _expected_text(exp, description: str) -> str:
    """What an expectation asks for, in words, for the failure table."""
    kw = {k: getattr(exp, k, None) for k in ("column", "value_set", "regex", "min_value",
                                               "max_value")}
    kind = type(exp).__name__
    scale = re.search(r"\((\w+): (-?[\d.]+)-(-?[\d.]+)\)$", description)
    if scale:  # a scale's response range (scale_ranges)
        return f"an answer from {scale.group(2)} to {scale.group(3)} (scale {scale.group(1)})"
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

_TYPES = {
    "string": ["str", "object", "StringDtype"],
    "number": ["float64", "int64", "float32", "int32", "Float64Dtype", "Int64Dtype",
               "Int32Dtype"],
    "integer": ["int64", "int32", "Int64Dtype", "Int32Dtype"],
    "boolean": ["bool", "BooleanDtype"],
}


class ContractError(PipelineError, ValueError):
    """A contract file is missing or malformed."""


# ---- the contract format ---------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ColumnSpec(_Strict):
    type: str = Field(pattern="^(string|number|integer|boolean)$")
    required: bool = False
    allowed: list[Any] | dict[str, str] | None = None
    regex: str | None = None
    min: float | None = None
    max: float | None = None
    personal: bool = False
    description: str | None = None


class When(_Strict):
    column: str
    is_null: bool | None = None
    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")


class Pair(_Strict):
    column_a: str
    column_b: str
    or_equal: bool = True


class RowRule(_Strict):
    name: str
    description: str = ""
    column: str | None = None
    not_null: bool | None = None
    between: tuple[float | None, float | None] | None = None
    when: When | list[When] | None = None  # a list: every condition holds
    pair: Pair | None = None
    study_rule: str | None = Field(None, pattern="^(scale_ranges|kommune_valid_in_year)$")


class TableRule(_Strict):
    name: str
    description: str = ""
    min_rows: int | None = None
    count_distinct: str | None = None
    per: list[str] = []
    groups: dict[str, dict[str, str]] = {}
    min: int | dict[str, str] | None = None
    column: str | None = None
    contains: dict[str, str] | list[Any] | None = None


class Contract(_Strict):
    table: str
    description: str = ""
    columns: dict[str, ColumnSpec]
    unique: list[list[str]] = []
    row_rules: list[RowRule] = []
    table_rules: list[TableRule] = []


def contracts_dir() -> Path:
    return Path(os.environ.get(CONTRACTS_ENV) or DEFAULT_CONTRACTS)


@lru_cache(maxsize=32)
def _load(path: str, mtime: float) -> Contract:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        return Contract(**data)
    except yaml.YAMLError as exc:
        raise ContractError(f"{p}: not valid YAML: {exc}") from exc
    except (ValidationError, TypeError) as exc:
        raise ContractError(f"{p}: not a valid contract: {exc}") from exc


def load_contract(table: str) -> Contract:
    """The contract of ``table`` from ``data_contracts/<table>.yaml``."""
    path = contracts_dir() / f"{table}.yaml"
    if not path.is_file():
        raise ContractError(f"no contract for table {table!r}: expected {path}")
    return _load(str(path), path.stat().st_mtime)


def contract_tables() -> list[str]:
    return sorted(p.stem for p in contracts_dir().glob("*.yaml"))


# ---- values the study supplies -----------------------------------------------------------------
def study_values(study, name: str) -> list[Any] | int | None:
    """A value set or number from the study, referred to as ``{study: <name>}`` in a contract.
    ``None`` means the study does not constrain it (the expectation is left out)."""
    from . import geography

    survey = study.survey
    scales = survey.scales if survey else {}
    match name:
        case "waves":
            return study.wave_ids or None
        case "kommuner":
            return study.kommuner
        case "network":
            return list(study.network)
        case "roles":
            return list(survey.roles) if survey and survey.roles else None
        case "survey_items":
            if not survey:
                return None
            items = [i for s in scales.values() for i in s.items]
            return items + list(survey.free_text) + list(survey.other_items)
        case "scale_items":
            return [i for s in scales.values() for i in s.items] or None
        case "interview_rounds":
            ivs = study.interviews
            return [r.id for r in ivs.rounds] if ivs and ivs.rounds else None
        case "indicators":
            return list(study.registry.indicators) if study.registry else None
        case "known_kommune_codes":
            return sorted(set(geography.known_codes()) | set(geography.klass_2026()))
        case "geography_codes":
            return sorted(geography.valid_codes(study.geography_year))
        case "min_respondents_per_kommune":
            return study.validation.min_respondents_per_kommune
    raise ContractError(f"unknown study value {name!r} in a contract")


def _resolve(study, ref: Any) -> Any:
    if isinstance(ref, dict) and set(ref) == {"study"}:
        return study_values(study, ref["study"])
    return ref


# ---- the report --------------------------------------------------------------------------------
@dataclass
class Failure:
    """One failed expectation: which rule, on which column, how often, a few offending values."""

    rule: str
    expectation: str
    column: str | None
    count: int
    examples: list[Any]
    row_level: bool
    description: str = ""
    #: what the rule expected, in words (e.g. "one of the study's survey_items: sam1, ...")
    expected: str = ""
    #: up to :data:`TABLE_EXAMPLES` (row, value) pairs: distinct offending values with the
    #: table row (index of the validated frame) of their first occurrence
    example_rows: tuple = ()
    #: the landing file(s) of the example rows, when the table names them (a ``file`` column)
    files: tuple = ()

    def __str__(self) -> str:
        where = f" (column {self.column})" if self.column else ""
        # examples that are only True/False (a derived check column) name nothing
        shown = [e for e in self.examples if not isinstance(e, bool)]
        ex = f"; e.g. {', '.join(map(repr, shown))}" if shown else ""
        return f"{self.rule}{where}: {self.count} failing{ex} — {self.description}"

    def example_text(self) -> str:
        """Up to three examples: distinct values with their row, or the values alone."""
        if self.example_rows:
            return ", ".join(f"{v!r} (row {r})" for r, v in self.example_rows)
        shown = list(dict.fromkeys(map(str, self.examples)))[:TABLE_EXAMPLES]
        return ", ".join(shown)


@dataclass
class ValidationReport:
    """The outcome of validating one table against its contract."""

    table: str
    n_rows: int
    failures: list[Failure] = field(default_factory=list)
    failed_rows: dict[Any, list[str]] = field(default_factory=dict)
    data_docs: Path | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def table_failures(self) -> list[Failure]:
        return [f for f in self.failures if not f.row_level]

    @property
    def rejected_count(self) -> int:
        return len(self.failed_rows)

    def acceptable(self, max_rejected: int = 0) -> bool:
        """No table-level failure and at most ``max_rejected`` rows broke row rules."""
        return not self.table_failures and self.rejected_count <= max_rejected

    def split(self, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(rows that passed every row rule, rejected rows with a ``reason`` column). When no
        row was rejected, the first frame shares ``df``'s columns instead of copying them."""
        bad = df.index.isin(list(self.failed_rows))
        rejected = df[bad].copy()
        rejected["reason"] = [
            "; ".join(self.failed_rows[i]) for i in rejected.index
        ]
        if not bad.any():
            # nothing rejected: a new frame over the same columns (a copy held a national
            # wave twice at the step's peak); without pandas' copy-on-write, a value changed
            # in place in one frame changes in the other too
            return df.copy(deep=False), rejected
        return df[~bad].copy(), rejected

    def summary(self) -> str:
        if self.passed:
            return f"{self.table}: all {self.n_rows} rows pass the contract"
        lines = [f"{self.table}: {len(self.failures)} contract rule(s) failed "
                 f"({self.rejected_count} of {self.n_rows} rows rejected)"]
        lines += [f"  - {f}" for f in self.failures]
        return "\n".join(lines)

    def with_indicator_files(self, df: pd.DataFrame, study) -> ValidationReport:
        """This report with each failure's landing files named where the table has no file
        column but an ``indicator`` one (registry observations): the study.yaml files of the
        example rows' indicators. ``self`` (a cached report) is left unchanged."""
        inds = study.registry.indicators if getattr(study, "registry", None) else {}
        if self.passed or "indicator" not in df.columns or not inds:
            return self
        failures = []
        for f in self.failures:
            files = tuple(dict.fromkeys(
                inds[i].file for i in (df.at[r, "indicator"] for r, _ in f.example_rows
                                       if r in df.index) if i in inds))
            failures.append(replace(f, files=files) if files and not f.files else f)
        return replace(self, failures=failures)

    def table_text(self, source: str | Path | None = None, *, width: int = 72) -> str:
        """The failures as a short table a person can act on: file, column, rule, number of
        failing rows, up to three example values with their row, and what was expected.

        ``source`` is the file the table was read from (several: comma-separated); rows of a
        table with a ``file`` column name their own file. Row numbers are rows of the tidy
        table (its index), as in ``<table>_rejected``. ID columns (``personal``) show counts
        only."""
        if self.passed:
            return self.summary()
        src = str(source) if source is not None else f"table {self.table}"
        head = (f"{self.table} ({src}): {len(self.failures)} contract rule(s) failed; "
                f"{self.rejected_count} of {self.n_rows} rows rejected")
        name = ", ".join(Path(x.strip()).name for x in src.split(",")) \
            if source is not None else self.table
        cols = ("file", "column", "rule", "rows", "examples (row)", "expected")
        rows = []
        for f in self.failures:
            files = ", ".join(Path(x).name for x in f.files) if f.files else name
            rows.append((files, f.column or "-", f.rule, str(f.count),
                         _clip(f.example_text() or "-", width),
                         _clip(f.expected or f.description or "-", width)))
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]

        def line(cells) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [head, "  " + line(cols), *("  " + line(r) for r in rows)]
        for f in self.failures:  # a renamed column: present under a name nobody expects
            if not (f.examples and str(f.examples[0]).startswith("missing: ")):
                continue
            unknown = [v for g in self.failures if g.column == f.column and g is not f
                       and g.rule.endswith(".allowed") for _, v in g.example_rows]
            if unknown:
                out.append(
                    f"  hint: {f.column} {', '.join(map(repr, unknown))} is not declared in "
                    f"study.yaml and {str(f.examples[0])[len('missing: '):]} is missing: "
                    "renamed in the file? Rename it back in the file, or use the new name "
                    "in study.yaml.")
        return "\n".join(out)

    def raise_for_failures(self, source: str | Path, max_rejected: int = 0) -> None:
        """Raise :class:`ContractViolation` naming ``source`` (the file or asset the table came
        from) unless the report is :meth:`acceptable`."""
        if not self.acceptable(max_rejected):
            raise ContractViolation(f"{source}: {self.summary()}")

    def metadata(self) -> dict[str, Any]:
        """JSON-able counts per failed rule (offending values are pseudonymised IDs, codes or
        numbers, never free text)."""
        return {
            "rows": self.n_rows,
            "rows_rejected": self.rejected_count,
            "failed_rules": {
                f.rule: {"count": f.count, "column": f.column, "row_level": f.row_level,
                         "examples": [str(e) for e in f.examples]}
                for f in self.failures
            },
        }


# ---- building and running the suite -----------------------------------------------------------
def _scale_range_column(scale: str) -> str:
    return f"_in_scale_range[{scale}]"


def _derived(df: pd.DataFrame, contract: Contract, study) -> pd.DataFrame:
    """Columns some rules need that the table does not carry."""
    out = df
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
        from .geography import code_validity, validity_text

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


def _run_suite(name: str, df: pd.DataFrame, expectations, docs_dir: Path | None):
    import great_expectations as gx

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = ctx.data_sources.add_pandas("pandas").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("whole")
    for exp, meta in expectations:
        exp.meta = meta
    # the whole suite in one add: ``suite.add_expectation`` re-serialises the stored suite on
    # every call (quadratic in the number of expectations: ~1 s per survey wave)
    suite = ctx.suites.add(gx.ExpectationSuite(name=name,
                                               expectations=[e for e, _ in expectations]))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch,
                                                                suite=suite))
    fmt = {"result_format": "COMPLETE", "partial_unexpected_count": MAX_EXAMPLES}
    with _no_batch_fingerprint():
        return _run_validation(ctx, name, df, vd, fmt, docs_dir)


@contextmanager
def _no_batch_fingerprint():
    """GX names every pandas batch smaller than ``HASH_THRESHOLD`` (1 GB, shallow) by an MD5 of
    the whole frame, shown only as a batch marker in the data docs: ~3 s of a national survey
    wave's ~20 s validation. :func:`validate` already keys the frame by its content, so the
    threshold is set to 0 (no fingerprint) while a suite runs, and restored after."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    if not hasattr(engine, "HASH_THRESHOLD"):  # another GX version: nothing to switch off
        yield
        return
    before = engine.HASH_THRESHOLD
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = before


def _run_validation(ctx, name: str, df: pd.DataFrame, vd, fmt: dict, docs_dir: Path | None):
    import great_expectations as gx

    if docs_dir is None:
        return vd.run(batch_parameters={"dataframe": df}, result_format=fmt), None
    docs_dir.mkdir(parents=True, exist_ok=True)
    ctx.add_data_docs_site(site_name="docs", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(docs_dir.resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    cp = ctx.checkpoints.add(gx.Checkpoint(
        name=f"{name}-checkpoint", validation_definitions=[vd], result_format=fmt,
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["docs"])],
    ))
    res = cp.run(batch_parameters={"dataframe": df})
    ident, result = next(iter(res.run_results.items()))
    page = docs_dir / "validations" / f"{str(ident).split('::', 1)[1]}.html"
    return result, (page if page.exists() else None)


def validate(
    table_name: str,
    df: pd.DataFrame,
    study,
    *,
    data_docs: Path | None = None,
    label: str | None = None,
    cache_dir: Path | None = None,
) -> ValidationReport:
    """Validate ``df`` against ``data_contracts/<table_name>.yaml`` with great-expectations.

    ``label`` names the validation (e.g. ``survey_answers-w2016``); with ``data_docs`` a folder,
    GX Data Docs HTML for this validation are written there (``report.data_docs`` is the page).

    The same frame (by content), study and contract give the same report, so it is reused: from
    memory in one process, and with ``cache_dir`` from a file there across processes (the
    pipeline's blocking contract check and its validate step run in separate processes and
    validate the same rows; a national survey wave takes ~30 s). The files are pickles of the
    reports (rule counts, failing row numbers and up to :data:`MAX_EXAMPLES` example values per
    rule, as in the data docs), written atomically; the newest :data:`_DISK_CACHE_SIZE` are
    kept.
    """
    key = _memo_key(table_name, df, study)
    cached = _MEMO.get(key) if key else None
    if cached is None and key and cache_dir is not None:
        cached = _read_cached(Path(cache_dir), key)
    if cached is not None and (data_docs is None or (cached.data_docs is not None
                                                     and Path(cached.data_docs).exists())):
        if key:
            _MEMO[key] = cached
        return cached
    report = _validate(table_name, df, study, data_docs=data_docs, label=label)
    if len(df) >= RELEASE_MEMORY_ROWS:
        # the suite's objects hold the frame and its copies in reference cycles: a national
        # survey wave's step kept ~500 MB after validating (1.1 GB -> 0.6 GB after this, in
        # ~0.3 s), and the step after it started from there
        release_memory()
    if key:
        _MEMO[key] = report
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        if cache_dir is not None:
            _write_cached(Path(cache_dir), key, report)
    return report


#: validating at least this many rows is followed by :func:`release_memory`
RELEASE_MEMORY_ROWS = 500_000
#: recent reports by (table, content of the frame, study): the blocking check and the
#: validate asset of one table validate the same frame; in one process the second call reuses
#: the first's report instead of running the whole suite again
_MEMO: dict[tuple, ValidationReport] = {}
_MEMO_SIZE = 8
#: reports kept in a ``cache_dir`` (the oldest are removed)
_DISK_CACHE_SIZE = 32


def _disk(cache_dir: Path) -> DiskCache:
    return DiskCache(cache_dir, "report", keep=_DISK_CACHE_SIZE)


def _read_cached(cache_dir: Path, key: tuple) -> ValidationReport | None:
    return _disk(cache_dir).get(f"{key[0]}-{key[1]}", ValidationReport)


def _write_cached(cache_dir: Path, key: tuple, report: ValidationReport) -> None:
    _disk(cache_dir).put(f"{key[0]}-{key[1]}", report)


def _memo_key(table_name: str, df: pd.DataFrame, study) -> tuple | None:
    try:
        content = pd.util.hash_pandas_object(df, index=True).to_numpy()
        # dtypes by the contract types they satisfy: the blocking check validates the
        # in-memory frame (StringDtype), the validate asset the same rows loaded back from
        # the warehouse (object); both hash alike and pass the same type rules
        columns = tuple(map(str, df.columns)), tuple(map(_type_classes, df.dtypes))
        dump = study.model_dump_json() if hasattr(study, "model_dump_json") else repr(study)
    except (TypeError, ValueError):  # unhashable cells: validate every time
        return None
    digest = hashlib.sha256(content.tobytes())
    digest.update(repr(columns).encode())
    digest.update(dump.encode())
    digest.update(_contract_text(table_name).encode())
    digest.update(_code_digest())
    return table_name, digest.hexdigest()


@lru_cache(maxsize=1)
def _code_digest() -> bytes:
    """This module's source and the great-expectations version: a report kept on disk by an
    older version of the validation code is not reused."""
    import inspect
    import sys
    from importlib import metadata

    h = hashlib.sha256(inspect.getsource(sys.modules[__name__]).encode())
    try:
        h.update(metadata.version("great-expectations").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - GX is a dependency
        pass
    return h.digest()


def _type_classes(dtype) -> str:
    names = {str(dtype), type(dtype).__name__}
    return ",".join(t for t, accepted in _TYPES.items() if names & set(accepted)) or str(dtype)


def _contract_text(table_name: str) -> str:
    path = contracts_dir() / f"{table_name}.yaml"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _validate(table_name: str, df: pd.DataFrame, study, *, data_docs: Path | None,
              label: str | None) -> ValidationReport:
    contract = load_contract(table_name)
    frame = _derived(df, contract, study)
    name = (label or table_name).replace("/", "-")
    expectations = _expectations(contract, study, set(frame.columns))
    report = ValidationReport(table=table_name, n_rows=len(df))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, page = _run_suite(name, frame, expectations, data_docs)
        report.data_docs = page
        _collect(report, result, frame)
        # per-group counts judge the rows that would be kept (rejected rows don't count)
        need = [c for c in dict.fromkeys(
            c for r in contract.table_rules if r.count_distinct and r.per
            for c in (*r.per, r.count_distinct)) if c in frame.columns]
        kept = frame.loc[~frame.index.isin(list(report.failed_rows)), need]
        for rule in contract.table_rules:
            counts = _group_counts(kept, rule, study)
            if counts is None:
                continue
            import great_expectations.expectations as gxe

            minimum = _resolve(study, rule.min)
            exp = gxe.ExpectColumnValuesToBeBetween(column="count", min_value=minimum)
            meta = {"rule": rule.name, "row_level": False, "column": rule.count_distinct,
                    "description": f"{rule.description} (min {minimum})"}
            res, _ = _run_suite(f"{name}-{rule.name}", counts, [(exp, meta)], None)
            for r in res.results:
                if not r.success:
                    idx = r.result.get("unexpected_index_list") or []
                    bad = counts.loc[idx]
                    report.failures.append(Failure(
                        rule=rule.name, expectation=r.expectation_config.type,
                        column=rule.count_distinct, count=len(bad),
                        examples=[f"{g}: {c}" for g, c in zip(bad["group"], bad["count"],
                                                              strict=True)][:MAX_EXAMPLES],
                        row_level=False, description=meta["description"],
                        expected=f"at least {minimum} per {' × '.join(rule.per)}"))
    return report


def _collect(report: ValidationReport, result, frame: pd.DataFrame | None = None) -> None:
    for r in result.results:
        if r.success:
            continue
        meta = r.expectation_config.meta or {}
        res = r.result or {}
        err = (r.exception_info or {}).get("exception_message")
        idx = res.get("unexpected_index_list") or []
        if meta.get("row_level") and idx:
            for i in idx:
                report.failed_rows.setdefault(i, []).append(meta["rule"])
        count = res.get("unexpected_count")
        if count is None:
            count = len(idx) if idx else 1
        examples = res.get("partial_unexpected_list") or []
        source = meta.get("examples_from")
        if source and idx and frame is not None and source in frame.columns:
            # a rule checked on a derived column: show the table's own values
            examples = frame.loc[list(idx[:MAX_EXAMPLES]), source].tolist()
        if not examples and "observed_value" in res:
            examples = [res["observed_value"]]
        if err and not examples:
            examples = [err.splitlines()[0][:200]]
        example_rows: tuple = ()
        files: tuple = ()
        column = meta.get("column")
        shown = source or column
        if r.expectation_config.type == "expect_column_distinct_values_to_contain_set" \
                and frame is not None and column in frame.columns:
            # name what is missing (a renamed survey item: the item study.yaml expects)
            wanted = r.expectation_config.kwargs.get("value_set") or []
            have = set(frame[column].dropna().astype(str).unique())
            missing = [v for v in wanted if str(v) not in have]
            if missing:
                examples = ["missing: " + ", ".join(map(str, missing))]
                count = len(missing)
        elif idx and frame is not None and shown in frame.columns:
            seen: set[str] = set()
            for i in idx:
                v = _plain(frame.at[i, shown])
                if repr(v) not in seen:
                    seen.add(repr(v))
                    example_rows += ((_plain(i), v),)
                if len(seen) >= TABLE_EXAMPLES:
                    break
            if "file" in frame.columns:
                files = tuple(dict.fromkeys(str(frame.at[i, "file"]) for i, _ in example_rows))
        if meta.get("personal"):
            examples = []  # an ID column: count only, never the values
            example_rows = ()
        report.failures.append(Failure(
            rule=meta.get("rule", r.expectation_config.type),
            expectation=r.expectation_config.type,
            column=column,
            count=int(count),
            examples=[_plain(e) for e in examples[:MAX_EXAMPLES]],
            row_level=bool(meta.get("row_level")) and bool(idx),
            description=meta.get("description", ""),
            expected=meta.get("expected", ""),
            example_rows=example_rows,
            files=files,
        ))


def _plain(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
