"""manifest.json: what an episode folder holds, what it was made from, and how long each step took."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import ValidationError

from .model import AudioInfo, Manifest, OutputFile, Transcript
from .storage import sha256_file
from .writers import MANIFEST


def package_versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in ("podwhisperer", "prefect"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "unknown"
    return {**versions, **(extra or {})}


def build_manifest(
    slug: str,
    dest: Path,
    source: str,
    title: str,
    files: dict[str, bytes],
    audio: AudioInfo,
    transcript: Transcript,
    config: dict,
    timings: dict[str, float],
    content_key: str,
    caption_report: dict | None = None,
) -> Manifest:
    talk = transcript.talk_time()
    return Manifest(
        slug=slug,
        episode_dir=str(dest),
        input={"source": source, "sha256": audio.sha256, "title": title,
               "duration": audio.duration, "format": audio.format_name, "codec": audio.codec,
               "bytes": audio.size_bytes},
        files={name: OutputFile(path=name, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
               for name, data in files.items()},
        config=config,
        versions=package_versions(transcript.engine.versions),
        timings=timings,
        content_key=content_key,
        captions=caption_report,
        warnings=transcript.warnings,
        language=transcript.language,
        speakers={label: transcript.speaker_names.get(label, label) for label in talk},
        talk_time_s={label: round(seconds, 1) for label, seconds in talk.items()},
    )


def manifest_bytes(manifest: Manifest) -> bytes:
    return json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False).encode()


def outputs_intact(dest: Path, content_key: str) -> bool:
    """True when ``dest`` holds exactly what a run with ``content_key`` wrote there."""
    try:
        manifest = Manifest.model_validate_json((dest / MANIFEST).read_bytes())
    except (OSError, ValidationError):
        return False
    if manifest.content_key != content_key:
        return False
    for f in manifest.files.values():
        path = dest / f.path
        if not path.is_file() or path.stat().st_size != f.bytes or sha256_file(path) != f.sha256:
            return False
    return True
