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

The package's rooms: ``spec.py`` (the YAML format: loading and checking a contract, values the
study supplies), ``expectations.py`` (a contract -> great-expectations expectations, derived
columns), ``suite.py`` (running the suite: :func:`validate`), ``report.py``
(:class:`ValidationReport`, :class:`Failure` and their formatting).
"""

from .report import MAX_EXAMPLES, TABLE_EXAMPLES, Failure, ValidationReport
from .spec import (
    CONTRACTS_ENV,
    DEFAULT_CONTRACTS,
    ColumnSpec,
    Contract,
    ContractError,
    Pair,
    RowRule,
    TableRule,
    When,
    contract_tables,
    contracts_dir,
    load_contract,
    study_values,
)
from .suite import RELEASE_MEMORY_ROWS, validate

__all__ = [
    "CONTRACTS_ENV", "DEFAULT_CONTRACTS", "MAX_EXAMPLES", "RELEASE_MEMORY_ROWS", "TABLE_EXAMPLES",
    "ColumnSpec", "Contract", "ContractError", "Failure", "Pair", "RowRule", "TableRule",
    "ValidationReport", "When", "contract_tables", "contracts_dir", "load_contract",
    "study_values", "validate",
]
