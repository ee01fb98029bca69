"""Publish an episode folder to S3 (output.storage), so the completion event can point at it."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from podwhisperer.events import Published
from podwhisperer.model import Manifest
from podwhisperer.settings import OutputSettings
from podwhisperer.storage import SharedStorageError, publish_s3, s3_join, s3_size, split_s3
from podwhisperer.writers import MANIFEST

from ._prefect import ContentKey, transient_retries

FINGERPRINTS = {"manifest": lambda m: m.content_key, "settings": lambda s: s.storage or ""}


def _still_there(inputs: dict, cached) -> bool:
    """A cached upload counts only while its manifest object is still in the bucket."""
    manifest, settings = inputs["manifest"], inputs["settings"]
    if not settings.storage:
        return True
    return s3_size(s3_join(settings.storage, manifest.slug, MANIFEST)) is not None


@task(
    name="publish-outputs",
    **transient_retries(SharedStorageError),
    timeout_seconds=1800,
    persist_result=True,
    cache_policy=ContentKey(fingerprints=FINGERPRINTS, modules=("podwhisperer.storage",), still_valid=_still_there),
)
def publish_outputs(manifest: Manifest, settings: OutputSettings) -> Published:
    """Upload to ``output.storage`` (manifest.json last); without it the files stay where they are."""
    folder = Path(manifest.episode_dir)
    if not settings.storage:
        return Published(files={name: str(folder / name) for name in [*manifest.files, MANIFEST]})
    keys = publish_s3(folder, [*manifest.files, MANIFEST], settings.storage, last=MANIFEST)
    return Published(bucket=split_s3(settings.storage)[0], files=keys)

