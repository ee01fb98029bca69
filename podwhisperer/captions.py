"""Transcript segments -> caption cues.

A simple, correct layout: words fill lines of at most ``max_line_chars`` (spaces counted), at
most ``max_lines`` per cue, a cue never spans two segments or speakers nor lasts longer than
``max_cue_duration_s``, and cues keep ``min_gap_s`` between them without overlapping.
"""

from __future__ import annotations

import time

from .model import Captions, Cue, Segment, Transcript, Word
from .settings import CaptionSettings


def _segment_words(seg: Segment) -> list[Word]:
    if seg.words:
        return seg.words
    # No word timings at all: spread the segment's words evenly over it.
    tokens = seg.text.split()
    step = (seg.end - seg.start) / max(len(tokens), 1)
    return [Word(text=t, start=seg.start + i * step, end=seg.start + (i + 1) * step, interpolated=True)
            for i, t in enumerate(tokens)]


def _wrap(words: list[Word], width: int) -> list[str]:
    lines: list[str] = []
    for w in words:
        if lines and len(lines[-1]) + 1 + len(w.text) <= width:
            lines[-1] += " " + w.text
        else:
            lines.append(w.text)
    return lines


def segment_cues(seg: Segment, s: CaptionSettings) -> list[Cue]:
    cues: list[Cue] = []
    current: list[Word] = []
    for w in _segment_words(seg):
        candidate = current + [w]
        too_long = len(_wrap(candidate, s.max_line_chars)) > s.max_lines
        too_slow = current and w.end - current[0].start > s.max_cue_duration_s
        if current and (too_long or too_slow):
            cues.append(_cue(current, seg, s))
            current = [w]
        else:
            current = candidate
    if current:
        cues.append(_cue(current, seg, s))
    return cues


def _cue(words: list[Word], seg: Segment, s: CaptionSettings) -> Cue:
    return Cue(start=words[0].start, end=max(words[-1].end, words[0].start),
               lines=_wrap(words, s.max_line_chars), speaker=seg.speaker or words[0].speaker)


def build_captions(transcript: Transcript, settings: CaptionSettings) -> Captions:
    t0 = time.perf_counter()
    cues = [c for seg in transcript.segments for c in segment_cues(seg, settings)]
    for prev, nxt in zip(cues, cues[1:]):
        if nxt.start - prev.end < settings.min_gap_s:
            prev.end = max(prev.start, nxt.start - settings.min_gap_s)
        if nxt.start < prev.end:  # only when the gap cannot be kept at all
            nxt.start = prev.end
    for c in cues:
        c.start, c.end = round(c.start, 3), round(max(c.end, c.start), 3)
    return Captions(cues=cues, elapsed_s=round(time.perf_counter() - t0, 4))
