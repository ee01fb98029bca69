"""Guardrails for LLM edits: an edit that rewrites instead of correcting is rejected, with the rule.

v2's defaults (REFERENCE.md): reject a suggested line if its word-change ratio
``(max(len) - LCS) / max(len)`` is over 0.4, or its character edit distance over the longer length
is over 0.5, or it changes more than 3 consecutive words. Lines under 5 words get only the
consecutive-words check (one fixed name in a 3-word line is already a third of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from .align import lcs_pairs


@dataclass(frozen=True)
class Limits:
    max_word_change_ratio: float = 0.4
    max_char_edit_ratio: float = 0.5
    max_consecutive_changed: int = 3
    short_line_words: int = 5


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (two rows: lines are short)."""
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _longest_changed_run(old: list[str], new: list[str]) -> int:
    """The longest run of new words that are not kept from the old line (and of old words dropped)."""
    pairs = lcs_pairs(old, new)
    longest, prev_i, prev_j = 0, -1, -1
    for i, j in [*pairs, (len(old), len(new))]:
        longest = max(longest, i - prev_i - 1, j - prev_j - 1)
        prev_i, prev_j = i, j
    return longest


def check(before: str, after: str, limits: Limits = Limits()) -> str | None:
    """None if the edit is a correction; else the reason it is rejected."""
    old, new = before.split(), after.split()
    if not new:
        return "empty replacement: a line is never deleted"
    run = _longest_changed_run(old, new)
    if run > limits.max_consecutive_changed:
        return f"{run} consecutive words changed (limit {limits.max_consecutive_changed})"
    if len(old) < limits.short_line_words:
        return None
    longest = max(len(old), len(new))
    word_ratio = (longest - len(lcs_pairs(old, new))) / longest
    if word_ratio > limits.max_word_change_ratio:
        return f"word-change ratio {word_ratio:.2f} (limit {limits.max_word_change_ratio})"
    char_ratio = edit_distance(before, after) / max(len(before), len(after))
    if char_ratio > limits.max_char_edit_ratio:
        return f"character edit ratio {char_ratio:.2f} (limit {limits.max_char_edit_ratio})"
    return None
