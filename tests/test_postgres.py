"""Integration test of the Postgres-backed Dagster instance (deploy/dagster.yaml).

A throwaway PostgreSQL server is started from the distribution's binaries (Debian's
``postgresql`` package: ``/usr/lib/postgresql/<version>/bin``, or ``initdb``/``pg_ctl`` on PATH)
in a temporary folder on a free loopback port. The example study is materialized against an
instance configured by deploy/dagster.yaml with the multiprocess executor (deploy/code_location.py,
through the ``dagster`` CLI in subprocesses, as a deployment would), and PostgreSQL is then read
directly with psycopg2: every run succeeded, every asset (every wave partition) was
materialized, and steps ran in separate processes.

Without the PostgreSQL binaries the test is skipped locally; with ``CI`` set or
``EVALUATION_REQUIRE_POSTGRES=1`` their absence is a failure.
"""

import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
PG_USER = "dagster"
PG_DB = "dagster_evaluation"
#: the unprivileged account that runs the server when the tests run as root (PostgreSQL
#: refuses to run as root); the Debian package creates it
SERVER_ACCOUNT = "postgres"
RUN_TIMEOUT = 1800


def _version_key(path: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_pg_bin() -> Path | None:
    """The folder holding initdb and pg_ctl: newest /usr/lib/postgresql/*/bin, else PATH."""
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key,
                         reverse=True):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    return None


def _require_postgres() -> Path:
    folder = find_pg_bin()
    if folder is not None:
        return folder
    msg = ("PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb "
           "and pg_ctl, and initdb/pg_ctl on PATH); install Debian's `postgresql` package "
           "(apt-get install postgresql) to run the Postgres-backed instance test")
    if os.environ.get("CI") or os.environ.get("EVALUATION_REQUIRE_POSTGRES") == "1":
        pytest.fail(msg + " — required because CI or EVALUATION_REQUIRE_POSTGRES=1 is set")
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_account(cmd: list[str]) -> list[str]:
    """``cmd`` run as the unprivileged server account when we are root."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", SERVER_ACCOUNT, "--", *cmd]
    return [shutil.which("setpriv") or "setpriv", f"--reuid={SERVER_ACCOUNT}",
            f"--regid={SERVER_ACCOUNT}", "--init-groups", *cmd]


def _run(cmd: list[str], cwd: Path, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {res.returncode}:\n"
                           f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


@pytest.fixture
def postgres_server():
    """A PostgreSQL server on 127.0.0.1:<free port> with password auth and an empty database."""
    pg_bin = _require_postgres()
    import psycopg2

    base = Path(tempfile.mkdtemp(prefix="evaluation-pg-"))
    data, sockets, log = base / "data", base / "sockets", base / "server.log"
    sockets.mkdir()
    password = "test-only-" + os.urandom(8).hex()
    (base / "pwfile").write_text(password + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_ACCOUNT)
        except KeyError:
            shutil.rmtree(base)
            pytest.fail(f"running as root and there is no '{SERVER_ACCOUNT}' account to run "
                        "PostgreSQL as (PostgreSQL refuses to run as root); the Debian "
                        "postgresql package creates it")
        for p in (base, sockets, base / "pwfile"):
            os.chown(p, account.pw_uid, account.pw_gid)
    port = _free_port()
    started = False
    try:
        _run(_as_server_account([str(pg_bin / "initdb"), "-D", str(data), "-U", PG_USER,
                                 "--auth=scram-sha-256", f"--pwfile={base / 'pwfile'}",
                                 "-E", "UTF8", "--locale=C"]), cwd=base)
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} "
                f"-c unix_socket_directories={sockets} -c fsync=off")
        _run(_as_server_account([str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log),
                                 "-o", opts, "-w", "-t", "60", "start"]), cwd=base)
        started = True
        conn = psycopg2.connect(host="127.0.0.1", port=port, user=PG_USER, password=password,
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"create database {PG_DB}")
        conn.close()
    except (RuntimeError, OSError, subprocess.SubprocessError, psycopg2.Error) as exc:
        server_log = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        _cleanup(pg_bin, data, base, started)
        pytest.fail(f"could not start the throwaway PostgreSQL server: {exc}\n{server_log}")
    try:
        yield {"host": "127.0.0.1", "port": port, "user": PG_USER, "password": password,
               "db": PG_DB}
    finally:
        _cleanup(pg_bin, data, base, started)


def _cleanup(pg_bin: Path, data: Path, base: Path, started: bool) -> None:
    if started or (data / "postmaster.pid").exists():
        _stop_server(pg_bin, data, base)
    shutil.rmtree(base, ignore_errors=True)


def _stop_server(pg_bin: Path, data: Path, cwd: Path) -> None:
    """``pg_ctl stop``; if that fails, kill the postmaster by the PID in postmaster.pid."""
    pid_file = data / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
    try:
        subprocess.run(_as_server_account([str(pg_bin / "pg_ctl"), "-D", str(data), "-m",
                                           "fast", "-w", "-t", "30", "stop"]),
                       cwd=cwd, capture_output=True, timeout=60, check=True)
        return
    except (subprocess.SubprocessError, OSError):
        pass
    if pid is not None:
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            time.sleep(2)


def _dagster_env(home: Path, study_dir: Path, pg: dict) -> dict:
    env = dict(os.environ)
    env.update({
        "DAGSTER_HOME": str(home),
        "EVALUATION_STUDY": str(study_dir / "study.yaml"),
        "EVALUATION_EXECUTOR": "multiprocess",
        "DAGSTER_PG_USERNAME": pg["user"],
        "DAGSTER_PG_PASSWORD": pg["password"],
        "DAGSTER_PG_HOST": pg["host"],
        "DAGSTER_PG_PORT": str(pg["port"]),
        "DAGSTER_PG_DB": pg["db"],
    })
    return env


def _dagster(args: list[str], env: dict, cwd: Path) -> str:
    """Run a dagster / evaluation-pipeline command; its output, or a failure with its tail."""
    res = subprocess.run([sys.executable, "-m", *args], env=env, cwd=cwd, capture_output=True,
                         text=True, timeout=RUN_TIMEOUT)
    out = res.stdout + res.stderr
    if res.returncode != 0:
        errors = sorted({line.strip() for line in out.splitlines()
                         if re.search(r"\w+(Error|Exception):", line)})
        pytest.fail(f"{' '.join(args)} exited with {res.returncode}; errors:\n"
                    + "\n".join(errors) + f"\n--- output tail ---\n{out[-6000:]}")
    return out


def test_example_study_materializes_into_postgres(postgres_server, study_copy, tmp_path):
    import dagster as dg
    import psycopg2

    from assets.definitions import STUDY_JOB, WAVE_JOB, build_definitions
    from evaluation_pipeline.study import Study

    pg = postgres_server
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    env = _dagster_env(home, study_copy, pg)
    run_config = tmp_path / "multiprocess.yaml"
    run_config.write_text(json.dumps(
        {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}), encoding="utf-8")

    waves = Study.load(study_copy).wave_ids
    _dagster(["assets.cli", "register-waves", "--study", str(study_copy)], env, tmp_path)
    job_args = ["dagster", "job", "execute", "-f", str(DEPLOY / "code_location.py"),
                "-c", str(run_config)]
    for wave in waves:
        _dagster([*job_args, "-j", WAVE_JOB, "--tags", json.dumps({"dagster/partition": wave})],
                 env, tmp_path)
    _dagster([*job_args, "-j", STUDY_JOB], env, tmp_path)

    # nothing went to a local SQLite instance in DAGSTER_HOME
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))

    # what should have been materialized: every asset of the code location, per wave where
    # the asset is partitioned by survey wave
    graph = build_definitions(str(study_copy / "study.yaml")).resolve_asset_graph()
    expected = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable or key.to_user_string() == "kommune_profile":
            continue  # the profiles are their own job (kommune_profiles_job), not run here
        parts = waves if node.is_partitioned else [None]
        expected |= {(key.to_user_string(), p) for p in parts}
    assert len(expected) > len(waves)

    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"],
                            password=pg["password"], dbname=pg["db"])
    try:
        with conn.cursor() as cur:
            cur.execute("select run_id, pipeline_name, status from runs")
            runs = cur.fetchall()
            cur.execute("select run_id, value from run_tags where key = 'dagster/partition'")
            partition_of = dict(cur.fetchall())
            cur.execute("select asset_key, partition, run_id from event_logs "
                        "where dagster_event_type = 'ASSET_MATERIALIZATION'")
            materializations = cur.fetchall()
            cur.execute("select asset_key from asset_keys where last_materialization is not null")
            keys_table = {"/".join(json.loads(k)) for (k,) in cur.fetchall()}
            cur.execute("select run_id, event from event_logs "
                        "where dagster_event_type = 'STEP_START'")
            step_starts = cur.fetchall()
            cur.execute("select event from event_logs "
                        "where dagster_event_type = 'ASSET_CHECK_EVALUATION'")
            check_events = [dg.deserialize_value(e, dg.EventLogEntry) for (e,) in cur.fetchall()]
            cur.execute("select partition from dynamic_partitions "
                        "where partitions_def_name = 'survey_wave'")
            dynamic = {p for (p,) in cur.fetchall()}
    finally:
        conn.close()

    # runs: one survey_wave_job per wave (tagged with its wave) and one study_job, all succeeded
    assert sorted((job, status) for _, job, status in runs) == sorted(
        [(STUDY_JOB, "SUCCESS")] + [(WAVE_JOB, "SUCCESS")] * len(waves)), runs
    wave_runs = {run_id for run_id, job, _ in runs if job == WAVE_JOB}
    assert sorted(partition_of[r] for r in wave_runs) == sorted(waves)
    assert dynamic == set(waves)

    # every asset and every wave partition was materialized, exactly once, in the right run
    recorded = [("/".join(json.loads(k)), p) for k, p, _ in materializations]
    assert sorted(recorded) == sorted(expected), (
        f"missing: {sorted(expected - set(recorded))}, extra: {sorted(set(recorded) - expected)}")
    for key, part, run_id in materializations:
        if part is not None:
            assert partition_of[run_id] == part, (key, part)
    assert keys_table >= {k for k, _ in expected}

    # the asset checks ran and passed
    assert check_events
    evaluations = [e.dagster_event.event_specific_data for e in check_events]
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in evaluations
              if not c.passed]
    assert not failed, failed

    # multiprocess executor: in every run the steps ran in more than one process, none in the
    # process that orchestrated the run
    pids_by_run: dict[str, set[int]] = {}
    for run_id, event in step_starts:
        entry = dg.deserialize_value(event, dg.EventLogEntry)
        pids_by_run.setdefault(run_id, set()).add(entry.dagster_event.pid)
    assert set(pids_by_run) == {run_id for run_id, _, _ in runs}
    study_run = next(r for r, job, _ in runs if job == STUDY_JOB)
    assert len(pids_by_run[study_run]) > 1, pids_by_run[study_run]
    for run_id, pids in pids_by_run.items():
        n_steps = sum(1 for r, _ in step_starts if r == run_id)
        assert len(pids) == n_steps, (run_id, len(pids), n_steps)
