"""Edit text without losing timings: the word list is the source of truth.

After any text edit (replacement rules, LLM refinement) the old and new words of a segment are
matched by longest common subsequence. Between two matched (kept) words lies a gap of removed
old words and added new words:

- same count on both sides (a substitution, e.g. "Bytes" -> "Bites"): each new word takes the
  timing of the word it replaces, exactly;
- only removals: the previous kept word's end extends over them (the next word's start, at the
  segment's beginning);
- only additions: the previous word's span is split at its midpoint, again for each addition;
- both, in different counts ("four Theorem" -> "fourTheorem"): the new words share the removed
  words' span in proportion to their length.

Every timing made up this way gets ``score = None`` and ``interpolated = True``. Segment start
and end never change, and afterwards ``segment.text.split()`` equals the word texts.
"""

from __future__ import annotations

from .model import Segment, Word


def lcs_pairs(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """Index pairs of one longest common subsequence of ``a`` and ``b`` (exact token match)."""
    # A common prefix and suffix belong to an LCS: only the edited middle needs the table
    # (an edit usually touches a word or two of a segment).
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    middle = _lcs_table(a[head:len(a) - tail], b[head:len(b) - tail])
    return ([(i, i) for i in range(head)] + [(i + head, j + head) for i, j in middle]
            + [(len(a) - tail + k, len(b) - tail + k) for k in range(tail)])


def _lcs_table(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    n, m = len(a), len(b)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = table[i], table[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if a[i] == b[j] else max(below[j], row[j + 1])
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if a[i] == b[j]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return pairs


def _synth(text: str, start: float, end: float, like: Word | None) -> Word:
    return Word(text=text, start=round(start, 3), end=round(max(end, start), 3), score=None,
                speaker=like.speaker if like else None, interpolated=True)


def reconcile(old: list[Word], new_text: str, seg_start: float, seg_end: float) -> list[Word]:
    new, old = new_text.split(), list(old)
    if [w.text for w in old] == new:
        return list(old)
    if not old:  # nothing to inherit from: spread over the segment
        step = (seg_end - seg_start) / max(len(new), 1)
        return [_synth(t, seg_start + i * step, seg_start + (i + 1) * step, None) for i, t in enumerate(new)]

    out: list[Word] = []
    anchors = lcs_pairs([w.text for w in old], new) + [(len(old), len(new))]
    oi = nj = 0
    for ai, bj in anchors:
        removed, added = old[oi:ai], new[nj:bj]
        if removed and added and len(removed) == len(added):
            out += [w.model_copy(update={"text": t, "score": None, "interpolated": True}) for w, t in zip(removed, added)]
        elif removed and added:
            start, end = removed[0].start, removed[-1].end
            total = sum(len(t) for t in added)
            t0 = start
            for t in added:
                t1 = t0 + (end - start) * len(t) / total
                out.append(_synth(t, t0, t1, removed[0]))
                t0 = t1
        elif removed:
            if out:
                out[-1] = out[-1].model_copy(update={"end": max(out[-1].end, removed[-1].end)})
            elif ai < len(old):  # at the start: the next kept word reaches back over them
                old[ai] = old[ai].model_copy(update={"start": min(old[ai].start, removed[0].start)})
        elif added:
            for t in added:
                if out:
                    prev = out[-1]
                    mid = (prev.start + prev.end) / 2
                    out[-1] = prev.model_copy(update={"end": round(mid, 3)})
                    out.append(_synth(t, mid, prev.end, prev))
                else:  # before the first word: split the next old word's span instead
                    nxt = old[ai] if ai < len(old) else None
                    start = seg_start if nxt is None else nxt.start
                    end = seg_end if nxt is None else nxt.end
                    mid = (start + end) / 2
                    out.append(_synth(t, start, mid, nxt))
                    if nxt is not None:
                        old[ai] = nxt.model_copy(update={"start": round(mid, 3)})
        if ai < len(old):
            out.append(old[ai])
        oi, nj = ai + 1, bj + 1
    return out


def edit_segment(seg: Segment, new_text: str) -> Segment:
    """``seg`` with ``new_text``; words reconciled, segment bounds unchanged."""
    words = reconcile(list(seg.words), new_text, seg.start, seg.end)
    return seg.model_copy(update={"text": " ".join(w.text for w in words), "words": words})
