"""Faults, and what a rerun makes of them: the worker killed mid-run, S3 errors, network errors, an
LLM endpoint answering 500. The killed run is marked Crashed and sends one failure event (the crash
automations of deployments/automations.py). After each the rerun completes, its outputs are the bytes a clean run
writes, and exactly one completion event goes out.

Byte-identical means every file, except that the recorded timings (how long each step took, in
manifest.json and the transcripts' ``engine.timings``) and where the folder is (its path, and the
settings and content key in manifest.json that include it) are left out. The worker-kill test's
reference run shares no cached result with the faulty runs; the others' reference runs do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import httpx
import pytest

from podwhisperer.flows.transcribe import transcribe_episode
from podwhisperer.settings import Settings

from .conftest import ROOT, drain, load_script, task_states
from .test_llm_providers import good, model_server  # noqa: F401 - a fixture

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
BUCKET = "faults"


def comparable(folder: Path) -> dict[str, object]:
    """The folder's files as bytes; the three JSON files that record timings, without them."""
    out: dict[str, object] = {}
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        if path.name in ("raw_transcript.json", "transcript.json"):
            doc = json.loads(data)
            doc["engine"].pop("timings")
            out[path.name] = doc
        elif path.name == "manifest.json":
            doc = json.loads(data)
            for volatile in ("timings", "episode_dir", "config", "versions", "content_key"):  # config: out_dir
                doc.pop(volatile)
            doc["files"] = {k: v for k, v in doc["files"].items() if k not in ("raw_transcript.json", "transcript.json")}
            out[path.name] = doc
        else:
            out[path.name] = data
    return out


def settings_for(out: Path, work: Path, **sections) -> Settings:
    return Settings.model_validate({"output": {"out_dir": str(out), **sections.pop("output", {})},
                                    "audio": {"work_dir": str(work)},
                                    "events": {"eventbridge_bus": "default"}, **sections})


def completions(queue: str) -> list[dict]:
    return [e for e in drain(queue) if e["detail-type"] == "Pipeline Completed"]


def only_folder(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if not p.name.startswith(".")]
    return folder


# --- the worker killed in the middle of a run ---------------------------------------------------


def start_worker(pool: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool],
                            env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_failure_events(queue: str, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (failed := [e for e in drain(queue) if e["detail-type"] == "Pipeline Failed"]):
        if time.monotonic() > deadline:
            return []
        time.sleep(3)
    time.sleep(10)  # a second event would come right after the first
    return failed + [e for e in drain(queue) if e["detail-type"] == "Pipeline Failed"]


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants, as losing the machine would. (Prefect's process
    worker starts each flow run in a session of its own: killing the worker's group spares it.)"""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo, tree = [pid], []
    while todo:
        tree.append(todo.pop())
        todo += children.get(tree[-1], [])
    for p in tree:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_worker_killed_mid_run_then_rerun(s3_server, event_queue, episode_mp3, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="fault-pool", type="process"), overwrite=True)
        for flow_name, name, entrypoint in [("transcribe-episode", "fault", "flows/transcribe.py:transcribe_episode"),
                                            ("announce-crash", "fault-crash", "flows/announce_crash.py:announce_crash")]:
            client.create_deployment(flow_id=client.create_flow_from_name(flow_name), name=name,
                                     work_pool_name="fault-pool", entrypoint=entrypoint, path=str(ROOT),
                                     pull_steps=pull)
    # The crash automations as deployments/automations.py installs them, with a short silence:
    # the worker's flows send a heartbeat every 30 s (the least Prefect allows).
    automations = load_script("deployments/automations.py")
    installed = automations.install_crash_handling(silence_s=60, deployment="announce-crash/fault-crash")
    time.sleep(10)  # the triggers service loads new automations every 5 s
    # The worker's runs keep their results apart from this process's: the reference run below
    # computes everything itself.
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
           "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "worker-results")}
    settings = settings_for(tmp_path / "out", tmp_path / "work")
    params = {"audio": str(episode_mp3), "title": "Killed", "settings": settings.model_dump(mode="json")}
    drain(event_queue)

    worker = start_worker("fault-pool", env, tmp_path / "worker.log")
    first = run_deployment("transcribe-episode/fault", parameters=params, timeout=0)
    deadline = time.monotonic() + 300
    with get_client(sync_client=True) as client:  # kill it once it transcribes (states reach the API late)
        while "transcribe" not in {r.name.rsplit("-", 1)[0] for r in client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[first.id])))
                if r.state_name in ("Running", "Completed")}:
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(0.2)
    kill_tree(worker.pid)  # the worker and the flow run's processes
    worker.wait(30)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written
    assert drain(event_queue) == []

    worker = start_worker("fault-pool", env, tmp_path / "worker.log")
    try:
        # The silent run is marked Crashed, and announce-crash sends its one failure event.
        try:
            failed = wait_for_failure_events(event_queue, timeout=300)
        finally:
            with get_client(sync_client=True) as client:  # the other tests' runs send no fast heartbeats
                for automation_id in installed:
                    client.delete_automation(automation_id)
            with get_client(sync_client=True) as client:
                crashed = client.read_flow_run(first.id)
        assert crashed.state.is_crashed() and "no heartbeat for 60 s" in crashed.state.message
        assert [(e["detail"]["flowRunId"], e["detail"]["step"]) for e in failed] == [(str(first.id), "transcribe")], \
            (tmp_path / "worker.log").read_text()[-3000:]
        assert failed[0]["detail"]["error"].startswith("crashed: no heartbeat")
        assert failed[0]["detail"]["inputKey"] == str(episode_mp3)

        rerun = run_deployment("transcribe-episode/fault", parameters=params, timeout=600)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
    assert rerun.state.is_completed(), (tmp_path / "worker.log").read_text()[-3000:]
    tasks = task_states(rerun.state)
    assert tasks["stage-audio"][0] == "Cached"  # finished before the kill: not done again
    (event,) = completions(event_queue)
    assert event["detail"]["episode"]["title"] == "Killed"

    clean = settings_for(tmp_path / "clean", tmp_path / "work")
    assert transcribe_episode(str(episode_mp3), title="Killed", settings=clean, return_state=True).is_completed()
    assert comparable(only_folder(tmp_path / "out")) == comparable(only_folder(tmp_path / "clean"))


# --- S3 and network errors ------------------------------------------------------------------------


class FaultyProxy:
    """An HTTP proxy in front of a real server that answers the next ``n`` requests matching
    (method, path fragment) with an error of our choosing (status + body, or a dropped connection)."""

    def __init__(self, upstream: str):
        self.upstream, self.faults, self.hits = upstream, [], []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                for fault in proxy.faults:
                    method, fragment, status, payload = fault["match"]
                    if fault["left"] > 0 and self.command == method and fragment in self.path:
                        fault["left"] -= 1
                        proxy.hits.append((self.command, self.path, status))
                        if status is None:  # a dropped connection
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        self.send_response(status)
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                answer = httpx.request(self.command, proxy.upstream + self.path, headers=headers, content=body)
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, method: str, fragment: str, n: int, status: int | None, payload: bytes = b"") -> None:
        self.faults.append({"match": (method, fragment, status, payload), "left": n})


S3_DENIED = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
S3_INTERNAL = b"<?xml version='1.0'?><Error><Code>InternalError</Code><Message>try again</Message></Error>"


def test_s3_errors_then_rerun(s3_server, event_queue, episode_mp3, tmp_path, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(episode_mp3), BUCKET, "input/ep.mp3")
    proxy = FaultyProxy(s3_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # the pipeline's S3 goes through the proxy
    settings = settings_for(tmp_path / "out", tmp_path / "work", output={"storage": f"s3://{BUCKET}/output"})
    drain(event_queue)

    # Throttling and 500s while reading the input: S3 clients and the stage task retry them.
    proxy.fail("GET", "/input/ep.mp3", 3, 503, b"<Error><Code>SlowDown</Code></Error>")
    # Uploads refused (a bucket policy): no retry can help; the run fails in publish-outputs.
    proxy.fail("PUT", "/output/", 1000, 403, S3_DENIED)
    state = transcribe_episode(f"s3://{BUCKET}/input/ep.mp3", title="S3 faults", settings=settings, return_state=True)
    assert state.is_failed() and task_states(state)["publish-outputs"][0] == "Failed"
    (failed,) = drain(event_queue)
    assert failed["detail-type"] == "Pipeline Failed" and failed["detail"]["step"] == "publish-outputs"
    assert "AccessDenied" in failed["detail"]["error"]
    assert any(h[2] == 503 for h in proxy.hits)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="output/")

    proxy.faults.clear()  # the policy is fixed; S3 still has a bad moment on two uploads
    proxy.fail("PUT", "/output/", 2, 500, S3_INTERNAL)
    state = transcribe_episode(f"s3://{BUCKET}/input/ep.mp3", title="S3 faults", settings=settings, return_state=True)
    assert state.is_completed()
    (event,) = completions(event_queue)
    keys = event["detail"]["outputKeys"]["all"]
    uploaded = {k: s3.get_object(Bucket=BUCKET, Key=v)["Body"].read() for k, v in keys.items()}
    folder = only_folder(tmp_path / "out")
    assert uploaded == {p.name: p.read_bytes() for p in folder.iterdir()}

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    clean = settings_for(tmp_path / "clean", tmp_path / "work")
    assert transcribe_episode(f"s3://{BUCKET}/input/ep.mp3", title="S3 faults", settings=clean,
                              return_state=True).is_completed()
    assert comparable(folder) == comparable(only_folder(tmp_path / "clean"))


def test_network_errors_fetching_the_episode(http_server, event_queue, episode_mp3, tmp_path):
    http_server.files["/flaky/ep.mp3"] = episode_mp3.read_bytes()
    proxy = FaultyProxy(http_server.url)
    url = proxy.url + "/flaky/ep.mp3"
    clean = settings_for(tmp_path / "clean", tmp_path / "work")
    assert transcribe_episode(url, title="Flaky", settings=clean, return_state=True).is_completed()
    drain(event_queue)

    proxy.fail("GET", "/flaky/", 1, 503)  # the CDN has a bad moment,
    proxy.fail("GET", "/flaky/", 1, None)  # then drops the connection
    # A work folder of its own: with the clean run's, the unchanged episode (same ETag) would not be
    # downloaded again at all.
    settings = settings_for(tmp_path / "out", tmp_path / "work-faulty")
    state = transcribe_episode(url, title="Flaky", settings=settings, return_state=True)
    assert state.is_completed() and task_states(state)["stage-audio"][1] == 3  # two retries
    assert len(completions(event_queue)) == 1
    assert comparable(only_folder(tmp_path / "out")) == comparable(only_folder(tmp_path / "clean"))


# --- an LLM endpoint answering 500 ----------------------------------------------------------------


def test_llm_500s_then_rerun(model_server, event_queue, episode_mp3, tmp_path):
    """OpenAI chat completions from the scripted careful model, after an outage."""
    model_server.script = [good]
    llm = {"provider": "openai", "model": "scripted", "base_url": model_server.url + "/v1"}
    drain(event_queue)
    model_server.down = 10**6  # an outage: the SDK's backoff and the task's retry both run out
    settings = settings_for(tmp_path / "out", tmp_path / "work", llm=llm)
    state = transcribe_episode(str(episode_mp3), title="LLM faults", settings=settings, return_state=True)
    assert state.is_failed() and task_states(state)["refine-transcript"] == ("Failed", 2)
    (failed,) = drain(event_queue)
    assert failed["detail"]["step"] == "refine-transcript" and "500" in failed["detail"]["error"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

    model_server.down = 2  # recovering: two more 500s, which the SDK's backoff absorbs
    state = transcribe_episode(str(episode_mp3), title="LLM faults", settings=settings, return_state=True)
    assert state.is_completed()
    assert len(completions(event_queue)) == 1
    folder = only_folder(tmp_path / "out")
    assert json.loads((folder / "llm_audit.json").read_text())["calls"] >= 1

    calls = model_server.calls
    clean = settings_for(tmp_path / "clean", tmp_path / "work", llm=llm)
    assert transcribe_episode(str(episode_mp3), title="LLM faults", settings=clean, return_state=True).is_completed()
    assert model_server.calls == calls  # the refined transcript is cached: no LLM call
    assert comparable(folder) == comparable(only_folder(tmp_path / "clean"))
