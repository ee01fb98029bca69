"""S3 intake, the pure part: which objects under the input prefix are episodes, and their identity.

An object's identity is (bucket, key, ETag): the same object is started once however often the
prefix is polled or the poll is retried, and an object overwritten with new bytes (new ETag) is
an episode to transcribe again. Its title is its key below the prefix, so ``input/a/ep1.mp3`` and
``input/b/ep1.mp3`` land in different output folders (v2 let nested keys collide).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel

from .feeds import AUDIO_SUFFIXES
from .model import EpisodeRun
from .storage import split_s3


class IntakeObject(BaseModel):
    uri: str
    etag: str
    size: int
    modified: datetime
    title: str


class Skipped(BaseModel):
    uri: str
    reason: str


def intake_key(uri: str, etag: str) -> str:
    """Idempotency key of the pipeline run for one version of one object."""
    return "podwhisperer-s3-" + hashlib.sha256(f"{uri}\n{etag}".encode()).hexdigest()[:40]


def episodes_in(base: str, objects: list[dict], max_bytes: int) -> tuple[list[IntakeObject], list[Skipped]]:
    """Audio objects under ``base`` (oldest first), and why every other object was passed over."""
    bucket, prefix = split_s3(base)
    found, skipped = [], []
    for o in objects:
        uri = f"s3://{bucket}/{o['key']}"
        relative = o["key"][len(prefix):].lstrip("/")
        if not relative or o["key"].endswith("/"):
            continue  # the prefix itself, or a "folder" marker
        if not relative.lower().endswith(AUDIO_SUFFIXES):
            skipped.append(Skipped(uri=uri, reason="not an audio file name (" + ", ".join(AUDIO_SUFFIXES) + ")"))
        elif o["size"] == 0:
            skipped.append(Skipped(uri=uri, reason="empty object"))
        elif o["size"] > max_bytes:
            skipped.append(Skipped(uri=uri, reason=f"{o['size']} bytes is over the {max_bytes}-byte limit"))
        else:
            title = relative.rsplit(".", 1)[0].replace("/", " ")
            found.append(IntakeObject(uri=uri, etag=o["etag"], size=o["size"], modified=o["modified"], title=title))
    return found, skipped


def episode_runs(objects: list[IntakeObject]) -> list[EpisodeRun]:
    return [EpisodeRun(key=intake_key(o.uri, o.etag), audio=o.uri, title=o.title) for o in objects]
