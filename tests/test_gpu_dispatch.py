"""Dispatch to the GPU work pool, end to end on this machine.

A real Prefect server (the session's), a process work pool standing in for the ECS GPU pool with
both flows deployed to it and a real worker running them, and moto in server mode as shared
storage. The GPU flow runs the CPU engine here (``gpu.remote_engine``), so its outputs must equal
the in-process CPU path's byte for byte.
"""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from podwhisperer.dispatch import GpuRequest, job_key, plan_request
from podwhisperer.model import AudioInfo
from podwhisperer.rules import RuleSet
from podwhisperer.settings import EngineSettings, GpuSettings, Settings

pytestmark = pytest.mark.e2e


def test_request_is_named_by_content(tmp_path):
    audio = AudioInfo(sha256="a" * 64, size_bytes=1, format_name="mp3", codec="mp3", duration=1.0,
                      wav_path=tmp_path / f"{'a' * 64}-16000.wav")
    gpu = GpuSettings(storage="s3://bucket/pw/")
    rules = RuleSet(vocabulary=["Eoin"])
    req, key = plan_request(audio, EngineSettings(engine="whisperx-gpu"), rules, gpu, "parent", True)
    again, key2 = plan_request(audio, EngineSettings(engine="whisperx-gpu"), rules, gpu, "another", False)
    assert key == key2 and req.result_uri == again.result_uri  # retries and reruns: the same job
    assert req.engine.engine == "whisperx" and req.rules.targets() == ["Eoin"]
    assert req.audio_uri == f"s3://bucket/pw/audio/{'a' * 64}-16000.wav"
    assert req.result_uri.endswith(f"/transcripts/{job_key('a' * 64, req.engine, ['Eoin'])}.json")
    other, key3 = plan_request(audio, EngineSettings(engine="whisperx-gpu", model="large-v3"), rules, gpu, None, False)
    assert key3 != key and other.result_uri != req.result_uri
    with pytest.raises(ValueError, match="gpu.storage"):
        Settings(engine=EngineSettings(engine="whisperx-gpu"))


def _run_main(audio: Path, out: Path, work: Path, engine: dict | None = None, **gpu) -> "object":
    from prefect.deployments import run_deployment

    settings = {"engine": {"engine": "whisperx-gpu", **(engine or {})},
                "gpu": {"storage": "s3://shared/podwhisperer", "deployment": "gpu-transcribe/standin",
                        "remote_engine": "faster-whisper", "poll_s": 1, **gpu},
                "audio": {"work_dir": str(work)}, "output": {"out_dir": str(out)}}
    return run_deployment("transcribe-episode/standin", parameters={"audio": str(audio), "settings": settings},
                          timeout=400, poll_interval=2)


def _gpu_runs() -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["gpu-transcribe"])))


def _state_names(flow_run_id) -> list[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [s.name for s in client.read_flow_run_states(flow_run_id)]


def test_dispatch_suspends_resumes_and_matches_the_cpu_path(process_pool, episode_mp3, tmp_path, settings):
    from podwhisperer.flows.transcribe import transcribe_episode

    run = _run_main(episode_mp3, tmp_path / "gpu-out", tmp_path / "main-work", wait="suspend")
    assert run.state.is_completed(), (run.state, (process_pool / "worker.log").read_text()[-3000:])
    # It really waited without a process: suspended, then resumed by the GPU flow run.
    assert "Suspended" in _state_names(run.id)
    (child,) = _gpu_runs()
    assert child.state.is_completed()
    assert GpuRequest.model_validate(child.parameters["request"]).parent_flow_run_id == str(run.id)
    assert boto3.client("s3").list_objects_v2(Bucket="shared", Prefix="podwhisperer/transcripts/")["KeyCount"] == 1

    # The same episode through the in-process CPU engine: the same outputs, byte for byte.
    transcribe_episode(str(episode_mp3), settings=settings)
    (gpu_dir,) = (tmp_path / "gpu-out").iterdir()
    (cpu_dir,) = settings.output.out_dir.iterdir()
    for name in ("transcript.txt", "captions.srt", "captions.vtt", "words.json", "caption.json"):
        assert (gpu_dir / name).read_bytes() == (cpu_dir / name).read_bytes(), name

    # A rerun dispatches nothing: the transcript is already in shared storage.
    again = _run_main(episode_mp3, tmp_path / "gpu-out-2", tmp_path / "main-work", wait="suspend")
    assert again.state.is_completed() and len(_gpu_runs()) == 1
    assert "Suspended" not in _state_names(again.id)


def test_a_failing_gpu_job_fails_the_main_flow_with_its_message(process_pool, tmp_path):
    from podwhisperer.demo import synthesize

    audio = synthesize([("A", "a different episode, so a different GPU job")], tmp_path / "other.wav")
    before = len(_gpu_runs())
    # The GPU side cannot load this model: its run fails, and so does ours, with its words.
    run = _run_main(audio, tmp_path / "out", tmp_path / "work", engine={"model": str(tmp_path / "no-such-model")},
                    wait="block", retries=0)
    assert run.state.is_failed()
    assert len(_gpu_runs()) == before + 1
    child = max(_gpu_runs(), key=lambda r: r.created)
    assert child.state.is_failed()
    message = run.state.message or ""
    assert "GPU flow run" in message and child.name in message, message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _flow_run(client, state, deployed: bool = False):
    """A flow run in ``state``; ``deployed``: of a deployment on a pool no worker serves (only a
    deployment's run can be resumed)."""
    from prefect import flow
    from prefect.client.schemas.actions import WorkPoolCreate

    @flow(name="gpu-race-standin")
    def standin():
        pass

    if not deployed:
        return client.create_flow_run(standin, state=state)
    client.create_work_pool(WorkPoolCreate(name="nobody-serves", type="process"), overwrite=True)
    deployment_id = client.create_deployment(flow_id=client.create_flow_from_name("gpu-race-standin"),
                                             name="parent", work_pool_name="nobody-serves",
                                             entrypoint="flows/none.py:none")
    return client.create_flow_run_from_deployment(deployment_id, state=state)


def test_the_gpu_flow_resumes_a_parent_that_suspends_only_after_it_ended(prefect_server):
    """The race: the GPU run ends between the parent's look at it and the parent's suspension.
    The end hook waits for the suspension and resumes it."""
    import threading

    from prefect.client.orchestration import get_client
    from prefect.states import Running, Suspended

    from podwhisperer.tasks.gpu import resume_parent

    with get_client(sync_client=True) as client:
        parent = _flow_run(client, Running(), deployed=True)
        child = _flow_run(client, Running())
        child.parameters = {"request": {"parent_flow_run_id": str(parent.id), "resume_parent": True}}
        hook = threading.Thread(target=resume_parent, args=(None, child, None))
        hook.start()
        time.sleep(2.5)  # the child has ended; the parent suspends only now
        client.set_flow_run_state(parent.id, Suspended(timeout_seconds=300, pause_key="gpu-x"), force=True)
        hook.join(30)
        assert not hook.is_alive()
        assert client.read_flow_run(parent.id).state.is_scheduled()  # resumed: rescheduled to go on


def test_a_gpu_job_past_its_timeout_is_cancelled_and_fails_the_wait(prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from podwhisperer.tasks.gpu import _wait

    with get_client(sync_client=True) as client:
        stuck = _flow_run(client, Scheduled())  # no worker will ever pick it up
    with pytest.raises(TimeoutError, match="did not finish within 2 s; cancelled"):
        _wait(str(stuck.id), GpuSettings(storage="s3://b/p", timeout_s=2, poll_s=0.5), False, {})
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(stuck.id).state.name in ("Cancelling", "Cancelled")


def test_a_crashed_gpu_run_wakes_the_episode_run_suspended_on_it(prefect_server):
    """The GPU machine lost: the GPU run's own end hooks never run. The crash automation's flow
    (deployments/automations.py crashes) resumes the suspended episode run in their place."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Completed, Crashed, Running, Suspended

    from podwhisperer.tasks.events import answer_crash

    @flow(name="gpu-transcribe")
    def gpu_standin(request: dict | None = None):
        pass

    with get_client(sync_client=True) as client:
        parent = _flow_run(client, Running(), deployed=True)
        client.set_flow_run_state(parent.id, Suspended(timeout_seconds=300, pause_key="gpu-lost"), force=True)
        request = {"parent_flow_run_id": str(parent.id), "resume_parent": True}
        lost = client.create_flow_run(gpu_standin, parameters={"request": request},
                                      state=Crashed(message="no heartbeat for 540 s"))
        ended = client.create_flow_run(gpu_standin, parameters={"request": request}, state=Completed())
        assert answer_crash.fn(str(ended.id)) == {}  # not crashed: its own hooks did their job
        assert client.read_flow_run(parent.id).state.is_paused()
        assert answer_crash.fn(str(lost.id)) == {"resumed": str(parent.id)}
        assert client.read_flow_run(parent.id).state.is_scheduled()  # resumed: it goes on and reads the crash
