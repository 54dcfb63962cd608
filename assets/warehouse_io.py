"""The DuckDB warehouse IO manager: DataFrames stored by column name, read back in one order
with shared strings (the load tuning a national study needs).

The warehouse's path and its read-only connection live in the library
(:mod:`evaluation_pipeline.warehouse`; notebooks use them without dagster). The output folder
is created when a run first uses the IO manager (:meth:`WarehouseIOManager.create_io_manager`),
not when the definitions are built: loading the code location creates nothing. A locked
database file is retried by ``dagster_duckdb``'s own connect (parallel wave workers take the
writer lock in turns).

Private Dagster imports (each checked for Dagster 1.13; keep this list short):

- ``TableMetadataSet``: the typed ``dagster/column_schema`` + ``dagster/row_count`` metadata
  set; not exported as ``dg.TableMetadataSet`` in 1.13.
- ``DuckDbClient`` (``dagster_duckdb.io_manager``): its ``get_select_statement`` builds the
  SELECT the IO manager uses; not exported from ``dagster_duckdb``.
"""

from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
from dagster._core.definitions.metadata import TableMetadataSet
from dagster_duckdb import DuckDBIOManager
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasTypeHandler

from evaluation_pipeline.study import Study
from evaluation_pipeline.warehouse import warehouse_path


class WarehouseTypeHandler(DuckDBPandasTypeHandler):
    """Stores DataFrames in DuckDB by column name, not position.

    The stock handler inserts ``select * from df`` positionally into an existing table, so a
    table whose columns changed between versions would silently receive values in the wrong
    columns. Here rows are inserted ``by name``; when the set of columns (or a column's type)
    changed, the table is recreated (a partitioned table then holds only the partitions
    written since, and the log says so). Empty frames still create or empty the table, so
    downstream readers and notebooks find it.
    """

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        name = f"{table_slice.schema}.{table_slice.table}"
        cols = [r[0] for r in connection.execute(
            "select column_name from information_schema.columns where table_schema = ? and "
            "table_name = ? order by ordinal_position",
            [table_slice.schema, table_slice.table],
        ).fetchall()]
        if cols and set(cols) != set(map(str, obj.columns)):
            context.log.warning(f"{name}: columns changed; table recreated")
            connection.execute(f"drop table {name}")
        connection.execute(f"create table if not exists {name} as select * from obj limit 0")
        try:
            try:
                connection.execute(f"insert into {name} by name select * from obj")
            except duckdb.Error:
                # a column created from a partition where it was all missing (or empty) has
                # DuckDB's type NULL: give it this frame's type and insert again, keeping the
                # partitions already written (waves arrive in any order)
                if not _widen_null_columns(connection, table_slice, obj):
                    raise
                connection.execute(f"insert into {name} by name select * from obj")
        except duckdb.Error as err:
            context.log.warning(f"{name}: column types changed ({err}); table recreated")
            connection.execute(f"drop table {name}")
            connection.execute(f"create table {name} as select * from obj")
        count = {"partition_row_count" if context.has_partition_key else "row_count": len(obj)}
        context.add_output_metadata(
            {**TableMetadataSet(**count), "storage": "duckdb", "columns": len(obj.columns)}
        )

    def load_input(self, context, table_slice, connection) -> pd.DataFrame:
        if table_slice.partition_dimensions and len(context.asset_partition_keys) == 0:
            return pd.DataFrame()
        select, order = ordered_select(table_slice)
        return load_frame(connection, select, order=order)


#: the extra columns :func:`ordered_select` reads to sort by (dropped by :func:`load_frame`)
ORDER_COLUMNS_PREFIX = "__evaluation_order_"


def ordered_select(table_slice) -> tuple[str, list[str]]:
    """The stock handler's select of ``table_slice`` and the columns to sort its rows by, so
    that every read gives them in one order: by partition, then in the order written.

    A partitioned table is read with ``WHERE wave in ('w2012', ...)``, which DuckDB 2.0 runs
    as a hash join with the list, and (like any filter on a parallel scan there) it does not
    keep the table's order: the rows of a national ``scale_scores`` (2.5 million rows, 5
    waves) came back in a different order on every read. The analyses' float sums then
    differed in the last bits between runs on the same data, and the content caches
    (:mod:`evaluation_pipeline.content_cache`, which hash rows in order) missed every old
    wave when a new one was added. So the select also reads, per row, the position of its
    partition among the sorted partition keys and its ``rowid`` (the position it was written
    at), and :func:`load_frame` sorts by them (an ``ORDER BY`` in DuckDB does the same at
    ~350 MB more peak memory on a national wave). Sorting the partitions by key also makes the
    order independent of which parallel wave worker wrote first. An unpartitioned table is a
    plain scan, which keeps its order.
    """
    select = DuckDbClient.get_select_statement(table_slice)
    dims = table_slice.partition_dimensions or []
    _, sep, where = select.partition(" WHERE\n")
    if not dims or not sep:
        return select, []
    # integer keys (an object column would cost a copy of the text columns when dropped):
    # the position of the row's partition among the sorted keys, then its rowid; a time
    # window is one range, in which the rowid alone orders
    extra = [f"list_position([{', '.join(map(_sql_text, sorted(map(str, d.partitions))))}], "
             f"CAST(({d.partition_expr}) AS VARCHAR))"
             for d in dims if not isinstance(d.partitions, dg.TimeWindow)] + ["rowid"]
    keys = [f"{ORDER_COLUMNS_PREFIX}{i}" for i in range(len(extra))]
    cols = ", ".join(table_slice.columns) if table_slice.columns else "*"
    named = ", ".join(f"{e} AS {k}" for e, k in zip(extra, keys, strict=True))
    return (f"SELECT {cols}, {named} FROM {table_slice.schema}.{table_slice.table} "
            f"WHERE\n{where}", keys)


#: a text column is read through a dictionary (DuckDB ENUM) when it has at most this many
#: distinct values (or one per :data:`DICTIONARY_ROWS_PER_LEVEL` rows, if more), and at most
#: half as many as rows
DICTIONARY_MAX_LEVELS = 2**16
#: ... so that a national wave's respondent IDs (100,000 in 3 million rows) are read as a
#: dictionary too: peak memory of the load -200 MB and 0.6 s less than making 3 million
#: strings and sharing them after. Building an ENUM costs ~6 µs per value, so a column
#: with more values per row is cheaper through :func:`share_strings`
DICTIONARY_ROWS_PER_LEVEL = 24


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_frame(connection, select: str, order: list[str] | None = None) -> pd.DataFrame:
    """The rows of ``select`` as a DataFrame, as DuckDB's ``fetchdf`` returns them, with each
    repeated text value held as one Python object (:func:`share_strings`); with ``order``
    (columns of ``select``, see :func:`ordered_select`) sorted by those columns, which are then
    dropped.

    ``fetchdf`` makes a new ``str`` for every text cell: a national wave (3 million answers,
    9 columns) becomes 27 million objects, ~1.3 GB, before :func:`share_strings` can merge
    them, and the freed objects leave the process's memory fragmented (the next step does not
    get it back). Here the low-cardinality text columns (kommune, role, item, wave, labels)
    are read as DuckDB ENUMs (pandas categoricals: codes plus one object per distinct value)
    and expanded to object columns of shared strings; the others go through
    :func:`share_strings` as before. Values, dtypes and missing cells (``None``) are those of
    ``fetchdf`` (tests/test_warehouse.py). A national wave: peak RSS of the load 1.9 -> 1.2 GB.
    """
    cols = connection.execute(f"describe {select}").fetchall()
    text = [c[0] for c in cols if str(c[1]).upper() == "VARCHAR"]
    levels: dict[str, list[str]] = {}
    if text:
        approx = ", ".join(f'approx_count_distinct("{c}")' for c in text)
        n, *estimates = connection.execute(f"select count(*), {approx} from ({select})").fetchone()
        most = max(DICTIONARY_MAX_LEVELS, n // DICTIONARY_ROWS_PER_LEVEL)
        for col, est in zip(text, estimates, strict=True):
            if not 0 < est <= most or 2 * est > n:
                continue
            values = [r[0] for r in connection.execute(
                f'select distinct "{col}" from ({select}) where "{col}" is not null').fetchall()]
            if 0 < len(values) <= most and 2 * len(values) <= n:
                levels[col] = values
    if not levels:
        return _sorted(share_strings(connection.execute(select).fetchdf()), order)
    casts = ", ".join(f'cast("{c}" as enum({", ".join(map(_sql_text, v))})) as "{c}"'
                      for c, v in levels.items())
    df = connection.execute(f"select * replace ({casts}) from ({select})").fetchdf()
    for col in levels:
        cat = df[col].array
        codes = np.asarray(cat.codes)
        shared = np.asarray(cat.categories, dtype=object).take(codes)
        missing = codes < 0
        if missing.any():
            shared[missing] = None
        df[col] = shared
    return _sorted(share_strings(df, skip=set(levels)), order)


def _sorted(df: pd.DataFrame, order: list[str] | None) -> pd.DataFrame:
    """``df`` sorted by the integer columns ``order``, without them; a frame out of order is
    reordered one column at a time (a national wave is ~1 GB: a whole-frame ``take`` would
    hold it twice)."""
    if not order:
        return df
    keys = [df[c].to_numpy() for c in order]
    for c in order:  # in place (integer columns: only the small integer block is copied)
        del df[c]
    idx = np.lexsort(keys[::-1])  # np.lexsort sorts by its last key first
    if (idx[1:] > idx[:-1]).all():  # already in order
        return df
    for col in df.columns:
        df[col] = df[col].array.take(idx)
    return df


def share_strings(df: pd.DataFrame, skip=()) -> pd.DataFrame:
    """``df`` with each repeated text value held as one Python object per distinct value.

    DuckDB returns a new ``str`` object for every cell, so a 3-million-row wave holds 3
    million separate copies of a handful of kommune codes, roles and items. pandas hashes and
    compares such strings character by character in every groupby, ``factorize`` and
    ``duplicated``; shared objects compare by identity and keep their cached hash, which
    cuts the CPU time of the per-wave analysis by ~40 % (measured on a national wave: 38.8 s
    -> 24.0 s, after 1.4 s for this). Columns whose values are mostly distinct are left as
    they are, and so are the columns in ``skip``. The values, dtypes and missing cells are
    unchanged (``df`` is modified in place)."""
    for col in df.select_dtypes(include="object").columns:
        if col in skip:  # already shared
            continue
        values = df[col].to_numpy()
        try:
            codes, uniques = pd.factorize(values)
        except TypeError:  # unhashable cells (lists): nothing to share
            continue
        if not len(uniques) or 2 * len(uniques) > len(values):  # all missing, or distinct
            continue
        shared = np.asarray(uniques, dtype=object).take(codes)
        missing = codes < 0
        if missing.any():
            shared[missing] = values[missing]
        df[col] = shared
    return df


def _widen_null_columns(connection, table_slice, obj: pd.DataFrame) -> bool:
    """Set the type of the table's NULL-typed columns to the type DuckDB reads from ``obj``
    (where that is not NULL as well); True if any column changed."""
    name = f"{table_slice.schema}.{table_slice.table}"
    have = dict(connection.execute(
        "select column_name, data_type from information_schema.columns where table_schema = ? "
        "and table_name = ?", [table_slice.schema, table_slice.table]).fetchall())
    new = {r[0]: r[1] for r in connection.execute("describe select * from obj").fetchall()}
    changed = False
    for col, kind in have.items():
        if kind.strip('"').upper() == "NULL" and new.get(col, "NULL").strip('"').upper() != "NULL":
            connection.execute(f'alter table {name} alter column "{col}" set data type {new[col]}')
            changed = True
    return changed


class WarehouseIOManager(DuckDBIOManager):
    """The study's DuckDB warehouse (pandas DataFrames, written by column name)."""

    @staticmethod
    def type_handlers():
        return [WarehouseTypeHandler()]

    @staticmethod
    def default_load_type():
        return pd.DataFrame

    def create_io_manager(self, context):
        """The IO manager of a run; first creates the warehouse's folder (the study's output
        folder), so that building the definitions creates nothing."""
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return super().create_io_manager(context)


def io_manager_for(study: Study) -> WarehouseIOManager:
    """The warehouse IO manager of ``study`` (creates no folder: see the module docstring)."""
    return WarehouseIOManager(database=str(warehouse_path(study)), schema="evaluation")
