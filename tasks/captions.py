"""Captions: lay the transcript out as caption cues (podwhisperer.captions)."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

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
    create_table_artifact(
        key="caption-report",
        table=[{"limit": k, "share of cues within": f"{100 * v:.1f}%"} for k, v in r.within.items()]
        + [{"limit": "all limits", "share of cues within": f"{100 * r.all_limits:.1f}%"}],
        description=f"{r.cues} cues, {len(r.violations)} violations (listed in manifest.json)",
    )
    report("captions", 1.0, f"{len(result.cues)} cues, {100 * r.all_limits:.0f}% within all limits")
    return result
