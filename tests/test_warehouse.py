"""The warehouse IO manager writes by column name: a table whose columns changed between runs
never receives values in the wrong columns."""

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from assets.warehouse_io import WarehouseIOManager


def _materialize(tmp_path, frame: pd.DataFrame, partition: str | None = None):
    parts = dg.StaticPartitionsDefinition(["a", "b"]) if partition else None

    @dg.asset(name="t", partitions_def=parts,
              metadata={"partition_expr": "p"} if partition else None)
    def t() -> pd.DataFrame:
        return frame

    io = WarehouseIOManager(database=str(tmp_path / "w.duckdb"), schema="s")
    assert dg.materialize([t], resources={"io_manager": io}, partition_key=partition).success
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        return con.execute("select * from s.t").df()
    finally:
        con.close()


def test_reordered_and_new_columns(tmp_path):
    _materialize(tmp_path, pd.DataFrame({"kommune": ["1508"], "year": [2020], "value": [1.5]}))
    # same columns, new order: values stay in their columns
    out = _materialize(tmp_path, pd.DataFrame({"value": [2.5], "kommune": ["1580"],
                                               "year": [2021]}))
    assert out.to_dict("records") == [{"kommune": "1580", "year": 2021, "value": 2.5}]
    # a new column: the table is recreated with it
    out = _materialize(tmp_path, pd.DataFrame({"kommune": ["1508"], "year": [2022],
                                               "estimated": [True], "value": [3.5]}))
    assert out.to_dict("records") == [
        {"kommune": "1508", "year": 2022, "estimated": True, "value": 3.5}]


def test_changed_type_and_empty_frame(tmp_path):
    _materialize(tmp_path, pd.DataFrame({"kommune": ["1508"], "n": [1]}))
    out = _materialize(tmp_path, pd.DataFrame({"kommune": ["1508"], "n": ["prikket"]}))
    assert out["n"].tolist() == ["prikket"]
    out = _materialize(tmp_path, pd.DataFrame({"kommune": pd.Series([], dtype=str),
                                               "n": pd.Series([], dtype=str)}))
    assert out.empty and list(out.columns) == ["kommune", "n"]


def test_partitions_written_by_name(tmp_path):
    _materialize(tmp_path, pd.DataFrame({"p": ["a"], "x": [1.0], "y": [2.0]}), "a")
    out = _materialize(tmp_path, pd.DataFrame({"y": [4.0], "p": ["b"], "x": [3.0]}), "b")
    out = out.sort_values("p").reset_index(drop=True)
    assert out.to_dict("records") == [{"p": "a", "x": 1.0, "y": 2.0},
                                      {"p": "b", "x": 3.0, "y": 4.0}]


def test_partition_with_an_all_missing_column_first_keeps_every_partition(tmp_path):
    """Waves arrive in any order (parallel workers, UI backfills): a partition whose text
    column is all missing (DuckDB types it NULL) written first must not make the next
    partition's real values recreate the table and lose the first partition."""
    _materialize(tmp_path, pd.DataFrame({"p": ["a", "a"], "label": [None, None],
                                         "x": [1.0, 2.0]}), "a")
    out = _materialize(tmp_path, pd.DataFrame({"p": ["b"], "label": ["svært enig"],
                                               "x": [3.0]}), "b")
    out = out.sort_values(["p", "x"]).reset_index(drop=True)
    assert out["p"].tolist() == ["a", "a", "b"]
    assert out["label"].isna().tolist() == [True, True, False]
    assert out.loc[2, "label"] == "svært enig" and out["x"].tolist() == [1.0, 2.0, 3.0]
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        kind = con.execute("select data_type from information_schema.columns where "
                           "table_name = 't' and column_name = 'label'").fetchone()[0]
    finally:
        con.close()
    assert kind == "VARCHAR"


def test_loaded_text_values_shared_and_unchanged(tmp_path):
    """A downstream asset receives the stored values unchanged (text, numbers, missing cells,
    a mostly-distinct column), with each repeated text value one shared object."""
    frame = pd.DataFrame({
        "kommune": ["1508", "1580", None, "1508", "1580", "1508"],
        "item": ["q1", "q2", "q1", "q1", "q2", "q2"],
        "respondent_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
        "value": [1.0, None, 3.0, 4.0, 5.0, 6.0],
        "value_text": [None] * 6,
    })
    seen = {}

    @dg.asset(name="t")
    def t() -> pd.DataFrame:
        return frame

    @dg.asset(name="u")
    def u(t: pd.DataFrame) -> None:
        seen["t"] = t

    io = WarehouseIOManager(database=str(tmp_path / "w.duckdb"), schema="s")
    assert dg.materialize([t, u], resources={"io_manager": io}).success
    got = seen["t"]
    pd.testing.assert_frame_equal(got, frame)
    assert got["kommune"].isna().tolist() == frame["kommune"].isna().tolist()
    # repeated values are one object each: identity, not just equality
    assert len({id(v) for v in got["kommune"].dropna()}) == 2
    assert len({id(v) for v in got["item"]}) == 2
    # DuckDB's own result holds one object per cell (what share_strings is for)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        raw = con.execute("select item from s.t").df()
    finally:
        con.close()
    assert len({id(v) for v in raw["item"]}) > 2


def test_load_frame_equals_duckdb_fetchdf_with_shared_strings(tmp_path):
    """The warehouse read (text columns with few distinct values through DuckDB ENUMs) returns
    what DuckDB's ``fetchdf`` returns, value for value, with the same dtypes and ``None`` for
    missing text; repeated values are one object each."""
    from assets.warehouse_io import DICTIONARY_MAX_LEVELS, load_frame

    n = 600
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "kommune": rng.choice(["1505", "1507", None], n).astype(object),
        "item": rng.choice(["q1", "it's", "Ærlig «sitat»", "", "a\nb"], n).astype(object),
        "respondent_id": [f"R{i}" for i in range(n)],  # all distinct: left to share_strings
        "empty": pd.Series([None] * n, dtype=object),
        "value": rng.normal(size=n),
        "n": rng.integers(0, 5, n),
        "wave": rng.choice(["w1", "w2"], n).astype(object),
    })
    frame.loc[::7, "item"] = None
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute("create table t as select * from frame")
        for select in ("select * from t", "select kommune, item, value from t where wave = 'w2'",
                       "select * from t where 1 = 0"):
            ref = con.execute(select).fetchdf()
            got = load_frame(con, select)
            pd.testing.assert_frame_equal(got, ref)
            for col in got.select_dtypes("object"):
                assert [v is None for v in got[col]] == [v is None for v in ref[col]], col
            if len(got):
                assert len({id(v) for v in got["item"].dropna()}) == \
                    got["item"].dropna().nunique()
        # more distinct values than the dictionary holds: read as before, still equal
        con.execute("create table wide as select (i % (?))::varchar as code from range(?) r(i)",
                    [DICTIONARY_MAX_LEVELS + 5, 3 * (DICTIONARY_MAX_LEVELS + 5)])
        pd.testing.assert_frame_equal(load_frame(con, "select * from wide"),
                                      con.execute("select * from wide").fetchdf())
    finally:
        con.close()


def test_load_frame_reads_many_values_as_a_dictionary_in_a_long_table(tmp_path, monkeypatch):
    """A column with more distinct values than ``DICTIONARY_MAX_LEVELS`` still goes through
    a DuckDB ENUM when the table has ``DICTIONARY_ROWS_PER_LEVEL`` rows per value (a national
    wave's respondent IDs), and not when it has fewer; either way the frame is ``fetchdf``'s."""
    import assets.warehouse_io as res

    monkeypatch.setattr(res, "DICTIONARY_MAX_LEVELS", 8)
    per = res.DICTIONARY_ROWS_PER_LEVEL

    class Recording:
        def __init__(self, con):
            self.con, self.sql = con, []

        def execute(self, sql, *args):
            self.sql.append(sql)
            return self.con.execute(sql, *args)

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        for levels, rows, enum in ((50, 50 * per, True), (50, 50 * per - 1, False)):
            con.execute("create or replace table t as select 'R' || (i % (?))::varchar as id, "
                        "i as x from range(?) r(i)", [levels, rows])
            rec = Recording(con)
            got = res.load_frame(rec, "select * from t")
            pd.testing.assert_frame_equal(got, con.execute("select * from t").fetchdf())
            assert any("as enum(" in s for s in rec.sql) is enum, (levels, rows)
            assert len({id(v) for v in got["id"]}) == levels
    finally:
        con.close()


def test_partitioned_loads_come_back_in_one_order(tmp_path):
    """Every read of a partitioned table gives its rows in the same order: by partition,
    then as written -- whatever order the partitions were written in. (A plain filtered read
    of a table of several row groups comes back in a different order on each read; the
    analyses' sums and the content caches depend on the order.)"""
    rng = np.random.default_rng(7)
    n = 150_000  # two partitions of > 1 row group (122,880 rows) each
    parts = {p: pd.DataFrame({"p": p, "id": [f"R{p}{i:06d}" for i in rng.permutation(n)],
                              "x": rng.normal(size=n)}) for p in ("b", "a")}
    seen = []
    defn = dg.StaticPartitionsDefinition(["a", "b"])

    @dg.asset(name="t", partitions_def=defn, metadata={"partition_expr": "p"})
    def t(context: dg.AssetExecutionContext) -> pd.DataFrame:
        return parts[context.partition_key]

    @dg.asset(name="u", ins={"t": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
    def u(t: pd.DataFrame) -> None:
        seen.append(t)

    io = WarehouseIOManager(database=str(tmp_path / "w.duckdb"), schema="s")
    for p in ("b", "a"):  # "b" written first
        assert dg.materialize([t], resources={"io_manager": io}, partition_key=p).success
    for _ in range(3):
        assert dg.materialize([t, u], resources={"io_manager": io},
                              selection=[u]).success
    expected = pd.concat([parts["a"], parts["b"]], ignore_index=True)
    for got in seen:
        pd.testing.assert_frame_equal(got, expected)


_HOLD_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create schema if not exists evaluation")
con.execute("create or replace table evaluation.registry_observations_raw as "
            "select 1508 as kommune, 2.5 as value")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_lock(path, seconds: float):
    """Another process that writes the warehouse file and keeps its lock for ``seconds``."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_previous_table_waits_for_another_process_holding_the_warehouse(tmp_path):
    """Under the multiprocess executor, the registry step reads the previous version of its
    table while other steps write the warehouse: it waits for the lock instead of failing."""
    from types import SimpleNamespace

    from assets.ingest import previous_table

    path = tmp_path / "warehouse.duckdb"
    holder = _hold_lock(path, 1.5)
    try:
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(path), read_only=True).close()  # what a plain connect does
        got = previous_table(SimpleNamespace(output=tmp_path), "registry_observations_raw")
    finally:
        holder.wait(timeout=60)
    assert got.to_dict("records") == [{"kommune": 1508, "value": 2.5}]
    assert previous_table(SimpleNamespace(output=tmp_path), "not_there_yet") is None


def test_connect_warehouse_names_the_file_when_the_lock_is_never_released(tmp_path):
    from assets.resources import connect_warehouse

    path = tmp_path / "warehouse.duckdb"
    holder = _hold_lock(path, 60)
    try:
        with pytest.raises(duckdb.IOException) as err:
            connect_warehouse(path, wait_s=0.5)
    finally:
        holder.kill()
        holder.wait()
    msg = str(err.value)
    assert str(path) in msg and "stayed locked by another process for 0.5 s" in msg
    assert "Conflicting lock is held" in msg  # DuckDB's own message, naming the holder
    # once the file is free: read-only by default (a notebook's query cannot change results)
    with connect_warehouse(path) as con:
        assert con.execute("select value from evaluation.registry_observations_raw").fetchall() \
            == [(2.5,)]
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("create table evaluation.t as select 1 as a")
