"""Transcribe: run the configured engine on the staged WAV (podwhisperer.engines), here or on
the GPU work pool (tasks/gpu.py)."""

from __future__ import annotations

import json

from prefect import task
from prefect.logging import get_run_logger

from podwhisperer.engines import get_engine
from podwhisperer.model import AudioInfo, Transcript
from podwhisperer.progress import report
from podwhisperer.rules import RuleSet
from podwhisperer.settings import EngineSettings, GpuSettings

from ._prefect import ContentKey, model_fingerprint
from .gpu import collect_gpu, dispatch_gpu, wait_for_gpu


@task(
    name="transcribe",
    retries=0,  # a local model is deterministic; the GPU dispatch brings its own retry policy
    timeout_seconds=4 * 3600,
    persist_result=True,
    cache_policy=ContentKey(
        # Of the rules, only the words they produce (given as hotwords) matter to transcription.
        fingerprints={"audio": lambda a: a.wav_path.name, "settings": model_fingerprint,
                      "rules": lambda r: json.dumps(r.targets())},
        modules=("podwhisperer.engines.faster_whisper", "podwhisperer.engines.whisperx", "podwhisperer.timing",
                 "podwhisperer.model"),
    ),
)
def transcribe(audio: AudioInfo, settings: EngineSettings, rules: RuleSet) -> Transcript:
    """The replacement rules' target words are given to the engine as hotwords (if enabled)."""
    if not audio.wav_path.is_file():
        raise FileNotFoundError(f"staged audio {audio.wav_path} is gone; run again to stage it anew")
    report("transcribe", 0.0, f"loading {settings.model}")
    engine = get_engine(settings)
    vocabulary = rules.targets() if settings.hotwords_from_rules else []
    transcript = engine.transcribe(audio.wav_path, audio.sha256, lambda f: report("transcribe", f), vocabulary)
    for warning in transcript.warnings:
        get_run_logger().warning("audio %s: %s", audio.sha256[:12], warning)
    report("transcribe", 1.0, f"{len(transcript.segments)} segments")
    return transcript


def transcribe_audio(audio: AudioInfo, rules: RuleSet, engine: EngineSettings, gpu: GpuSettings) -> Transcript:
    """faster-whisper and whisperx run here, in the transcribe task; whisperx-gpu is dispatched to
    the GPU work pool and its transcript collected from shared storage."""
    if engine.engine != "whisperx-gpu":
        return transcribe(audio, engine, rules)
    job = dispatch_gpu(audio, engine, rules, gpu)
    wait_for_gpu(job, gpu)
    return collect_gpu.with_options(retries=gpu.retries)(job, gpu)
