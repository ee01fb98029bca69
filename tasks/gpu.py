"""Transcription on the GPU work pool: dispatch, wait (suspended or blocking), collect.

The main flow uploads the staged WAV to shared storage and starts the GPU flow's deployment
with an idempotency key made from content (podwhisperer.dispatch): a retry or a rerun finds the
same GPU flow run instead of starting another, and once the transcript is in shared storage
nothing is dispatched at all.

Waiting: in ``suspend`` mode the main flow run suspends (its process exits, nothing is held)
and the GPU flow resumes it when it ends, whatever the end; in ``block`` mode the collect task
polls. A GPU run that fails, crashes or is cancelled fails the collect task with its message;
a retry of that task (``gpu.retries``) starts the same GPU flow run again.
"""

from __future__ import annotations

import time
from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext, TaskRunContext
from prefect.deployments import run_deployment
from prefect.flow_runs import suspend_flow_run
from prefect.logging import get_logger, get_run_logger
from prefect.states import Cancelling, Scheduled

from podwhisperer import storage
from podwhisperer.dispatch import GpuJob, GpuRequest, plan_request
from podwhisperer.model import AudioInfo, Transcript
from podwhisperer.progress import report
from podwhisperer.rules import RuleSet
from podwhisperer.settings import EngineSettings, GpuSettings

from ._prefect import ContentKey, is_transient

SHARED_RETRIES = dict(retries=3, retry_delay_seconds=[2, 10, 30], retry_condition_fn=is_transient(storage.SharedStorageError))


class GpuJobFailed(RuntimeError):
    """The GPU flow run ended without a transcript; the message is its own."""


def wait_mode(gpu: GpuSettings) -> str:
    """``auto``: suspend when this flow run belongs to a deployment (only those can be resumed)."""
    if gpu.wait != "auto":
        return gpu.wait
    ctx = FlowRunContext.get()
    return "suspend" if ctx and ctx.flow_run and ctx.flow_run.deployment_id else "block"


def _current_flow_run_id() -> str | None:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def _ended_badly(run: FlowRun) -> bool:
    return run.state is not None and run.state.is_final() and not run.state.is_completed()


def _restart(run: FlowRun, parameters: dict) -> None:
    """Run a GPU flow run that ended badly again: same run, same idempotency key."""
    with get_client(sync_client=True) as client:
        client.update_flow_run(run.id, parameters=parameters)
        client.set_flow_run_state(run.id, Scheduled(), force=True)


@task(name="dispatch-gpu", cache_policy=NO_CACHE, **SHARED_RETRIES)
def dispatch_gpu(audio: AudioInfo, engine: EngineSettings, rules: RuleSet, gpu: GpuSettings) -> GpuJob:
    parent = _current_flow_run_id()
    request, key = plan_request(audio, engine, rules, gpu, parent, wait_mode(gpu) == "suspend")
    if storage.s3_size(request.result_uri) is not None:
        report("transcribe", 1.0, "already transcribed on the GPU pool")
        return GpuJob(request=request)
    if not audio.wav_path.is_file():
        raise FileNotFoundError(f"staged audio {audio.wav_path} is gone; run again to stage it anew")
    report("transcribe", 0.0, "uploading audio for the GPU pool")
    storage.s3_upload(audio.wav_path, request.audio_uri)
    parameters = {"request": request.model_dump(mode="json")}
    run = run_deployment(gpu.deployment, parameters=parameters, idempotency_key=key, timeout=0,
                         as_subflow=False, tags=["podwhisperer", f"audio-{audio.sha256[:12]}"])
    if _ended_badly(run) and (run.parameters.get("request") or {}).get("parent_flow_run_id") != parent:
        # Ended badly for an earlier main flow run: this run is a new attempt.
        _restart(run, parameters)
    get_run_logger().info("GPU flow run %s (%s) for audio %s", run.name, run.id, audio.sha256[:12])
    report("transcribe", 0.05, f"GPU flow run {run.name}")
    return GpuJob(request=request, flow_run_id=str(run.id))


def wait_for_gpu(job: GpuJob, gpu: GpuSettings) -> None:
    """In suspend mode, suspend this flow run until the GPU flow run ends (the flow reruns from the
    top when resumed: finished tasks come back cached). The key makes the suspension happen once;
    a GPU run that ended before we got here is not waited for at all."""
    if job.flow_run_id is None or not job.request.resume_parent:
        return
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(job.flow_run_id))
    if run.state is None or not run.state.is_final():
        suspend_flow_run(timeout=int(gpu.timeout_s), key=f"gpu-{job.flow_run_id}")


def _wait(flow_run_id: str, gpu: GpuSettings, restart_failed: bool, parameters: dict) -> FlowRun:
    deadline = time.monotonic() + gpu.timeout_s
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        if restart_failed and _ended_badly(run):
            _restart(run, parameters)
            run = client.read_flow_run(run.id)
        while run.state is None or not run.state.is_final():
            if time.monotonic() > deadline:
                client.set_flow_run_state(run.id, Cancelling(message="timed out waiting for it"), force=True)
                raise TimeoutError(f"GPU flow run {run.name} did not finish within {gpu.timeout_s:.0f} s; cancelled")
            time.sleep(gpu.poll_s)
            run = client.read_flow_run(run.id)
    return run


@task(
    name="collect-gpu",
    persist_result=True,
    # The result's place in shared storage is named by content, so it is the cache key too.
    cache_policy=ContentKey(fingerprints={"job": lambda j: j.request.result_uri}),
)
def collect_gpu(job: GpuJob, gpu: GpuSettings) -> Transcript:
    if job.flow_run_id is not None:
        ctx = TaskRunContext.get()
        retrying = bool(ctx and ctx.task_run.run_count > 1)
        run = _wait(job.flow_run_id, gpu, retrying, {"request": job.request.model_dump(mode="json")})
        if not run.state.is_completed():
            raise GpuJobFailed(f"GPU flow run {run.name} {run.state.name.lower()}: {run.state.message or 'no message'}")
    data = storage.s3_get_bytes(job.request.result_uri)
    transcript = Transcript.model_validate_json(data)
    if transcript.audio_sha256 != job.request.audio.sha256:
        raise GpuJobFailed(f"{job.request.result_uri} holds another episode's transcript")
    report("transcribe", 1.0, f"{len(transcript.segments)} segments from the GPU pool")
    return transcript


# --- the GPU flow's side ---------------------------------------------------------------------


@task(name="fetch-shared-audio", cache_policy=NO_CACHE, **SHARED_RETRIES)
def fetch_shared_audio(job_request: GpuRequest) -> AudioInfo:
    """The staged WAV from shared storage into this machine's work dir (kept: keys are hashes)."""
    from podwhisperer.audio import staged_wav_path
    from podwhisperer.settings import Settings

    audio = job_request.audio
    local = staged_wav_path(audio.sha256, Settings().audio)  # this worker's own work dir
    if not local.is_file() or local.stat().st_size != storage.s3_size(job_request.audio_uri):
        storage.s3_download(job_request.audio_uri, local)
    return audio.model_copy(update={"wav_path": local})


@task(name="publish-transcript", cache_policy=NO_CACHE, **SHARED_RETRIES)
def publish_transcript(transcript: Transcript, result_uri: str) -> str:
    storage.s3_put_bytes(transcript.model_dump_json().encode(), result_uri)
    return result_uri


def resume_parent(flow, flow_run: FlowRun, state) -> None:
    """GPU flow hook, on every end: resume the main flow run that suspended itself for us.

    The parent may not have suspended yet (it checks our state first, but we may end between
    its check and its suspension): then wait a little for it to get there."""
    from prefect.flow_runs import resume_flow_run

    request = (flow_run.parameters or {}).get("request") or {}
    parent = request.get("parent_flow_run_id")
    if not (parent and request.get("resume_parent")):
        return
    with get_client(sync_client=True) as client:
        for _ in range(120):
            parent_state = client.read_flow_run(UUID(parent)).state
            if parent_state is None or parent_state.is_final():
                return
            if parent_state.is_paused():
                try:
                    resume_flow_run(UUID(parent))
                except RuntimeError as exc:  # it stays suspended until its timeout fails it
                    get_logger("podwhisperer.gpu").warning("could not resume flow run %s: %s", parent, exc)
                return
            time.sleep(1)
