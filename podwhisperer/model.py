"""The transcript data model: the only thing tasks pass between them besides file references.

A :class:`Transcript` serialized with ``model_dump_json`` is ``raw_transcript.json``; its JSON
schema is ``docs/transcript.schema.json`` (``podwhisperer schema`` prints it). Times are seconds
as floats; they are rounded to milliseconds when written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Fields that say how long something took, not what it is: two runs that computed the same
    # thing at different speeds must give one identity (cache keys, the outputs' content key).
    _volatile: ClassVar[set | dict | None] = None

    def content_hash(self) -> str:
        """sha256 of the canonical JSON form, timings left out: the identity of this value in cache keys."""
        return hashlib.sha256(self.model_dump_json(exclude=self._volatile).encode()).hexdigest()


class Word(_Model):
    text: str = Field(description="The word as recognized, without surrounding spaces.")
    start: float = Field(ge=0, description="Start time (s).")
    end: float = Field(ge=0, description="End time (s), >= start.")
    score: float | None = Field(
        None, description="Recognizer confidence 0..1; null when the timing was synthesized."
    )
    speaker: str | None = Field(None, description="Speaker label, e.g. SPEAKER_00.")
    interpolated: bool = Field(
        False, description="True when the engine gave no timing and it was interpolated."
    )


class Segment(_Model):
    id: int = Field(ge=0)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    text: str
    speaker: str | None = None
    words: list[Word] = Field(default_factory=list)


class EngineInfo(_Model):
    engine: str = Field(description="Engine name, e.g. faster-whisper.")
    model: str = Field(description="Model name or directory as configured.")
    device: str
    compute_type: str
    versions: dict[str, str] = Field(default_factory=dict, description="Package versions used.")
    timings: dict[str, float] = Field(
        default_factory=dict, description="Seconds per engine stage (load, transcribe, ...)."
    )


class AudioInfo(_Model):
    """What the stage-audio task learnt about an input's content, and where it put the WAV.

    Content only: the same bytes under another name or URL give the same value.
    """

    sha256: str = Field(description="sha256 of the input's bytes: the episode's identity.")
    size_bytes: int
    format_name: str = Field(description="Container format as ffprobe names it.")
    codec: str
    duration: float = Field(description="Decoded duration (s).")
    wav_path: Path = Field(description="16 kHz mono PCM WAV for the engine.")
    elapsed_s: float = 0.0
    _volatile: ClassVar = {"elapsed_s"}


class EditSummary(_Model):
    """What one editing step (rules, LLM) changed."""

    step: str
    source: str = ""
    changed_segments: int = 0
    counts: dict[str, int] = Field(default_factory=dict, description="Matches per rule or reason.")


class Episode(_Model):
    title: str
    source: str = Field(description="The input as given: a path, an http(s) URL or an s3:// URI.")


class Transcript(_Model):
    schema_version: str = SCHEMA_VERSION
    audio_sha256: str = Field(description="sha256 of the input audio's bytes.")
    episode: Episode | None = Field(
        None, description="Title and source; set when the outputs are written, since the same "
        "audio under another name shares one transcription.")
    language: str
    duration: float = Field(ge=0)
    segments: list[Segment] = Field(default_factory=list)
    speaker_names: dict[str, str] = Field(
        default_factory=dict, description="Speaker label -> display name, when known."
    )
    engine: EngineInfo
    warnings: list[str] = Field(default_factory=list)
    edits: list[EditSummary] = Field(default_factory=list, description="Editing steps applied, in order.")
    _volatile: ClassVar = {"engine": {"timings"}}

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    def talk_time(self) -> dict[str, float]:
        """Seconds of speech per speaker label, in order of first appearance (unlabelled speech left out)."""
        talk: dict[str, float] = {}
        for seg in self.segments:
            if seg.speaker:
                talk[seg.speaker] = talk.get(seg.speaker, 0.0) + seg.end - seg.start
        return talk


class Cue(_Model):
    """One caption on screen."""

    start: float = Field(ge=0)
    end: float = Field(ge=0)
    lines: list[str] = Field(description="As displayed, the speaker prefix included.")
    speaker: str | None = None
    prefix: str = Field("", description="Speaker prefix shown at the start of the first line, if any.")
    forced: list[str] = Field(
        default_factory=list, description="Limits the speech itself makes impossible for this cue."
    )

    @property
    def text(self) -> str:
        """What was said: the lines joined, without the speaker prefix."""
        return " ".join(self.lines)[len(self.prefix):]


class Violation(_Model):
    cue: int = Field(description="1-based cue number.")
    start: float
    limit: str = Field(description="line_length, lines, min_duration, max_duration, reading_speed or gap.")
    detail: str
    text: str
    forced: bool = Field(False, description="True when the speech timing makes the limit impossible.")


class CaptionReport(_Model):
    cues: int
    within: dict[str, float] = Field(description="Share of cues within each limit (0..1).")
    all_limits: float = Field(description="Share of cues within every limit.")
    all_allowed: float = Field(
        1.0, description="Share of cues within every limit their speech timing allows (forced violations excepted).")
    violations: list[Violation] = Field(default_factory=list)


class Captions(_Model):
    cues: list[Cue] = Field(default_factory=list)
    report: CaptionReport | None = None
    elapsed_s: float = 0.0
    _volatile: ClassVar = {"elapsed_s"}


class OutputFile(_Model):
    path: str = Field(description="Path relative to the episode folder.")
    sha256: str
    bytes: int


class Manifest(_Model):
    slug: str
    episode_dir: str
    input: dict[str, str | int | float]
    files: dict[str, OutputFile]
    config: dict
    versions: dict[str, str]
    timings: dict[str, float]
    content_key: str = Field(description="Hash of everything the outputs were made from.")
    captions: dict | None = Field(None, description="The caption report: shares within each limit, violations.")
    warnings: list[str] = Field(default_factory=list, description="Things a person should know, e.g. no speech.")
    language: str = Field("", description="The transcript's language.")
    speakers: dict[str, str] = Field(
        default_factory=dict, description="Speaker label -> name (the label itself when unnamed), by talk order.")
    talk_time_s: dict[str, float] = Field(default_factory=dict, description="Speaker label -> seconds of speech.")


class EpisodeRun(_Model):
    """One episode to start as its own pipeline run (from a feed or the S3 intake)."""

    key: str = Field(description="Idempotency key: the same episode is started once, however often asked.")
    audio: str = Field(description="What the pipeline fetches: an http(s) URL or an s3:// URI.")
    title: str


class StartReport(_Model):
    """What one poll did with the episodes it found."""

    started: list[EpisodeRun] = Field(default_factory=list)
    already: list[EpisodeRun] = Field(default_factory=list, description="Started by an earlier or overlapping poll.")
    deferred: list[EpisodeRun] = Field(default_factory=list, description="Over the per-poll cap: next poll.")
