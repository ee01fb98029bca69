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

from .model import CaptionReport, Captions, Cue, Transcript, Violation, Word
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
class _Draft:
    """A cue while its display times are worked out (a Cue once they are final)."""
    start: float
    end: float
    lines: list[str]
    speaker: str | None
    prefix: str
    forced: list[str]


def _break_ranks(words: list[Word], speakers: list[str | None]) -> list[int]:
    """How good it is to break after each word (one pass: it runs for every word of an episode)."""
    ranks = []
    for w, nxt, who, next_who in zip(words, words[1:], speakers, speakers[1:]):
        text = w.text
        if next_who != who:
            ranks.append(SPEAKER)
        elif text.endswith(SENTENCE_END):
            ranks.append(SENTENCE)
        elif nxt.start - w.end >= PAUSE_S:
            ranks.append(PAUSE)
        elif text.endswith(CLAUSE):
            ranks.append(CLAUSE_P)
        elif nxt.text.lower().strip(",.;:!?\"'") in JOINERS:
            ranks.append(JOINER)
        else:
            ranks.append(NONE)
    return ranks + [SPEAKER] if words else []


def split_lines(texts: list[str], width: int, max_lines: int, prefix: str, ranks: list[int]) -> list[str]:
    """Best 1- or 2-line layout of one cue's words: one line if it fits; else the balanced split
    with the best break (``ranks[k]``: how good a break after ``texts[k]`` is)."""
    lens = [len(t) for t in texts]
    total = sum(lens) + len(lens) - 1 + len(prefix)
    if total <= width or len(texts) == 1 or max_lines == 1:
        return [prefix + " ".join(texts)]
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


def _fill(words: list[Word], lens: list[int], i: int, end: int, reserve: int, s: CaptionSettings) -> int:
    """End (exclusive, at most ``end``) of the longest run ``words[i:j]`` that can be one cue: within
    the duration and in at most ``max_lines`` lines (``reserve``: characters a prefix takes).

    Incremental: a second line exists when the first holds as many words as fit (``g`` only ever
    moves forward), so each word is looked at a constant number of times.
    """
    width, two_lines = s.max_line_chars, s.max_lines >= 2
    total = first = reserve + lens[i]  # one line of everything; the first of two lines
    g, j = i + 1, i + 1  # first line: words[i:g]; candidate end: words[i:j + 1]
    while j < end:
        if words[j].end - words[i].start > s.max_cue_duration_s:
            break
        total += lens[j] + 1
        if total > width:
            if not two_lines or first > width:
                break
            while g < j and first + 1 + lens[g] <= width:
                first += 1 + lens[g]
                g += 1
            if total - first - 1 > width:  # the second line would be too long too
                break
        j += 1
    return j


def _chunks(words: list[Word], lens: list[int], ranks: list[int], start: int, end: int, s: CaptionSettings,
            first_prefix: int, prefix: int) -> list[tuple[int, int]]:
    """Cut one speaker's run ``words[start:end]`` into cues (index ranges): fill, and on overflow
    back up to the best break."""
    cues: list[tuple[int, int]] = []
    floor = 0.4 * s.max_line_chars * s.max_lines  # a cue cut short at a good break still holds this much
    i = start
    while i < end:
        j = _fill(words, lens, i, end, prefix if cues else first_prefix, s)
        if j < end:  # overflow: choose the best break inside words[i:j]
            best, size = j - 1, -1
            best_key = (ranks[j - 1], -(j - 1))
            for k in range(i, j):
                size += lens[k] + 1
                if size >= floor and (ranks[k], -k) < best_key:
                    best, best_key = k, (ranks[k], -k)
            j = best + 1
        cues.append((i, j))
        i = j
    return cues


def layout(transcript: Transcript, s: CaptionSettings) -> list[Cue]:
    words: list[Word] = []
    speakers: list[str | None] = []
    for seg in transcript.segments:
        seg_words = seg.words or _even_words(seg)
        words += seg_words
        speakers += [seg.speaker] * len(seg_words) if seg.speaker else [w.speaker for w in seg_words]
    texts = [w.text for w in words]
    lens = [len(t) for t in texts]
    ranks = _break_ranks(words, speakers)
    cues: list[_Draft] = []
    run_start = 0
    for k, rank in enumerate(ranks):
        if rank != SPEAKER:
            continue
        # words[run_start:k + 1]: one speaker's run. A named speaker is introduced by name, an
        # unnamed one with the broadcast dash.
        speaker = speakers[k]
        name = transcript.speaker_names.get(speaker or "")
        prefix = f"{name}: " if name else "- "
        # "change": name the speaker when the speaker changes (not on a lone speaker's first cue).
        first = s.speaker_prefix == "always" or (s.speaker_prefix == "change" and bool(cues))
        rest = s.speaker_prefix == "always"
        chunks = _chunks(words, lens, ranks, run_start, k + 1, s, len(prefix) * first, len(prefix) * rest)
        for n, (i, j) in enumerate(chunks):
            shown = prefix if (first if n == 0 else rest) else ""
            lines = split_lines(texts[i:j], s.max_line_chars, s.max_lines, shown, ranks[i:j])
            cues.append(_Draft(words[i].start, words[j - 1].end, lines, speaker, shown, []))
        run_start = k + 1
    _time(cues, s)
    return [Cue(start=c.start, end=c.end, lines=c.lines, speaker=c.speaker, prefix=c.prefix, forced=c.forced)
            for c in cues]


def _even_words(seg) -> list[Word]:
    tokens = seg.text.split()
    step = (seg.end - seg.start) / max(len(tokens), 1)
    return [Word(text=t, start=seg.start + i * step, end=seg.start + (i + 1) * step, interpolated=True)
            for i, t in enumerate(tokens)]


def _time(cues: list[_Draft], s: CaptionSettings) -> None:
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
        longest = max(len(line) for line in c.lines)
        passed = {
            "line_length": longest <= s.max_line_chars,
            "lines": len(c.lines) <= s.max_lines,
            "min_duration": dur >= s.min_cue_duration_s - 1e-6,
            "max_duration": dur <= s.max_cue_duration_s + 1e-6,
            "reading_speed": cps <= s.max_cps + 1e-6,
            "gap": gap is None or gap >= s.min_gap_s - 1e-3,
        }
        for limit, ok_here in passed.items():
            if ok_here:
                ok[limit] += 1
                continue
            detail = (f"{longest} characters" if limit == "line_length" else f"{len(c.lines)} lines" if limit == "lines"
                      else f"{cps:.1f} characters/s" if limit == "reading_speed"
                      else f"{gap:.3f} s to the next cue" if limit == "gap" else f"{dur:.3f} s")
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
