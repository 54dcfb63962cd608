"""The outcome of validating a table: :class:`ValidationReport` (failed rules, failing rows,
the valid/rejected split) and its formatting (summary, the failure table, metadata)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ContractViolation

MAX_EXAMPLES = 5
#: examples (with their rows) shown per failed rule in :meth:`ValidationReport.table_text`
TABLE_EXAMPLES = 3


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _listed(values, n: int = 8) -> str:
    values = [str(v) for v in values]
    more = f", … ({len(values)} values)" if len(values) > n else ""
    return ", ".join(values[:n]) + more


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
    #: what to do, in words (a missing item: where study.yaml declares it, did you mean ...)
    hint: str = ""

    def __str__(self) -> str:
        where = f" (column {self.column})" if self.column else ""
        # examples that are only True/False (a derived check column) name nothing
        shown = [e for e in self.examples if not isinstance(e, bool)]
        ex = f"; e.g. {', '.join(map(repr, shown))}" if shown else ""
        hint = f"; hint: {self.hint}" if self.hint else ""
        return f"{self.rule}{where}: {self.count} failing{ex} — {self.description}{hint}"

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
        out += [f"  hint: {f.hint}." for f in self.failures if f.hint]
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
