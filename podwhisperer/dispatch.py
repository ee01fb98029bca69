"""What the main flow sends the GPU flow, and where the answer will be: pure, no Prefect.

The GPU job is named by content: the result's place in shared storage and the idempotency key
of the GPU flow run both derive from the audio hash, the engine settings the GPU side runs and
the vocabulary. The same episode with the same settings is one GPU job, however often the main
flow retries or reruns.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version

from pydantic import BaseModel, Field

from .model import AudioInfo
from .rules import RuleSet
from .settings import EngineSettings, GpuSettings
from .storage import s3_join


class GpuRequest(BaseModel):
    """The GPU flow's one parameter."""

    audio: AudioInfo = Field(description="The episode's audio as the main flow staged it.")
    audio_uri: str = Field(description="Where that WAV lies in shared storage.")
    engine: EngineSettings = Field(description="What the GPU side runs.")
    rules: RuleSet = Field(default_factory=RuleSet, description="Only the vocabulary matters there.")
    result_uri: str = Field(description="Where the raw transcript goes (JSON).")
    parent_flow_run_id: str | None = Field(None, description="The main flow run that waits for it.")
    resume_parent: bool = Field(False, description="The parent suspended itself: resume it when done.")


class GpuJob(BaseModel):
    """A dispatched (or not needed) GPU job, as the main flow tracks it."""

    request: GpuRequest
    flow_run_id: str | None = Field(None, description="None: the result was already in shared storage.")


def job_key(audio_sha256: str, engine: EngineSettings, vocabulary: list[str]) -> str:
    """Content key of a GPU job (also the stem of its result object)."""
    parts = {"audio": audio_sha256, "engine": engine.model_dump(mode="json"), "vocabulary": vocabulary,
             "podwhisperer": version("podwhisperer")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def plan_request(audio: AudioInfo, engine: EngineSettings, rules: RuleSet, gpu: GpuSettings,
                 parent_flow_run_id: str | None, resume_parent: bool) -> tuple[GpuRequest, str]:
    """The request for the GPU flow and its idempotency key."""
    if not gpu.storage:
        raise ValueError("engine whisperx-gpu needs gpu.storage (an s3://bucket/prefix both sides reach)")
    remote = engine.model_copy(update={"engine": gpu.remote_engine})
    vocabulary = rules.targets() if engine.hotwords_from_rules else []
    key = job_key(audio.sha256, remote, vocabulary)
    request = GpuRequest(
        audio=audio,
        audio_uri=s3_join(gpu.storage, "audio", audio.wav_path.name),
        engine=remote,
        rules=RuleSet(vocabulary=vocabulary),
        result_uri=s3_join(gpu.storage, "transcripts", f"{key}.json"),
        parent_flow_run_id=parent_flow_run_id,
        resume_parent=resume_parent,
    )
    return request, f"podwhisperer-gpu-{key}"
