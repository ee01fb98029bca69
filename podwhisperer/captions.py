"""Caption layout to the broadcast standard (Netflix timed-text style, REFERENCE.md section 3).

Limits (all in :class:`CaptionSettings`): at most 42 characters a line counting spaces, at most 2
lines, 5/6 s to 7 s on screen, at most 20 characters a second (17 targeted when the gaps allow a
longer display), at least 83 ms (2 frames) between cues, no overlaps, never two speakers in a cue.

Where a cue ends is chosen by priority: speaker change > sentence end > pause of 0.5 s or more >
clause punctuation > before a conjunction or preposition. Lines are balanced and a one-word
orphan line is avoided when a better split exists. When speech makes a limit impossible (a long
word said fast), the nearest compliant choice is made and :func:`check` reports the violation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .model import CaptionReport, Captions, Cue, Transcript, Violation
from .settings import CaptionSettings

SENTENCE_END = (".", "?", "!", "…", '."', '?"', '!"')
CLAUSE = (",", ";", ":", "—", "–")
JOINERS = frozenset(
    "and but or nor so yet because although though while whereas if unless until when whenever where "
    "that which who whom whose as than to of in on at by for with from into onto about over under "
    "after before between through during without within".split()
)
PAUSE_S = 0.5
MAX_LEAD_IN_S = 0.5  # a cue may appear this much before its first word is spoken
# Lower is a better place to end a cue (or a line).
SPEAKER, SENTENCE, PAUSE, CLAUSE_P, JOINER, NONE = range(6)


@dataclass(slots=True)
class _W:
    text: str
    start: float
    end: float
    speaker: str | None


def _break_rank(words: list[_W], k: int) -> int:
    """How good it is to break after ``words[k]``."""
    if k + 1 >= len(words) or words[k + 1].speaker != words[k].speaker:
        return SPEAKER
    w, nxt = words[k], words[k + 1]
    if w.text.endswith(SENTENCE_END):
        return SENTENCE
    if nxt.start - w.end >= PAUSE_S:
        return PAUSE
    if w.text.endswith(CLAUSE):
        return CLAUSE_P
    if nxt.text.lower().strip(",.;:!?\"'") in JOINERS:
        return JOINER
    return NONE


def split_lines(words: list[_W], width: int, max_lines: int, prefix: str = "",
                ranks: list[int] | None = None) -> list[str]:
    """Best 1- or 2-line layout: one line if it fits; else the balanced split with the best break.

    ``ranks[k]``: how good a break after ``words[k]`` is (computed here when not given).
    """
    texts = [w.text for w in words]
    lens = [len(t) for t in texts]
    total = sum(lens) + len(lens) - 1 + len(prefix)
    if total <= width or len(texts) == 1 or max_lines == 1:
        return [prefix + " ".join(texts)]
    ranks = ranks if ranks is not None else [_break_rank(words, k) for k in range(len(words))]
    best_cost, best_k, a = None, 1, len(prefix) - 1
    for k in range(1, len(texts)):
        a += lens[k - 1] + 1  # length of the first line with k words
        b = total - a - 1
        over = max(a - width, 0) + max(b - width, 0)
        orphan = 1 if (k == 1 or k == len(texts) - 1) else 0
        cost = over * 1000 + orphan * 30 + abs(a - b) + _LINE_BREAK_COST.get(ranks[k - 1], 12)
        if best_cost is None or cost < best_cost:
            best_cost, best_k = cost, k
    return [prefix + " ".join(texts[:best_k]), " ".join(texts[best_k:])]


_LINE_BREAK_COST = {SENTENCE: 0, PAUSE: 2, CLAUSE_P: 2, JOINER: 6}


def _fits(lens: list[int], prefix_len: int, duration: float, s: CaptionSettings) -> bool:
    """Can words of these lengths be one cue: within the duration and in at most ``max_lines``?"""
    if len(lens) == 1:
        return True
    if duration > s.max_cue_duration_s:
        return False
    total = sum(lens) + len(lens) - 1 + prefix_len
    if total <= s.max_line_chars:
        return True
    if s.max_lines < 2 or total > s.max_line_chars * s.max_lines + 1:
        return False
    first = prefix_len - 1
    for k in range(len(lens) - 1):  # two lines: is there a split with both short enough?
        first += lens[k] + 1
        if first > s.max_line_chars:
            return False
        if total - first - 1 <= s.max_line_chars:
            return True
    return False


def _chunks(words: list[_W], ranks: list[int], s: CaptionSettings, first_prefix: int, prefix: int) -> list[list[_W]]:
    """Cut one speaker's run of words into cues: fill, and on overflow back up to the best break."""
    cues: list[list[_W]] = []
    lens = [len(w.text) for w in words]
    floor = 0.4 * s.max_line_chars * s.max_lines  # a cue cut short at a good break still holds this much
    i = 0
    while i < len(words):
        reserve = prefix if cues else first_prefix
        j = i + 1
        while j < len(words) and _fits(lens[i:j + 1], reserve, words[j].end - words[i].start, s):
            j += 1
        if j < len(words):  # overflow: choose the best break inside words[i:j]
            best, size = j - 1, -1
            best_key = (ranks[j - 1], -(j - 1))
            for k in range(i, j):
                size += lens[k] + 1
                if size >= floor and (ranks[k], -k) < best_key:
                    best, best_key = k, (ranks[k], -k)
            j = best + 1
        cues.append(words[i:j])
        i = j
    return cues


def layout(transcript: Transcript, s: CaptionSettings) -> list[Cue]:
    words = [_W(w.text, w.start, w.end, seg.speaker or w.speaker) for seg in transcript.segments
             for w in (seg.words or _even_words(seg))]
    cues: list[Cue] = []
    run_start = 0
    for k in range(len(words)):
        if k + 1 == len(words) or words[k + 1].speaker != words[k].speaker:
            run = words[run_start:k + 1]
            ranks = [_break_rank(run, r) for r in range(len(run))]
            # A named speaker is introduced by name; an unnamed one with the broadcast dash.
            name = transcript.speaker_names.get(run[0].speaker or "")
            prefix = f"{name}: " if name else "- "
            # "change": name the speaker when the speaker changes (not on a lone speaker's first cue).
            first = s.speaker_prefix == "always" or (s.speaker_prefix == "change" and bool(cues))
            rest = s.speaker_prefix == "always"
            at = 0
            for n, chunk in enumerate(_chunks(run, ranks, s, len(prefix) * first, len(prefix) * rest)):
                show = first if n == 0 else rest
                lines = split_lines(chunk, s.max_line_chars, s.max_lines, prefix if show else "",
                                    ranks[at:at + len(chunk)])
                at += len(chunk)
                cues.append(Cue(start=chunk[0].start, end=chunk[-1].end, lines=lines, speaker=chunk[0].speaker,
                                prefix=prefix if show else ""))
            run_start = k + 1
    _time(cues, s)
    return cues


def _even_words(seg) -> list:
    from .model import Word

    tokens = seg.text.split()
    step = (seg.end - seg.start) / max(len(tokens), 1)
    return [Word(text=t, start=seg.start + i * step, end=seg.start + (i + 1) * step, interpolated=True)
            for i, t in enumerate(tokens)]


def _time(cues: list[Cue], s: CaptionSettings) -> None:
    """Display times: long enough to read (min duration, target speed) using the silence after the
    speech, never past 7 s, and always ending ``min_gap_s`` before the next cue starts."""
    prev_end = -float("inf")
    for i, c in enumerate(cues):
        nxt = cues[i + 1].start if i + 1 < len(cues) else float("inf")
        latest = min(nxt - s.min_gap_s, c.start + s.max_cue_duration_s)
        chars = len("".join(c.lines)) + len(c.lines) - 1
        # The most time this cue can have on screen, whatever the layout does.
        window = latest - max(c.start - MAX_LEAD_IN_S, prev_end + s.min_gap_s, 0.0)
        if window < s.min_cue_duration_s:
            c.forced.append("min_duration")
        if window <= 0 or (chars - len(c.prefix)) / window > s.max_cps:  # the prefix is our choice
            c.forced.append("reading_speed")
        if any(len(line) > s.max_line_chars and " " not in line[len(c.prefix):] for line in c.lines):
            c.forced.append("line_length")  # one word longer than a line
        wanted = max(c.end, c.start + s.min_cue_duration_s, c.start + chars / s.target_cps)
        c.end = max(min(wanted, latest), c.start)
        # Still too fast or too short to read: show it a little before the speech (lead-in).
        needed = max(s.min_cue_duration_s, chars / s.max_cps)
        if c.end - c.start < needed:
            c.start = max(min(c.start, c.end - needed), c.start - MAX_LEAD_IN_S, prev_end + s.min_gap_s, 0.0)
        c.start, c.end = round(c.start, 3), round(c.end, 3)
        if c.prefix and c.end > c.start and chars / (c.end - c.start) > s.max_cps >= (chars - len(c.prefix)) / (c.end - c.start):
            c.lines[0] = c.lines[0][len(c.prefix):]  # the speaker prefix alone would make it too fast to read
            c.prefix = ""
        prev_end = c.end


def build_captions(transcript: Transcript, settings: CaptionSettings) -> Captions:
    t0 = time.perf_counter()
    cues = layout(transcript, settings)
    return Captions(cues=cues, report=check(cues, settings), elapsed_s=round(time.perf_counter() - t0, 4))


def check(cues: list[Cue], s: CaptionSettings) -> CaptionReport:
    """Share of cues within each limit, and every violation."""
    violations: list[Violation] = []
    limits = ("line_length", "lines", "min_duration", "max_duration", "reading_speed", "gap")
    ok = dict.fromkeys(limits, 0)
    for i, c in enumerate(cues):
        dur = c.end - c.start
        chars = len("".join(c.lines)) + len(c.lines) - 1
        cps = chars / dur if dur > 0 else float("inf")
        gap = cues[i + 1].start - c.end if i + 1 < len(cues) else None
        checks = {
            "line_length": (max(len(line) for line in c.lines) <= s.max_line_chars, f"{max(len(line) for line in c.lines)} characters"),
            "lines": (len(c.lines) <= s.max_lines, f"{len(c.lines)} lines"),
            "min_duration": (dur >= s.min_cue_duration_s - 1e-6, f"{dur:.3f} s"),
            "max_duration": (dur <= s.max_cue_duration_s + 1e-6, f"{dur:.3f} s"),
            "reading_speed": (cps <= s.max_cps + 1e-6, f"{cps:.1f} characters/s"),
            "gap": (gap is None or gap >= s.min_gap_s - 1e-3, f"{gap:.3f} s to the next cue" if gap is not None else ""),
        }
        for limit, (passed, detail) in checks.items():
            if passed:
                ok[limit] += 1
            else:
                violations.append(Violation(cue=i + 1, start=c.start, limit=limit, detail=detail,
                                            text=" / ".join(c.lines), forced=limit in c.forced))
    n = len(cues)
    return CaptionReport(
        cues=n,
        within={k: round(v / n, 4) if n else 1.0 for k, v in ok.items()},
        all_limits=round(1 - len({v.cue for v in violations}) / n, 4) if n else 1.0,
        all_allowed=round(1 - len({v.cue for v in violations if not v.forced}) / n, 4) if n else 1.0,
        violations=violations,
    )


def read_caption_file(path) -> list[Cue]:
    """Cues of any SRT or WebVTT file (ours or another tool's), for :func:`check`."""
    from pathlib import Path

    import srt
    import webvtt

    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".vtt" or text.lstrip().startswith("WEBVTT"):
        cues = []
        for c in webvtt.from_string(text):
            start, end = _vtt_seconds(c.start), _vtt_seconds(c.end)  # start_in_seconds drops the ms
            cues.append(Cue(start=start, end=max(end, start), lines=c.text.splitlines() or [""]))
        return cues
    return [Cue(start=s.start.total_seconds(), end=max(s.end.total_seconds(), s.start.total_seconds()),
                lines=s.content.splitlines() or [""]) for s in srt.parse(text)]


def _vtt_seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
