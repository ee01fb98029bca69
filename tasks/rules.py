"""Replacement rules: load and validate the rule file first, apply it after transcription."""

from __future__ import annotations

import json

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.tasks import exponential_backoff

from podwhisperer import audio, rules
from podwhisperer.model import Transcript
from podwhisperer.progress import report
from podwhisperer.rules import RuleSet
from podwhisperer.settings import AudioSettings, EngineSettings, RulesSettings

from ._prefect import ContentKey, is_transient, model_fingerprint


def _rules_fingerprint(settings: RulesSettings) -> str | None:
    if not settings.source:
        return "none"
    return audio.source_fingerprint(settings.source)  # a remote file is read again every run


@task(
    name="load-rules",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient(audio.TransientFetchError),
    timeout_seconds=120,
    persist_result=True,
    cache_policy=ContentKey(fingerprints={"settings": _rules_fingerprint}, modules=("podwhisperer.rules",)),
)
def load_rules(settings: RulesSettings, fetch_settings: AudioSettings) -> RuleSet:
    return rules.load_rules(settings.source, fetch_settings)


@task(name="vocabulary", persist_result=True, cache_policy=ContentKey(
    fingerprints={"ruleset": lambda r: json.dumps(r.targets()), "engine": model_fingerprint},
    modules=("podwhisperer.rules",)))
def vocabulary(ruleset: RuleSet, engine: EngineSettings) -> list[str]:
    """Names and terms the rules produce, given to the recognizer as hotwords (if enabled)."""
    return ruleset.targets() if engine.hotwords_from_rules else []


@task(
    name="apply-rules",
    timeout_seconds=600,
    persist_result=True,
    cache_policy=ContentKey(
        fingerprints={"transcript": lambda t: t.content_hash(), "ruleset": lambda r: r.sha256 + r.model_dump_json()},
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
