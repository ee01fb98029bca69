"""The GPU work pool's flow: fetch the shared audio -> transcribe -> publish the transcript.

Started by the main flow (tasks/gpu.py) through its deployment; it runs only the engine step.
Whatever the end (completed, failed, crashed, cancelled) it resumes the main flow run if that
one suspended itself to wait.
"""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import opaque

from podwhisperer.dispatch import GpuRequest
from podwhisperer.tasks.gpu import fetch_shared_audio, publish_transcript, resume_parent
from podwhisperer.tasks.transcribe import transcribe

ENDS = [resume_parent]


@flow(name="gpu-transcribe", description="The engine step of one episode, on a GPU worker.",
      on_completion=ENDS, on_failure=ENDS, on_crashed=ENDS, on_cancellation=ENDS)
def gpu_transcribe(request: GpuRequest) -> str:
    audio = fetch_shared_audio(request)
    raw = transcribe(audio, request.engine, request.rules)
    return publish_transcript(opaque(raw), request.result_uri)
