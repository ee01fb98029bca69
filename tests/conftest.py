"""Shared fixtures: one real Prefect server per session, real espeak-ng speech, temp folders.

Prefect reads its settings once at import, so they are set here before anything imports it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="podwhisperer-tests-"))
ROOT = Path(__file__).resolve().parent.parent
POOL = "standin-pool"
os.environ.setdefault("PREFECT_HOME", str(_SESSION_DIR / "prefect-home"))
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(_SESSION_DIR / "results")  # the harness does not isolate it
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
for key in [k for k in os.environ if k.startswith("PODWHISPERER_")]:
    del os.environ[key]  # tests state their settings explicitly

import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402

from podwhisperer.demo import demo_script, synthesize  # noqa: E402
from podwhisperer.settings import AudioSettings, OutputSettings, Settings  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server():
    """A real Prefect API server (subprocess) for the whole session; flows report to it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def episode_mp3() -> Path:
    """The two-voice espeak-ng episode (~40 s), encoded as mp3 like a real podcast."""
    return synthesize(demo_script(), _SESSION_DIR / "episodes" / "two-voices.mp3")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        audio=AudioSettings(work_dir=tmp_path / "work"),
        output=OutputSettings(out_dir=tmp_path / "out"),
    )


def task_states(flow_state, settle_s: float = 1.0, timeout: float = 60) -> dict[str, tuple[str, int]]:
    """task name -> (state name, run count) for one flow run, read back from the Prefect API.

    The server records task-run states from events, after the flow has returned: read until every
    task run is in a final state and nothing changed for ``settle_s``."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flow_filter = FlowRunFilter(id=FlowRunFilterId(any_=[flow_state.state_details.flow_run_id]))
    deadline, last = time.monotonic() + timeout, None
    while True:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=flow_filter)
        seen = {r.name.rsplit("-", 1)[0]: (r.state_name, r.run_count) for r in runs}
        settled = all(r.state and r.state.is_final() for r in runs)
        if settled and seen == last or time.monotonic() > deadline:
            return seen
        last = seen if settled else None
        time.sleep(settle_s)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def http_server():
    """A local HTTP server: ``files[path] = bytes`` serves them with a strong ETag (a weak one
    under /weak/), GET and HEAD; /status/N answers HTTP N; ``requests`` lists (method, path)."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files: dict[str, bytes] = {}
    requests: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            requests.append((self.command, self.path))
            if self.path.startswith("/status/"):
                self.send_response(int(self.path.rsplit("/", 1)[1]))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            if body is not None:
                tag = f'"{hashlib.sha1(body).hexdigest()}"'
                self.send_header("ETag", f"W/{tag}" if self.path.startswith("/weak/") else tag)
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(body or b"")

        do_HEAD = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.files, server.requests = files, requests
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


@pytest.fixture(scope="session")
def s3_server():
    """moto in server mode: real boto3 clients talk HTTP to it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env["AWS_ENDPOINT_URL"]
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


@pytest.fixture(scope="session")
def process_pool(prefect_server, s3_server, tmp_path_factory):
    """A process work pool standing in for the ECS pools, with a real worker serving it: the GPU
    flow, the main flow and a review stand-in flow deployed to it as ``<flow>/standin``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL

    home = tmp_path_factory.mktemp("worker")
    boto3.client("s3").create_bucket(Bucket="shared")
    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL, type="process"), overwrite=True)
        for flow_name, entrypoint in (("gpu-transcribe", "flows/gpu_transcribe.py:gpu_transcribe"),
                                      ("transcribe-episode", "flows/transcribe.py:transcribe_episode"),
                                      ("review-deployed", "tests/flows_standin.py:review_deployed")):
            flow_id = client.create_flow_from_name(flow_name)
            client.create_deployment(flow_id=flow_id, name="standin", work_pool_name=POOL,
                                     entrypoint=entrypoint, path=str(ROOT), pull_steps=pull)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "PODWHISPERER_AUDIO__WORK_DIR": str(home / "gpu-work"), "PREFECT_LOGGING_LEVEL": "INFO"}
    log = open(home / "worker.log", "wb")
    # No --limit: prefect 3.8.8's worker crashes on its own capacity limiter ("this borrower is
    # already holding one of this CapacityLimiter's tokens") when a suspended run comes back while
    # it still tracks it; seen once in CI, after which every test on this pool hung.
    worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield home
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(30)
    log.close()


@pytest.fixture(scope="session")
def event_queue(s3_server):
    """An SQS queue behind an EventBridge rule for podwhisperer's events on the default bus."""
    import json

    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="podwhisperer-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="podwhisperer", EventPattern=json.dumps({"source": ["podwhisperer.pipeline"]}))
    events.put_targets(Rule="podwhisperer", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def drain(queue_url: str) -> list[dict]:
    """Every event waiting in the queue (removed from it)."""
    import json

    sqs, out = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        out += [json.loads(m["Body"]) for m in batch]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
    return out


def wait_for(keys: list[str], timeout: float = 600) -> list:
    """The flow runs carrying these idempotency keys, once every one has ended."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterIdempotencyKey

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                idempotency_key=FlowRunFilterIdempotencyKey(any_=keys)))
        if len(runs) == len(keys) and all(r.state and r.state.is_final() for r in runs):
            return runs
        assert time.monotonic() < deadline, [(r.name, r.state_name) for r in runs]
        time.sleep(2)


def load_script(path: str):
    """A script of the repository that is not part of the package (``deployments/automations.py``,
    ``bench/load.py``), loaded as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_extra(module: str, extra: str) -> None:
    """Skip a test whose optional extra is missing, except under scripts/test.sh (and CI), which
    installs every extra: there a missing one is a failure, never a silent skip."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("PODWHISPERER_TESTS_NEED_EXTRAS") == "1":
            raise
        pytest.skip(f"the {extra} extra is not installed (bash scripts/test.sh installs it)")
