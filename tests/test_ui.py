"""`dagster dev -w workspace.yaml` serves every asset in its group on 127.0.0.1, and runs launched
through the webserver (as the UI launches them) materialize the assets."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import EXAMPLE, ROOT
from test_definitions import GROUPS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    study = tmp / "sunnmore"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(home),
           "EVALUATION_STUDY": str(study / "study.yaml")}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "evaluation-pipeline"), "register-waves"], env=env,
                   check=True, capture_output=True)
    port = _free_port()
    log = open(tmp / "dev.log", "w")
    proc = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                r = requests.post(url, json={"query": "{ version }"}, timeout=2)
                if r.ok and "data" in r.json():
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, (tmp / "dev.log").read_text()
            time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 120 s")
        yield url, port, study
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _query(url, q, variables=None):
    r = requests.post(url, json={"query": q, "variables": variables or {}}, timeout=30)
    r.raise_for_status()
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def test_ui_shows_all_assets_in_groups(webserver):
    url, _, _ = webserver
    nodes = _query(url, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    found: dict[str, set[str]] = {}
    for n in nodes:
        found.setdefault(n["groupName"], set()).add(n["assetKey"]["path"][0])
    assert found == GROUPS


def _listening(port: int) -> list[str]:
    """Local addresses listening on ``port``, from /proc/net/tcp and tcp6 (state 0A)."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.append(addr)
    return found


def test_ui_binds_to_loopback_only(webserver):
    _, port, _ = webserver
    addrs = _listening(port)
    assert addrs, "nothing listens on the webserver port"
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    assert set(addrs) <= loopback, addrs


def test_runs_launched_through_the_webserver_materialize(webserver):
    from dagster_graphql import DagsterGraphQLClient

    url, port, study = webserver
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)

    def wait(run_id):
        for _ in range(180):
            status = client.get_run_status(run_id).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                return status
            time.sleep(1)
        return "TIMEOUT"

    for wave in ("w2012", "w2016", "w2019"):
        run = client.submit_job_execution("survey_wave_job", tags={"dagster/partition": wave})
        assert wait(run) == "SUCCESS", wave
    assert wait(client.submit_job_execution("study_job")) == "SUCCESS"
    assert (study / "output" / "report" / "rapport.html").exists()
