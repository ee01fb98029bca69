"""Refine: LLM corrections and speaker names with guardrails (podwhisperer.llm), audited."""

from __future__ import annotations

import os

from prefect import task
from prefect.utilities.annotations import opaque

from podwhisperer.llm import RefineReport, refine
from podwhisperer.model import Transcript
from podwhisperer.progress import report
from podwhisperer.providers import Bedrock, OpenAICompatible, Provider
from podwhisperer.rules import RuleSet
from podwhisperer.settings import LlmSettings

from ._prefect import ContentKey, model_fingerprint


def make_provider(s: LlmSettings) -> Provider:
    """The configured provider, with its secret from a Prefect block or the environment."""
    if s.provider == "openai":
        key = os.environ.get("OPENAI_API_KEY")
        if s.api_key_secret:
            from prefect.blocks.system import Secret

            key = Secret.load(s.api_key_secret).get()
        return OpenAICompatible(s.model, s.base_url or "", key)
    session = None
    if s.aws_credentials_block:
        from prefect_aws import AwsCredentials

        session = AwsCredentials.load(s.aws_credentials_block).get_boto3_session()
    return Bedrock(s.model, region=s.region, endpoint_url=s.endpoint_url, session=session)


def context_for(s: LlmSettings, rules: RuleSet) -> str:
    parts = [s.context] if s.context else []
    if s.hosts:
        parts.append("Speakers may include: " + ", ".join(s.hosts) + ".")
    if terms := rules.targets():
        parts.append("Names and terms are spelled: " + ", ".join(terms) + ".")
    return " ".join(parts)


@task(
    name="refine-transcript",
    retries=1,  # the providers' clients already back off on throttling; this covers an outage
    retry_delay_seconds=30,
    timeout_seconds=3600,
    persist_result=True,
    # Content, model id, prompt version (in the module's source) and settings: a rerun calls no LLM.
    cache_policy=ContentKey(
        fingerprints={"transcript": lambda t: t.content_hash(), "settings": model_fingerprint,
                      "rules": lambda r: ",".join(r.targets())},
        modules=("podwhisperer.llm", "podwhisperer.guardrails", "podwhisperer.providers", "podwhisperer.align"),
    ),
)
def refine_transcript(transcript: Transcript, settings: LlmSettings, rules: RuleSet) -> tuple[Transcript, RefineReport]:
    report("refine", 0.0, f"{settings.provider}: {settings.model}")
    refined, audit = refine(transcript, make_provider(settings), budget_tokens=settings.chunk_tokens,
                            overlap=settings.overlap_lines, max_tokens=settings.max_output_tokens,
                            attempts=settings.attempts, on_invalid=settings.on_invalid,
                            context=context_for(settings, rules))
    report("refine", 1.0, f"{sum(d.accepted for d in audit.decisions)} accepted of {len(audit.decisions)}")
    return refined, audit


def refine_if_configured(transcript: Transcript, settings: LlmSettings,
                         rules: RuleSet) -> tuple[Transcript, RefineReport | None]:
    """The refine task when a provider is set (no task run, no stored transcript copy when not)."""
    if settings.provider == "none":
        return transcript, None
    return refine_transcript(opaque(transcript), settings, rules)
