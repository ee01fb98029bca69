"""load rules -> stage audio -> transcribe -> diarize -> apply rules -> LLM refine -> review speakers
-> captions -> write outputs -> publish (S3) -> report -> completion event (failure event on failure)."""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import opaque

from podwhisperer.model import Manifest
from podwhisperer.settings import Settings
from podwhisperer.tasks.audio import stage_audio
from podwhisperer.tasks.captions import build_captions
from podwhisperer.tasks.diarize import label_speakers
from podwhisperer.tasks.events import announce_completion, announce_failure
from podwhisperer.tasks.llm import refine_if_configured
from podwhisperer.tasks.publish import publish_outputs
from podwhisperer.tasks.report import report_run
from podwhisperer.tasks.review import review_speaker_names
from podwhisperer.tasks.rules import apply_rules, load_rules
from podwhisperer.tasks.transcribe import transcribe_audio
from podwhisperer.tasks.write import write_outputs


@flow(name="transcribe-episode", description="One podcast episode to transcript and captions.",
      on_failure=[announce_failure])
def transcribe_episode(audio: str, title: str | None = None, settings: Settings | None = None,
                       review_speakers: bool = False) -> Manifest:
    """One episode through the whole pipeline.

    Args:
        audio: A local path, an http(s) URL or an s3:// URI.
        title: Names the output folder (made safe). None: the file name.
        settings: Any podwhisperer setting (see `podwhisperer schema`). None: defaults and environment.
        review_speakers: Pause for a person to confirm the speaker names in the Prefect UI.

    ``opaque(...)``: Prefect still links the task that made a transcript, but does not walk its
    thousands of words looking for futures (that walk was most of a cached rerun's time).
    """
    settings = settings or Settings()
    ruleset = load_rules(settings.rules, settings.audio)  # a bad rule file fails before any audio work
    staged = stage_audio(audio, settings.audio)
    raw = transcribe_audio(staged, ruleset, settings.engine, settings.gpu)  # here or on the GPU pool
    raw = label_speakers(raw, staged, settings.diarize)  # for engines that label none
    edited = apply_rules(opaque(raw), ruleset)
    refined, llm_audit = refine_if_configured(edited, settings.llm, ruleset)
    refined = review_speaker_names(refined, settings.review, review_speakers)  # a form in the Prefect UI
    captions = build_captions(opaque(refined), settings.captions)
    manifest = write_outputs(audio, title, staged, opaque(raw), opaque(refined), opaque(captions), llm_audit,
                             settings.output, settings.recorded())
    published = publish_outputs(manifest, settings.output)  # to output.storage (S3), when set
    report_run(manifest, llm_audit)  # artifacts, cached run or not
    announce_completion(manifest, published, settings.events)  # once per distinct set of outputs
    return manifest
