"""prefect.yaml as a user runs it: `prefect deploy --all` against a real server (process pools standing
in for the ECS pools), then `prefect deployment run` picked up by a real worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import ROOT

pytestmark = [pytest.mark.e2e]


def prefect(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_deploy_all_then_run_an_episode_from_the_command_line(prefect_server, episode_mp3, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.settings import PREFECT_API_URL

    with get_client(sync_client=True) as client:  # locally, both pools are process pools
        for pool in ("local-process", "gpu-ecs"):
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"), overwrite=True)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PODWHISPERER_BUCKET": "pods",
           "PODWHISPERER_GPU_IMAGE": "podwhisperer-gpu:test", "PODWHISPERER_ECS_EXECUTION_ROLE": "exec",
           "PODWHISPERER_ECS_TASK_ROLE": "task", "PODWHISPERER_AUDIO__WORK_DIR": str(tmp_path / "work")}
    deployed = prefect("deploy", "--all", env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    with get_client(sync_client=True) as client:
        found = {f"{client.read_flow(d.flow_id).name}/{d.name}": d for d in client.read_deployments()}
    for name in ("transcribe-episode/local", "transcribe-episode/aws", "gpu-transcribe/gpu", "poll-feeds/feeds",
                 "s3-intake/s3-intake", "announce-crash/crash"):
        assert name in found, sorted(found)
    feeds, intake = found["poll-feeds/feeds"], found["s3-intake/s3-intake"]
    assert [s.schedule.cron for s in feeds.schedules] == ["*/30 * * * *"] and feeds.schedules[0].active
    assert not intake.schedules[0].active  # on once the bucket exists
    assert intake.parameters["input"] == "s3://pods/input"
    schema = found["transcribe-episode/local"].parameter_openapi_schema["properties"]
    assert "http(s) URL" in schema["audio"]["description"]
    assert found["gpu-transcribe/gpu"].job_variables["image"] == "podwhisperer-gpu:test"

    log = open(tmp_path / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "local-process"],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        params = {"audio": str(episode_mp3), "title": "From the CLI",
                  "settings": {"output": {"out_dir": str(tmp_path / "out")}}}
        started = prefect("deployment", "run", "transcribe-episode/local", "--params", json.dumps(params), env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        run_id = next(line.split()[-1] for line in started.stdout.splitlines() if "UUID" in line)
        deadline = time.monotonic() + 600
        with get_client(sync_client=True) as client:
            while not (run := client.read_flow_run(run_id)).state.is_final():
                assert time.monotonic() < deadline, run.state
                time.sleep(2)
        assert run.state.is_completed(), (run.state.message, (tmp_path / "worker.log").read_text()[-3000:])
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        log.close()
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("from-the-cli-")
    assert "lambda" in (folder / "transcript.txt").read_text().lower()
    assert "WEBVTT" in (folder / "captions.vtt").read_text()
