"""LLM refinement, the pure part: the v2 line contract, chunking within a token budget, parsing and
validating answers, guardrails, applying accepted edits with timings kept, and the audit.

Contract (REFERENCE.md): input lines ``[idx] [SPEAKER_00] text``; the answer holds only changed
lines, ``{"identifiedSpeakers": {"SPEAKER_00": "Eoin"}, "updates": [{"idx": 3, "text": "..."}]}``.
Beyond v2: long episodes go in overlapping chunks; an answer that is not JSON, is cut off, or
breaks the schema (unknown idx, unknown speaker label) raises :class:`AnswerError` so the caller
can retry it a bounded number of times, and never passes silently.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import guardrails
from .align import edit_segment
from .model import EditSummary, Transcript

PROMPT_VERSION = "2"
SYSTEM_PROMPT = """You correct podcast transcripts produced by speech recognition.
Fix only obvious recognition errors: misheard names and terms, words split or joined wrongly,
homophones, accidentally duplicated words. Never rephrase, restructure, summarise, or remove
fillers. When in doubt, leave the line alone.
Also name the speakers when the transcript makes it clear (hosts introduce themselves), and give
the [idx] of the line(s) that show each name.
Answer with JSON only, no prose:
{"identifiedSpeakers": {"SPEAKER_00": "Name"}, "speakerEvidence": {"SPEAKER_00": [0]},
 "updates": [{"idx": 3, "text": "the corrected line"}]}
List only the lines you changed, with their [idx] number; "updates": [] if none."""


class AnswerError(ValueError):
    """The model's answer cannot be used (the message says why); worth a bounded retry."""


class Update(BaseModel):
    model_config = ConfigDict(extra="forbid")

    idx: int
    text: str


class Answer(BaseModel):
    """What the model must answer (validated; extra keys refused)."""

    model_config = ConfigDict(extra="forbid")

    identifiedSpeakers: dict[str, str] = Field(default_factory=dict)  # noqa: N815 - the v2 contract
    speakerEvidence: dict[str, list[int]] = Field(default_factory=dict)  # noqa: N815 - ours: why each name
    updates: list[Update] = Field(default_factory=list)


class Decision(BaseModel):
    """One suggestion and what became of it (llm_audit.json)."""

    kind: str = Field(description="line or speaker")
    target: str = Field(description="the line idx, or the speaker label")
    before: str
    after: str
    accepted: bool
    reason: str | None = Field(None, description="why it was rejected")
    evidence: list[str] = Field(default_factory=list, description="speaker: the lines the model cited")


class RefineReport(BaseModel):
    """What the LLM step did (the audit artifact and llm_audit.json)."""

    model: str
    prompt_version: str = PROMPT_VERSION
    chunks: int = 0
    calls: int = 0
    failed_chunks: list[str] = Field(default_factory=list, description="Chunks left unrefined, and why.")
    decisions: list[Decision] = Field(default_factory=list)


def lines_of(transcript: Transcript) -> list[str]:
    return [f"[{i}] [{seg.speaker or 'SPEAKER_00'}] {seg.text}" for i, seg in enumerate(transcript.segments)]


def estimate_tokens(text: str) -> int:
    """About 4 characters a token for English: enough to keep a request under its budget."""
    return len(text) // 4 + 1


def chunk_ranges(lines: list[str], budget_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Consecutive ranges ``[start, end)`` of lines whose text fits ``budget_tokens``; each range
    after the first starts ``overlap`` lines before the previous one ended (context across the cut).
    A single line over the budget is a range of its own."""
    ranges: list[tuple[int, int]] = []
    start = 0
    while start < len(lines):
        end, used = start, 0
        while end < len(lines) and (end == start or used + estimate_tokens(lines[end]) <= budget_tokens):
            used += estimate_tokens(lines[end])
            end += 1
        ranges.append((start, end))
        if end >= len(lines):
            break
        start = max(end - overlap, start + 1)
    return ranges


def parse_answer(text: str, stop_reason: str | None, allowed_idx: range, labels: set[str]) -> Answer:
    """The model's text as a validated :class:`Answer`, or :class:`AnswerError` saying why not."""
    if stop_reason in ("length", "max_tokens"):
        raise AnswerError("the answer was cut off at the token limit")
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.S)  # models like fences
    body = fenced.group(1) if fenced else body
    try:
        answer = Answer.model_validate(json.loads(body))
    except json.JSONDecodeError as exc:
        raise AnswerError(f"not JSON ({exc.msg} at character {exc.pos})") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AnswerError(f"wrong shape: {'.'.join(map(str, err['loc']))}: {err['msg']}") from exc
    bad = [u.idx for u in answer.updates if u.idx not in allowed_idx]
    bad += [i for cited in answer.speakerEvidence.values() for i in cited if i not in allowed_idx]
    if bad:
        raise AnswerError(f"updates for lines outside the chunk: {bad[:5]}")
    unknown = sorted(set(answer.identifiedSpeakers) - labels)
    if unknown:
        raise AnswerError(f"names for speakers that do not exist: {unknown}")
    return answer


def review_updates(transcript: Transcript, updates: list[Update],
                   limits: guardrails.Limits = guardrails.Limits()) -> tuple[dict[int, str], list[Decision]]:
    """Guardrails on every suggested line. Returns the accepted edits (idx -> text) and the audit."""
    accepted: dict[int, str] = {}
    audit: list[Decision] = []
    for u in updates:
        before = transcript.segments[u.idx].text
        after = " ".join(u.text.split())
        if after == before or accepted.get(u.idx) == after:  # no change, or the overlap said it twice
            continue
        reason = guardrails.check(before, after, limits)
        if reason is None and u.idx in accepted and accepted[u.idx] != after:
            reason = "another chunk suggested a different edit of this line"
        audit.append(Decision(kind="line", target=str(u.idx), before=before, after=after,
                              accepted=reason is None, reason=reason))
        if reason is None:
            accepted[u.idx] = after
    return accepted, audit


def review_speakers(proposals: list[dict[str, str]], labels: list[str],
                    evidence: dict[str, list[str]] | None = None) -> tuple[dict[str, str], list[Decision]]:
    """Merge the chunks' speaker names: an empty name, labels that disagree across chunks, or two
    labels given one name (that would merge two speakers) are rejected, never guessed."""
    audit: list[Decision] = []
    seen: dict[str, set[str]] = {}
    for proposal in proposals:
        for label, name in proposal.items():
            seen.setdefault(label, set()).add(" ".join(name.split()))
    names: dict[str, str] = {}
    for label in labels:
        options = seen.get(label, set())
        if not options:
            continue
        name = next(iter(options))
        reason = ("empty name" if any(not o for o in options)
                  else f"chunks disagree: {sorted(options)}" if len(options) > 1 else None)
        audit.append(Decision(kind="speaker", target=label, before=label, after=" / ".join(sorted(options)),
                              accepted=reason is None, reason=reason, evidence=(evidence or {}).get(label, [])))
        if reason is None:
            names[label] = name
    by_name: dict[str, list[str]] = {}
    for label, name in names.items():
        by_name.setdefault(name.casefold(), []).append(label)
    for labels_sharing in (ls for ls in by_name.values() if len(ls) > 1):
        for label in labels_sharing:
            for d in audit:
                if d.kind == "speaker" and d.target == label:
                    d.accepted, d.reason = False, f"same name as {', '.join(x for x in labels_sharing if x != label)}"
            names.pop(label, None)
    return names, audit


def apply_edits(transcript: Transcript, edits: dict[int, str], names: dict[str, str], source: str) -> Transcript:
    """Accepted line edits through the one word reconciliation (timings kept); speaker names set."""
    segments = [edit_segment(seg, edits[i]) if i in edits else seg for i, seg in enumerate(transcript.segments)]
    summary = EditSummary(step="llm", source=source, changed_segments=len(edits),
                          counts={"lines changed": len(edits), "speakers named": len(names)})
    return transcript.model_copy(update={"segments": segments, "edits": [*transcript.edits, summary],
                                         "speaker_names": {**transcript.speaker_names, **names}})


def refine(transcript: Transcript, provider, *, budget_tokens: int = 3000, overlap: int = 3,
           max_tokens: int = 2048, attempts: int = 3, on_invalid: str = "fail",
           context: str = "") -> tuple[Transcript, RefineReport]:
    """Ask ``provider`` for corrections chunk by chunk; keep what passes validation and guardrails.

    An unusable answer is asked again up to ``attempts`` times; then ``on_invalid`` decides:
    ``fail`` raises :class:`AnswerError`, ``skip`` leaves that chunk as it was and reports it.
    """
    lines = lines_of(transcript)
    labels = {seg.speaker or "SPEAKER_00" for seg in transcript.segments}
    report = RefineReport(model=provider.model)
    updates: list[Update] = []
    proposals: list[dict[str, str]] = []
    evidence: dict[str, list[str]] = {}
    for n, (a, b) in enumerate(chunk_ranges(lines, budget_tokens, overlap), start=1):
        report.chunks += 1
        user = (f"Context: {context}\n\n" if context else "") + "\n".join(lines[a:b])
        problem = ""
        for _ in range(attempts):
            reply = provider.complete(SYSTEM_PROMPT, user, max_tokens)
            report.calls += 1
            try:
                answer = parse_answer(reply.text, reply.stop_reason, range(a, b), labels)
                break
            except AnswerError as exc:
                problem = str(exc)
        else:
            failure = f"chunk {n} (lines {a}-{b - 1}): {problem} ({attempts} attempts)"
            if on_invalid == "fail":
                raise AnswerError(f"LLM refinement failed: {failure}")
            report.failed_chunks.append(failure)
            continue
        updates += answer.updates
        proposals.append(answer.identifiedSpeakers)
        for label, cited in answer.speakerEvidence.items():
            evidence.setdefault(label, []).extend(lines[i] for i in cited if lines[i] not in evidence.get(label, []))
    edits, decisions = review_updates(transcript, updates)
    names, speaker_decisions = review_speakers(proposals, sorted(labels), evidence)
    report.decisions = decisions + speaker_decisions
    return apply_edits(transcript, edits, names, provider.model), report
