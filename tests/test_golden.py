"""Golden test: the caption layout of real tiny.en output (the demo episode, stored as it came out)."""

from pathlib import Path

from podwhisperer.captions import build_captions
from podwhisperer.model import Transcript
from podwhisperer.rules import apply_rules, parse_rules
from podwhisperer.settings import CaptionSettings
from podwhisperer.writers import render_srt

DATA = Path(__file__).parent / "data"


def test_layout_of_real_tiny_en_output_matches_golden():
    t = Transcript.model_validate_json((DATA / "demo_tiny_en.json").read_text())
    caps = build_captions(t, CaptionSettings())
    assert render_srt(caps) == (DATA / "demo_tiny_en.srt").read_text()
    assert caps.report.all_limits == 1.0 and not caps.report.violations


def test_rules_on_real_output_keep_every_other_word_timing():
    t = Transcript.model_validate_json((DATA / "demo_tiny_en.json").read_text())
    rules = parse_rules(b"- {type: literal, search: Ian, replacement: Eoin}\n"
                        b"- {type: regex, search: 'AWS sites', replacement: AWS Bites}\n", "golden")
    edited = apply_rules(t, rules)
    assert "My name is Eoin." in edited.text and "AWS Bites" in edited.text and "AWS sites" not in edited.text
    before, after = t.words, edited.words
    assert len(before) == len(after)  # same-length edits: one word for one word
    changed = [(a.text, b.text) for a, b in zip(before, after) if a.text != b.text]
    assert changed == [("sites", "Bites"), ("Ian.", "Eoin."), ("sites.", "Bites.")]
    assert [(w.start, w.end) for w in before] == [(w.start, w.end) for w in after]
    assert [(s.start, s.end) for s in t.segments] == [(s.start, s.end) for s in edited.segments]
