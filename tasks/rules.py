"""Replacement rules: load and validate the rule file first, apply it after transcription."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact

from podwhisperer import audio, rules
from podwhisperer.model import Transcript
from podwhisperer.progress import report
from podwhisperer.rules import RuleSet
from podwhisperer.settings import AudioSettings, RulesSettings

from ._prefect import ContentKey, model_fingerprint, network_retries


def _rules_fingerprint(settings: RulesSettings) -> str | None:
    if not settings.source:
        return "none"
    return audio.source_fingerprint(settings.source)  # a remote file is read again every run


@task(
    name="load-rules",
    **network_retries(),
    timeout_seconds=120,
    persist_result=True,
    cache_policy=ContentKey(fingerprints={"settings": _rules_fingerprint}, modules=("podwhisperer.rules",)),
)
def load_rules(settings: RulesSettings, fetch_settings: AudioSettings) -> RuleSet:
    return rules.load_rules(settings.source, fetch_settings)


@task(
    name="apply-rules",
    timeout_seconds=600,
    persist_result=True,
    cache_policy=ContentKey(
        fingerprints={"transcript": lambda t: t.content_hash(), "ruleset": model_fingerprint},
        modules=("podwhisperer.rules", "podwhisperer.align", "podwhisperer.model"),
    ),
)
def apply_rules(transcript: Transcript, ruleset: RuleSet) -> Transcript:
    edited = rules.apply_rules(transcript, ruleset)
    if ruleset.rules:
        create_table_artifact(
            key="replacement-rules",
            table=[{"rule": k, "matches": v} for k, v in edited.edits[-1].counts.items()],
            description=f"Matches per rule from {ruleset.source}",
        )
    report("rules", 1.0, f"{edited.edits[-1].changed_segments} segments changed")
    return edited
