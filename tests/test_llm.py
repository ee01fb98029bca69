"""LLM refinement, the pure part: contract lines, chunking, answer validation, guardrails, speaker
names, and edits applied with timings kept."""

from __future__ import annotations

import json

import pytest

from podwhisperer import guardrails
from podwhisperer.llm import (Answer, AnswerError, Update, apply_edits, chunk_ranges, estimate_tokens, lines_of,
                              parse_answer, review_speakers, review_updates)
from podwhisperer.model import EngineInfo, Segment, Transcript, Word

ENGINE = EngineInfo(engine="t", model="t", device="cpu", compute_type="int8")


def transcript(*lines: tuple[str, str]) -> Transcript:
    segs, t = [], 0.0
    for i, (speaker, text) in enumerate(lines):
        ws = []
        for tok in text.split():
            ws.append(Word(text=tok, start=round(t, 3), end=round(t + 0.3, 3), score=0.9))
            t += 0.4
        segs.append(Segment(id=i, start=ws[0].start, end=ws[-1].end, text=text, speaker=speaker, words=ws))
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs, engine=ENGINE)


EPISODE = transcript(
    ("SPEAKER_00", "Hello and welcome to AWS Bytes, my name is Owen"),
    ("SPEAKER_01", "and I'm Luciano, today we talk about durable functions"),
    ("SPEAKER_00", "they let a lambda function weight for a callback"),
)


def test_lines_follow_the_v2_contract():
    assert lines_of(EPISODE)[1] == "[1] [SPEAKER_01] and I'm Luciano, today we talk about durable functions"


def test_chunks_fit_the_budget_overlap_and_cover_every_line():
    lines = [f"[{i}] [SPEAKER_00] " + "word " * (5 + i % 7) for i in range(200)]
    ranges = chunk_ranges(lines, budget_tokens=120, overlap=2)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(lines)
    for (a, b), (c, d) in zip(ranges, ranges[1:]):
        assert c == b - 2 and d > b  # overlap of two lines, always progress
    for a, b in ranges:
        assert b - a == 1 or sum(estimate_tokens(x) for x in lines[a:b]) <= 120
    assert chunk_ranges(["x" * 4000], 100, 2) == [(0, 1)]  # one line over the budget: its own chunk


@pytest.mark.parametrize("text,stop,message", [
    ("Sure! Here are the fixes: ...", "stop", "not JSON"),
    ('{"updates": [{"idx": 1, "text": "x"}', "length", "cut off"),
    ('{"updates": [{"idx": "one", "text": "x"}]}', "stop", "wrong shape: updates.0.idx"),
    ('{"updates": [{"idx": 9, "text": "x"}]}', "stop", "outside the chunk: [9]"),
    ('{"identifiedSpeakers": {"SPEAKER_07": "Eve"}}', "end_turn", "speakers that do not exist"),
    ('{"updates": [], "summary": "I fixed it"}', "stop", "wrong shape: summary"),
])
def test_unusable_answers_raise_with_the_reason(text, stop, message):
    with pytest.raises(AnswerError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_answer(text, stop, range(0, 3), {"SPEAKER_00", "SPEAKER_01"})


def test_a_fenced_json_answer_is_accepted():
    body = {"identifiedSpeakers": {"SPEAKER_00": "Eoin"}, "updates": [{"idx": 0, "text": "hi"}]}
    answer = parse_answer("```json\n" + json.dumps(body) + "\n```", "stop", range(3), {"SPEAKER_00"})
    assert answer == Answer.model_validate(body)


def test_guardrails_accept_corrections_and_reject_rewrites():
    line = "they let a lambda function weight for a callback"
    assert guardrails.check(line, "they let a Lambda function wait for a callback") is None
    assert "consecutive" in guardrails.check(line, "they allow serverless compute to pause until a callback")
    assert "word-change ratio" in guardrails.check(
        "one two three four five six seven eight nine ten", "one 2 three 4 five 6 seven 8 nine 10")
    assert "character edit ratio" in guardrails.check(
        "a b c d e", "a" * 45 + " b c d e")
    assert guardrails.check("my name is Owen", "my name is Eoin") is None  # short line: one word is fine
    assert "empty" in guardrails.check("uh", "")


def test_accepted_edits_keep_timings_and_rejections_are_audited():
    updates = [Update(idx=0, text="Hello and welcome to AWS Bites, my name is Eoin"),
               Update(idx=2, text="durable functions are a new feature that AWS released at re:Invent"),
               Update(idx=1, text="and I'm Luciano, today we talk about durable functions")]  # unchanged
    edits, audit = review_updates(EPISODE, updates)
    assert edits == {0: "Hello and welcome to AWS Bites, my name is Eoin"}
    assert [(d.target, d.accepted) for d in audit] == [("0", True), ("2", False)]
    assert "consecutive" in audit[1].reason
    names, speaker_audit = review_speakers([{"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}], ["SPEAKER_00", "SPEAKER_01"])
    out = apply_edits(EPISODE, edits, names, "test-model")
    before, after = EPISODE.segments[0].words, out.segments[0].words
    assert [(w.start, w.end) for w in after] == [(w.start, w.end) for w in before]  # same length: timings exact
    assert after[5].text == "Bites," and after[5].score is None and after[-1].text == "Eoin"
    assert out.speaker_names == {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}
    assert out.segments[2] == EPISODE.segments[2] and out.edits[-1].counts["lines changed"] == 1


def test_speaker_names_are_never_merged_or_guessed():
    labels = ["SPEAKER_00", "SPEAKER_01", "SPEAKER_02"]
    names, audit = review_speakers([{"SPEAKER_00": "Eoin", "SPEAKER_01": "eoin"},
                                    {"SPEAKER_02": "Luciano"}, {"SPEAKER_02": "Lucy"}], labels)
    assert names == {}
    reasons = {d.target: d.reason for d in audit}
    assert "same name as SPEAKER_01" in reasons["SPEAKER_00"] and "disagree" in reasons["SPEAKER_02"]
    names, _ = review_speakers([{"SPEAKER_00": "  "}], labels)
    assert names == {}
