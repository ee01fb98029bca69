"""Completion and failure events: what they say (v2's contract and more) and where they go.

The completion event keeps PodWhisperer v2's EventBridge contract (source ``podwhisperer.pipeline``,
detail-type ``Pipeline Completed``, ``inputKey``/``bucket``/``outputKeys``/``timing``) so Episoder and
other consumers keep working, and adds speakers, audio duration, language and per-step timings.
v2 had no failure event; ours says which step failed and why.

An event's id is derived from what it reports (the outputs' content key, or the failed run), so
a consumer (and Prefect's event store, which keeps one event per id) can drop a repeat.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from .model import Manifest
from .storage import split_s3
from .writers import CAPTION_JSON, RAW_TRANSCRIPT, SRT, TRANSCRIPT, VTT

COMPLETED = "Pipeline Completed"
FAILED = "Pipeline Failed"
PREFECT_EVENTS = {COMPLETED: "podwhisperer.pipeline.completed", FAILED: "podwhisperer.pipeline.failed"}
_NAMESPACE = uuid.UUID("5b3f1c1e-1d7e-4e55-9a83-8f4c3f0f5a11")


class EventDeliveryError(RuntimeError):
    """An event bus did not take the event (worth a retry)."""


class Published(BaseModel):
    """Where an episode's files are: an S3 bucket and keys, or (bucket None) local paths."""

    bucket: str | None = None
    files: dict[str, str] = Field(description="Output file name -> S3 key or local path.")


class Event(BaseModel):
    detail_type: str
    id: str
    resource: str = Field(description="What the event is about (Prefect resource id).")
    detail: dict


def input_location(source: str) -> tuple[str | None, str]:
    """(bucket, key) of an s3:// input; (None, source) for anything else."""
    if source.startswith("s3://"):
        return split_s3(source)
    return None, source


def _timing(started: datetime, ended: datetime, label: str) -> dict:
    return {"pipelineStartedAt": started.isoformat(), f"pipeline{label}At": ended.isoformat(),
            "pipelineDurationMs": max(0, round((ended - started).total_seconds() * 1000))}


def completion_event(manifest: Manifest, published: Published, started: datetime, completed: datetime) -> Event:
    input_bucket, input_key = input_location(str(manifest.input["source"]))
    keys = published.files
    detail = {
        "inputKey": input_key,
        "inputBucket": input_bucket,
        "bucket": published.bucket,
        "outputKeys": {
            "rawTranscript": keys[RAW_TRANSCRIPT],
            "refinedTranscript": keys[TRANSCRIPT],
            "captions": {"vtt": keys[VTT], "srt": keys[SRT], "json": keys[CAPTION_JSON]},
            "all": keys,
        },
        "timing": _timing(started, completed, "Completed"),
        "episode": {"title": manifest.input["title"], "slug": manifest.slug, "audioSha256": manifest.input["sha256"]},
        "speakers": manifest.speakers,
        "audioDurationS": manifest.input["duration"],
        "language": manifest.language,
        "stepTimingsS": manifest.timings,
        "warnings": manifest.warnings,
    }
    event_id = uuid.uuid5(_NAMESPACE, f"completed:{manifest.content_key}:{published.bucket}")
    return Event(detail_type=COMPLETED, id=str(event_id), resource=f"podwhisperer.episode.{manifest.slug}",
                 detail=detail)


def failure_event(source: str, step: str, error: str, flow_run_id: str, started: datetime,
                  failed: datetime) -> Event:
    input_bucket, input_key = input_location(source)
    detail = {"inputKey": input_key, "inputBucket": input_bucket, "step": step, "error": error[:2000],
              "flowRunId": flow_run_id, "timing": _timing(started, failed, "Failed")}
    event_id = uuid.uuid5(_NAMESPACE, f"failed:{flow_run_id}:{step}")
    return Event(detail_type=FAILED, id=str(event_id), resource=f"podwhisperer.input.{input_key[-200:]}",
                 detail=detail)


def to_eventbridge(event: Event, bus: str, source: str) -> None:
    """Put the event on an EventBridge bus; a rejected entry raises EventDeliveryError."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    entry = {"Source": source, "DetailType": event.detail_type, "EventBusName": bus,
             "Resources": [], "Detail": json.dumps({**event.detail, "eventId": event.id})}
    try:
        answer = boto3.client("events").put_events(Entries=[entry])
    except (BotoCoreError, ClientError) as exc:
        raise EventDeliveryError(f"EventBridge bus {bus}: {exc}") from exc
    if answer.get("FailedEntryCount"):
        failed = answer["Entries"][0]
        raise EventDeliveryError(f"EventBridge bus {bus}: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")


def to_prefect(event: Event, related: list[dict[str, str]] | None = None) -> None:
    """Emit it as a Prefect event (automations can react: notify, start a deployment)."""
    from prefect.events import emit_event

    emit_event(event=PREFECT_EVENTS[event.detail_type], resource={"prefect.resource.id": event.resource},
               payload=event.detail, id=uuid.UUID(event.id), related=related or [])
