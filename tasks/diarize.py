"""Diarize: speaker labels for engines that give none (podwhisperer.diarize), with a speaker table."""

from __future__ import annotations

from prefect import task
from prefect.utilities.annotations import opaque

from podwhisperer.diarize import assign_speakers, diarize_wav
from podwhisperer.model import AudioInfo, Transcript
from podwhisperer.progress import report
from podwhisperer.settings import DiarizeSettings

from ._prefect import ContentKey, model_fingerprint


@task(
    name="diarize",
    timeout_seconds=4 * 3600,
    persist_result=True,
    cache_policy=ContentKey(
        fingerprints={"transcript": lambda t: t.content_hash(), "settings": model_fingerprint},
        modules=("podwhisperer.diarize",),
    ),
)
def diarize_speakers(transcript: Transcript, audio: AudioInfo, settings: DiarizeSettings) -> Transcript:
    if not settings.enabled or any(seg.speaker for seg in transcript.segments):
        return transcript  # off, or the engine labelled speakers itself
    if not audio.wav_path.is_file():
        raise FileNotFoundError(f"staged audio {audio.wav_path} is gone; run again to stage it anew")
    report("diarize", 0.0, "speaker embeddings")
    turns = diarize_wav(audio.wav_path, settings.num_speakers, settings.min_speakers, settings.max_speakers,
                        settings.threshold)
    labelled = assign_speakers(transcript, turns)
    report("diarize", 1.0, f"{len(labelled.talk_time())} speakers")  # the speaker table: report-run
    return labelled


def label_speakers(transcript: Transcript, audio: AudioInfo, settings: DiarizeSettings) -> Transcript:
    """The diarize task when it is on (no task run, no stored copy of the transcript when off)."""
    return diarize_speakers(opaque(transcript), audio, settings) if settings.enabled else transcript
