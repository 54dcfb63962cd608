"""`dagster dev -w workspace.yaml` on a free loopback port: it serves every asset in its group and
every asset check on 127.0.0.1 only, runs launched through the webserver (as the UI launches
them) materialize the assets, and stopping it by its process group ends every process it
started."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from conftest import EXAMPLE, ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevServer:
    """``dagster dev`` in its own session (process group = its PID), stopped by that PID."""

    def __init__(self, proc: subprocess.Popen, port: int, study: Path, log: Path):
        self.proc, self.port, self.study, self.log = proc, port, study, log
        self.url = f"http://127.0.0.1:{port}/graphql"
        self.started: set[int] = set()  # every process seen under dagster dev

    def seen(self) -> set[int]:
        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
        self.started |= {self.proc.pid} | {k.pid for k in kids}
        return self.started

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.seen()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        # children that outlive the parent briefly (code server, daemon) get a grace period
        deadline = time.time() + 30
        while time.time() < deadline and self.alive():
            time.sleep(0.5)
        # Seen in CI: `dagster dev`'s code-server manager restarts a code server that exited on
        # the SIGTERM ("Code server process has exited with code 0. Restarting ..."), after
        # the group was signalled; such a late process gets SIGKILL here
        for pid in self.alive():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # SIGKILL is delivered asynchronously: wait until the killed processes are gone (or
        # zombies) before anyone looks
        deadline = time.time() + 10
        while time.time() < deadline and self.alive():
            time.sleep(0.2)

    def group(self) -> set[int]:
        """Processes still in the process group of ``dagster dev`` (its PID is the group id)."""
        out = set()
        for p in psutil.process_iter():
            try:
                if os.getpgid(p.pid) == self.proc.pid:
                    out.add(p.pid)
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        return out

    def alive(self) -> list[int]:
        """Processes it started (or still in its group) that are running, not zombies."""
        out = []
        for pid in self.started | self.group():
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    study = tmp / "sunnmore"
    shutil.copytree(EXAMPLE, study, ignore=shutil.ignore_patterns("output", ".pseudonym_key"))
    home = tmp / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # sensors and schedule load stopped: the smoke test starts runs itself, and the daemon of
    # `dagster dev` must not ingest the study's waves in the background meanwhile
    env = {**os.environ, "DAGSTER_HOME": str(home),
           "EVALUATION_STUDY": str(study / "study.yaml"), "EVALUATION_AUTOMATION": "off"}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "evaluation-pipeline"), "register-waves"], env=env,
                   check=True, capture_output=True)
    port = _free_port()
    log_path = tmp / "dev.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port),
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    dev = DevServer(proc, port, study, log_path)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                r = requests.post(dev.url, json={"query": "{ version }"}, timeout=2)
                if r.ok and "data" in r.json():
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, log_path.read_text()
            time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 180 s\n" + log_path.read_text())
        dev.seen()
        yield dev
    finally:
        dev.stop()
        log.close()


@pytest.fixture(scope="module")
def webserver(server):
    return server.url, server.port, server.study


@pytest.fixture(scope="module")
def definitions(server):
    """The Definitions of the code location, built in this process for the same study."""
    from assets.definitions import build_definitions

    return build_definitions(str(server.study / "study.yaml"))


def _query(url, q, variables=None):
    r = requests.post(url, json={"query": q, "variables": variables or {}}, timeout=30)
    r.raise_for_status()
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def test_ui_shows_all_assets_in_groups(webserver, definitions):
    url, _, _ = webserver
    nodes = _query(url, "{ assetNodes { assetKey { path } groupName } }")["assetNodes"]
    found: dict[str, set[str]] = {}
    for n in nodes:
        found.setdefault(n["groupName"], set()).add("/".join(n["assetKey"]["path"]))
    graph = definitions.resolve_asset_graph()
    expected: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        expected.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    assert found == expected
    assert {"ingest", "validate", "harmonize", "analyse", "report"} <= set(found)


CHECKS = """
{ assetNodes { assetKey { path }
    assetChecksOrError { __typename ... on AssetChecks { checks { name blocking } } } } }
"""


def test_ui_lists_the_asset_checks(webserver, definitions):
    url, _, _ = webserver
    found = set()
    for node in _query(url, CHECKS)["assetNodes"]:
        res = node["assetChecksOrError"]
        assert res["__typename"] == "AssetChecks", res
        for c in res["checks"]:
            found.add(("/".join(node["assetKey"]["path"]), c["name"], c["blocking"]))
    graph = definitions.resolve_asset_graph()
    expected = {(k.asset_key.to_user_string(), k.name, graph.get_check_spec(k).blocking)
                for k in graph.asset_check_keys}
    assert found == expected
    # the contract checks of the ingested tables are there (on their validated tables), and
    # they block downstream assets
    assert {("survey_answers_valid", "contract", True), ("coded_segments_valid", "contract", True),
            ("registry_observations_valid", "contract", True)} <= found


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
    """Started as ``make ui`` starts it (``-h 127.0.0.1``): nothing else can connect."""
    _, port, _ = webserver
    addrs = _listening(port)
    assert addrs, "nothing listens on the webserver port"
    assert set(addrs) == {"0100007F"}, addrs  # 127.0.0.1 only: not 0.0.0.0, not ::


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


def test_stopping_by_pid_ends_every_process(server):
    """Runs last: the process group of ``dagster dev`` is signalled by its PID, and afterwards
    no process it started is left and the port is free."""
    pids = server.seen()
    assert len(pids) >= 2, "dagster dev should run the webserver and the daemon as children"
    server.stop()
    assert server.proc.returncode is not None
    left = {p: psutil.Process(p).cmdline() for p in server.alive() if psutil.pid_exists(p)}
    assert left == {}, left
    assert _listening(server.port) == []
