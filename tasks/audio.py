"""Stage audio: fetch, hash, validate and convert the input (podwhisperer.audio)."""

from __future__ import annotations

from prefect import task
from prefect.tasks import exponential_backoff

from podwhisperer import audio
from podwhisperer.model import AudioInfo
from podwhisperer.settings import AudioSettings
from podwhisperer.progress import report

from ._prefect import ContentKey, is_transient, model_fingerprint


def _wav_still_there(inputs: dict, key: str) -> bool:
    s: AudioSettings = inputs["settings"]
    sha = audio.source_fingerprint(inputs["source"])
    return (s.work_dir / "audio" / f"{sha}-{s.sample_rate}.wav").is_file()


@task(
    name="stage-audio",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient(audio.TransientFetchError),
    timeout_seconds=3600,
    persist_result=True,
    cache_policy=ContentKey(
        fingerprints={"source": audio.source_fingerprint, "settings": model_fingerprint},
        modules=("podwhisperer.audio",),
        still_valid=_wav_still_there,
    ),
)
def stage_audio(source: str, settings: AudioSettings) -> AudioInfo:
    report("stage", 0.0, source)
    info = audio.stage(source, settings)
    report("stage", 1.0, f"{info.duration:.0f} s of {info.codec}")
    return info
