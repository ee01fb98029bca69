"""Render a transcript and its cues as the output files (bytes; the caller publishes them).

Every timestamp is formatted from integer milliseconds (v2 rounded the milliseconds separately
and printed ``00:00:59.1000``).
"""

from __future__ import annotations

import math
from datetime import timedelta
from html import escape

import srt
from pydantic import BaseModel
from pydantic_core import to_json

from .model import Captions, Transcript

DEFAULT_SPEAKER = "Speaker"

RAW_TRANSCRIPT = "raw_transcript.json"
TRANSCRIPT = "transcript.json"
WORDS = "words.json"
TEXT = "transcript.txt"
CAPTION_JSON = "caption.json"
SRT = "captions.srt"
VTT = "captions.vtt"
MARKDOWN = "transcript.md"
LLM_AUDIT = "llm_audit.json"
MANIFEST = "manifest.json"


def to_ms(seconds: float) -> int:
    """Seconds -> integer milliseconds, half up (Python's round() would send 0.5 ms to even)."""
    return math.floor(seconds * 1000 + 0.5)


def format_timestamp(seconds: float, sep: str = ".", hours: bool = True) -> str:
    """``59.9996`` -> ``00:01:00.000``: the carry happens in integer milliseconds."""
    ms = to_ms(seconds)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}" if hours or h else f"{m:02d}:{s:02d}{sep}{ms:03d}"


def speaker_name(label: str | None, names: dict[str, str]) -> str:
    if not label:
        return DEFAULT_SPEAKER
    return names.get(label, label)


def caption_json(transcript: Transcript, captions: Captions) -> dict:
    """Episoder's contract: ``spk_N`` labels assigned to the distinct names sorted alphabetically."""
    names = [speaker_name(c.speaker, transcript.speaker_names) for c in captions.cues]
    labels = {name: f"spk_{i}" for i, name in enumerate(sorted(set(names)))}
    return {
        "speakers": {label: name for name, label in labels.items()},
        "segments": [
            {"speakerLabel": labels[name], "start": to_ms(c.start) / 1000, "end": to_ms(c.end) / 1000, "text": c.text}
            for c, name in zip(captions.cues, names)
        ],
    }


def render_srt(captions: Captions) -> str:
    subs = [
        srt.Subtitle(index=i, start=timedelta(milliseconds=to_ms(c.start)),
                     end=timedelta(milliseconds=to_ms(c.end)), content="\n".join(c.lines))
        for i, c in enumerate(captions.cues, start=1)
    ]
    return srt.compose(subs, reindex=False)


def render_vtt(transcript: Transcript, captions: Captions) -> str:
    """WebVTT with the speaker as a voice span. Written directly (the format is a few lines a cue;
    building webvtt-py objects cost more than all other writers together on a 3-hour episode);
    the tests read it back with webvtt-py and ffmpeg."""
    out = ["WEBVTT", ""]
    for c in captions.cues:
        voice = escape(speaker_name(c.speaker, transcript.speaker_names), quote=False).replace("\n", " ")
        text = "\n".join(escape(line, quote=False) for line in c.lines)
        out += [f"{format_timestamp(c.start)} --> {format_timestamp(c.end)}", f"<v {voice}>{text}", ""]
    return "\n".join(out)


def speaker_turns(transcript: Transcript) -> list[tuple[str, float, str]]:
    """(speaker name, start, text): consecutive segments of one speaker are one turn."""
    turns: list[tuple[str, float, str]] = []
    for seg in transcript.segments:
        name = speaker_name(seg.speaker, transcript.speaker_names)
        if turns and turns[-1][0] == name:
            turns[-1] = (name, turns[-1][1], f"{turns[-1][2]} {seg.text}")
        else:
            turns.append((name, seg.start, seg.text))
    return turns


def render_markdown(title: str, transcript: Transcript) -> str:
    """Speaker turns with their start time."""
    out = [f"# {title}"]
    if not transcript.segments:
        out += ["", "_No speech was detected in this episode._"]
    for name, start, text in speaker_turns(transcript):
        out += ["", f"**{name}** [{format_timestamp(start)[:8]}]", "", text]
    return "\n".join(out).rstrip() + "\n"


def render_words(transcript: Transcript) -> bytes:
    """Every word with its timing, score, speaker and ``interpolated`` (the timing was synthesized:
    the engine gave none, or an edit made the word). The rows are the words' own field dicts,
    serialized by pydantic's core: a 30,000-word episode in tens of milliseconds."""
    rows = []
    for seg in transcript.segments:
        for w in seg.words:
            row = dict(w.__dict__)  # a pydantic model's fields, as they are
            row["speaker"] = row["speaker"] or seg.speaker
            rows.append(row)
    return to_json(rows) + b"\n"


def render_text(transcript: Transcript) -> str:
    """Plain text, one paragraph per speaker turn, prefixed with the speaker when there are several."""
    turns = speaker_turns(transcript)
    several = len({name for name, _, _ in turns}) > 1
    return "".join(f"{name + ': ' if several else ''}{text}\n\n" for name, _, text in turns).rstrip("\n") + "\n"


def render_all(title: str, raw: Transcript, transcript: Transcript, captions: Captions,
               llm_audit: BaseModel | None = None) -> dict[str, bytes]:
    """Every output file; ``llm_audit.json`` only when an LLM step ran."""
    audit = {LLM_AUDIT: to_json(llm_audit, indent=2)} if llm_audit is not None else {}
    return {
        RAW_TRANSCRIPT: to_json(raw, indent=2),  # pydantic's core, straight to bytes
        TRANSCRIPT: to_json(transcript, indent=2),
        WORDS: render_words(transcript),
        TEXT: render_text(transcript).encode(),
        CAPTION_JSON: to_json(caption_json(transcript, captions), indent=2),  # json.dumps(indent=) is pure Python
        SRT: render_srt(captions).encode(),
        VTT: render_vtt(transcript, captions).encode(),
        MARKDOWN: render_markdown(title, transcript).encode(),
    } | audit
