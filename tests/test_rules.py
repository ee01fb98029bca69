import json

import pytest

from podwhisperer.model import EngineInfo, Segment, Transcript, Word
from podwhisperer.rules import RuleSet, RulesError, apply_rules, dumps_example, load_rules, parse_rules
from podwhisperer.settings import AudioSettings

ENGINE = EngineInfo(engine="t", model="t", device="cpu", compute_type="int8")


def transcript(*texts: str) -> Transcript:
    segs, t = [], 0.0
    for i, text in enumerate(texts):
        ws = []
        for tok in text.split():
            ws.append(Word(text=tok, start=round(t, 3), end=round(t + 0.3, 3), score=0.9))
            t += 0.4
        segs.append(Segment(id=i, start=ws[0].start, end=ws[-1].end, text=text, words=ws))
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs, engine=ENGINE)


def rules(*items) -> RuleSet:
    return parse_rules(json.dumps(list(items)).encode(), "rules.json")


def test_literal_is_whole_word_and_case_insensitive_by_default():
    out = apply_rules(transcript("owen met Owens and OWEN"), rules({"type": "literal", "search": "Owen", "replacement": "Eoin"}))
    assert out.segments[0].text == "Eoin met Owens and Eoin"
    assert out.edits[-1].counts == {"1: Owen -> Eoin": 2}


def test_substring_and_case_sensitive_options():
    r = rules({"type": "literal", "search": "Owen", "replacement": "Eoin", "whole_word": False, "case_sensitive": True})
    assert apply_rules(transcript("Owens owen Owen"), r).segments[0].text == "Eoins owen Eoin"


def test_regex_groups_and_multi_word_matches_keep_timings():
    r = rules({"type": "regex", "search": r"(\d+) percent", "replacement": r"\1%"},
              {"type": "literal", "search": "AWS Bytes", "replacement": "AWS Bites"})
    t = transcript("welcome to AWS Bytes where 50 percent is", "nothing")
    out = apply_rules(t, r)
    assert out.segments[0].text == "welcome to AWS Bites where 50% is"
    before, after = t.segments[0].words, out.segments[0].words
    assert [(w.start, w.end) for w in after[:4]] == [(w.start, w.end) for w in before[:4]]  # same-length edit
    assert after[3].text == "Bites" and after[3].score is None
    assert after[5].text == "50%" and (after[5].start, after[5].end) == (before[5].start, before[6].end)
    assert out.segments[1] == t.segments[1] and out.edits[-1].changed_segments == 1


def test_rules_apply_in_order():
    r = rules({"type": "literal", "search": "Ian", "replacement": "Eoin"},
              {"type": "literal", "search": "Eoin", "replacement": "Eoin (host)"})
    assert apply_rules(transcript("hi Ian"), r).segments[0].text == "hi Eoin (host)"


def test_literal_replacement_is_not_a_template():
    r = rules({"type": "literal", "search": "cost", "replacement": r"\1 \g<0> $5"})
    assert apply_rules(transcript("the cost"), r).segments[0].text == r"the \1 \g<0> $5"


@pytest.mark.parametrize("doc,message", [
    ('[{"type": "regex", "search": "(unclosed", "replacement": "x"}]', "rule 1: invalid regex '(unclosed'"),
    ('[{"type": "literal", "search": "a", "replacement": "b"}, {"type": "literal", "search": "", "replacement": "x"}]',
     "rule 2: search: String should have at least 1 character"),
    ('[{"type": "fuzzy", "search": "a", "replacement": "b"}]', "rule 1: type: Input should be 'literal' or 'regex'"),
    ('[{"type": "regex", "search": "(a)", "replacement": "\\\\2"}]', "rule 1: replacement refers to group 2"),
    ('[{"type": "literal", "search": "a"}]', "rule 1: replacement: Field required"),
    ('[{"type": "literal", "search": "a", "replacement": "b", "wholeword": true}]', "rule 1: wholeword: Extra inputs"),
    ("{not yaml: [", "not valid YAML or JSON"),
    ('{"type": "literal"}', "expected a list of rules"),
    ('{"rules": [], "vocabulary": "Eoin"}', "vocabulary must be a list of non-empty strings"),
    ('{"rules": [], "vocabulary": ["Eoin", " "]}', "vocabulary must be a list of non-empty strings"),
])
def test_invalid_rule_files_name_the_rule_and_reason(doc, message):
    with pytest.raises(RulesError, match="^rules.json: .*" + message.replace("(", r"\(").replace("[", r"\[")):
        parse_rules(doc.encode(), "rules.json")


def test_yaml_file_with_rules_key_and_example(tmp_path):
    f = tmp_path / "rules.yaml"
    f.write_text("rules:\n  - {type: literal, search: AWS Bytes, replacement: AWS Bites}\n  - type: regex\n    search: 'whisper ?x'\n    replacement: WhisperX\n")
    rs = load_rules(str(f), AudioSettings(work_dir=tmp_path))
    assert len(rs.rules) == 2 and rs.targets() == ["AWS Bites", "WhisperX"] and len(rs.sha256) == 64
    assert len(parse_rules(dumps_example().encode(), "example").rules) == 8
    with pytest.raises(RulesError, match="rule file .*no such file"):
        load_rules(str(tmp_path / "missing.yaml"), AudioSettings(work_dir=tmp_path))


def test_vocabulary_primes_the_recognizer_before_rule_targets():
    doc = """
vocabulary: [Luciano  Mammino, re:Invent, AWS Bites]
rules:
  - {type: literal, search: AWS Bytes, replacement: AWS Bites}
  - {type: regex, search: '(\\d+) percent', replacement: '\\1%'}
  - {type: literal, search: um, replacement: ''}
"""
    rs = parse_rules(doc.encode(), "rules.yaml")
    # vocabulary first, whitespace tidied, no duplicates; a template or an empty replacement is no term
    assert rs.targets() == ["Luciano Mammino", "re:Invent", "AWS Bites"]
    assert len(rs.rules) == 3


def test_one_quick_test_for_all_rules_misses_nothing():
    # Case-sensitive and insensitive rules, and rules referring to their own groups (which
    # cannot join the single alternation that screens segments), each still find their segment.
    r = rules({"type": "regex", "search": r"(\d+) percent", "replacement": r"\1%"},
              {"type": "regex", "search": r"\b(\w+) \1\b", "replacement": r"\1"},
              {"type": "regex", "search": r"(?P<w>u+m), (?P=w)", "replacement": ""},
              {"type": "regex", "search": "lambda", "replacement": "Lambda", "case_sensitive": True},
              {"type": "literal", "search": "bytes", "replacement": "Bites"})
    assert apply_rules(transcript("so lambda"), rules({"type": "regex", "search": "(?i)LAMBDA", "replacement": "λ"},
                                                      *[x.model_dump() for x in r.rules])).segments[0].text == "so λ"
    out = apply_rules(transcript("the the end", "uum, uum ok", "lambda and LAMBDA", "AWS BYTES", "nothing here", "5 percent"), r)
    assert [s.text for s in out.segments] == ["the end", "ok", "Lambda and LAMBDA", "AWS Bites", "nothing here", "5%"]
    assert out.edits[-1].changed_segments == 5
