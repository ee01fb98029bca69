"""Stage audio: fetch, hash, validate and convert the input (podwhisperer.audio)."""

from __future__ import annotations

from prefect import task

from podwhisperer import audio
from podwhisperer.model import AudioInfo
from podwhisperer.settings import AudioSettings
from podwhisperer.progress import report

from ._prefect import ContentKey, model_fingerprint, network_retries


def _wav_still_there(inputs: dict, cached) -> bool:
    return cached().wav_path.is_file()


@task(
    name="stage-audio",
    **network_retries(),
    timeout_seconds=3600,
    persist_result=True,
    cache_policy=ContentKey(
        # Local: the file's hash. Remote: the server's version of it (S3 ETag, strong HTTP ETag);
        # without one the input is fetched and hashed on every run.
        fingerprints={"source": audio.input_identity, "settings": model_fingerprint},
        modules=("podwhisperer.audio",),
        still_valid=_wav_still_there,
    ),
)
def stage_audio(source: str, settings: AudioSettings) -> AudioInfo:
    report("stage", 0.0, source)
    info = audio.stage(source, settings)
    report("stage", 1.0, f"{info.duration:.0f} s of {info.codec}")
    return info
