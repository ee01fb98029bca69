"""Word timings: every word gets a start and end inside its segment, in order.

Engines sometimes return words without timing (WhisperX cannot align numerals or symbols).
v2 gave those ``start = 0``, which throws captions to the start of the episode. Here a run of
untimed words shares the gap between its timed neighbours in proportion to its characters, and
each such word is flagged ``interpolated`` with ``score = None``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Word


@dataclass(frozen=True)
class RawWord:
    """A word as an engine returns it: timing and score may be missing."""

    text: str
    start: float | None = None
    end: float | None = None
    score: float | None = None
    speaker: str | None = None


def repair_word_times(raw: list[RawWord], seg_start: float, seg_end: float) -> list[Word]:
    seg_end = max(seg_end, seg_start)
    out: list[Word] = []
    i = 0
    prev_end = seg_start
    while i < len(raw):
        w = raw[i]
        if w.start is not None and w.end is not None:
            start = min(max(w.start, prev_end if out else seg_start, seg_start), seg_end)
            end = min(max(w.end, start), seg_end)
            out.append(Word(text=w.text, start=round(start, 3), end=round(end, 3), score=w.score, speaker=w.speaker))
            prev_end = end
            i += 1
            continue
        # A run of untimed words: find the next timed word (or the segment end) as the right anchor.
        j = i
        while j < len(raw) and (raw[j].start is None or raw[j].end is None):
            j += 1
        right = seg_end if j == len(raw) else min(max(raw[j].start, prev_end), seg_end)
        run = raw[i:j]
        weights = [max(len(r.text), 1) for r in run]
        span = max(right - prev_end, 0.0)
        t = prev_end
        for r, wt in zip(run, weights):
            dur = span * wt / sum(weights)
            out.append(Word(text=r.text, start=round(t, 3), end=round(t + dur, 3), score=None,
                            speaker=r.speaker, interpolated=True))
            t += dur
        prev_end = right
        i = j
    return out
