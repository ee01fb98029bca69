"""Captions: lay the transcript out as caption cues (podwhisperer.captions)."""

from __future__ import annotations

from prefect import task

from podwhisperer import captions
from podwhisperer.model import Captions, Transcript
from podwhisperer.progress import report
from podwhisperer.settings import CaptionSettings

from ._prefect import ContentKey, model_fingerprint


@task(
    name="build-captions",
    timeout_seconds=600,
    persist_result=True,
    cache_policy=ContentKey(
        # Only what cues are made of: an edit log entry that changed no text changes no cue.
        fingerprints={"transcript": lambda t: t.model_dump_json(include={"segments", "speaker_names"}),
                      "settings": model_fingerprint},
        modules=("podwhisperer.captions", "podwhisperer.model"),
    ),
)
def build_captions(transcript: Transcript, settings: CaptionSettings) -> Captions:
    result = captions.build_captions(transcript, settings)
    r = result.report
    report("captions", 1.0, f"{len(result.cues)} cues, {100 * r.all_limits:.0f}% within all limits")
    return result
