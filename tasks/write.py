"""Write outputs: render every file and publish the episode folder atomically."""

from __future__ import annotations

import hashlib
import time

from prefect import task

from podwhisperer import manifest as manifests
from podwhisperer import writers
from podwhisperer.audio import default_title
from podwhisperer.llm import RefineReport
from podwhisperer.model import AudioInfo, Captions, Episode, Manifest, Transcript
from podwhisperer.progress import report
from podwhisperer.settings import OutputSettings
from podwhisperer.storage import publish_dir, slugify

from ._prefect import ContentKey, model_fingerprint

# The source and title are inputs here, and only here: they name the folder and the manifest.
FINGERPRINTS = {
    "source": model_fingerprint,
    "title": model_fingerprint,
    "audio": lambda a: a.content_hash(),  # a remote input is fetched (and timed) again on every run
    "raw": lambda t: t.content_hash(),
    "transcript": lambda t: t.content_hash(),
    "captions": lambda c: c.content_hash(),
    "llm": model_fingerprint,
    "settings": model_fingerprint,
    "config": model_fingerprint,
}
MODULES = ("podwhisperer.writers", "podwhisperer.manifest", "podwhisperer.storage", "podwhisperer.model")


def content_key(inputs: dict) -> str:
    """Identity of what the folder is made from; recorded in manifest.json to check it later."""
    parts = {name: fp(inputs[name]) for name, fp in FINGERPRINTS.items()}
    return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()


def episode_dir(inputs: dict):
    title = inputs["title"] or default_title(inputs["source"])
    return inputs["settings"].out_dir / slugify(title, inputs["audio"].sha256)


def _outputs_intact(inputs: dict, cached) -> bool:
    return manifests.outputs_intact(episode_dir(inputs), content_key(inputs))


@task(
    name="write-outputs",
    retries=0,  # local disk errors do not pass by themselves
    timeout_seconds=600,
    persist_result=True,
    cache_policy=ContentKey(fingerprints=FINGERPRINTS, modules=MODULES, still_valid=_outputs_intact),
)
def write_outputs(
    source: str,
    title: str | None,
    audio: AudioInfo,
    raw: Transcript,
    transcript: Transcript,
    captions: Captions,
    llm: RefineReport | None,
    settings: OutputSettings,
    config: dict,
) -> Manifest:
    """``raw``: the engine's transcript; ``transcript``: after rules and LLM edits; ``llm``: the
    LLM step's audit (None: no LLM step)."""
    t0 = time.perf_counter()
    inputs = dict(source=source, title=title, audio=audio, raw=raw, transcript=transcript, captions=captions,
                  llm=llm, settings=settings, config=config)
    key, dest = content_key(inputs), episode_dir(inputs)
    title = title or default_title(source)
    episode = Episode(title=title, source=source)
    raw = raw.model_copy(update={"episode": episode})
    transcript = transcript.model_copy(update={"episode": episode})
    files = writers.render_all(title, raw, transcript, captions, llm)
    timings = {"stage_audio": audio.elapsed_s, **{f"engine_{k}": v for k, v in transcript.engine.timings.items()},
               "build_captions": captions.elapsed_s, "render_outputs": round(time.perf_counter() - t0, 4)}
    m = manifests.build_manifest(dest.name, dest, source, title, files, audio, transcript, config, timings, key,
                                 captions.report.model_dump() if captions.report else None)
    files[writers.MANIFEST] = manifests.manifest_bytes(m)
    publish_dir(files, dest)
    report("write", 1.0, str(dest))

    return m
