"""Replacement rules: a file users edit without redeploying (YAML or JSON; path, URL or s3 URI).

The file is a list of rules, or ``{"rules": [...], "vocabulary": [...]}``; each rule is v2's
shape plus two options::

    - {type: literal, search: "AWS Bytes", replacement: "AWS Bites"}
    - {type: literal, search: Owen, replacement: Eoin}            # whole word, any case
    - {type: regex, search: '(\\d+) percent', replacement: '\\1%'}

``whole_word`` defaults to true for literal rules (``Owen`` never hits ``Owens``) and false for
regex rules; ``case_sensitive`` defaults to false. Rules apply in order to each segment's text,
so a match may span several words. Every rule is checked when the file is loaded (before any
transcription work is spent): the error names the rule's position and the reason.

``vocabulary`` lists the show's names and terms spelled right (hosts, guests, products, jargon).
With the rules' own replacements it primes the recognizer (hotwords), so fewer need fixing.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Literal

import tempfile
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .align import edit_segment
from .audio import AudioInputError, fetch
from .model import EditSummary, Transcript
from .settings import AudioSettings


class RulesError(ValueError):
    """The rule file cannot be used; the message says which rule and why."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["literal", "regex"]
    search: str = Field(min_length=1)
    replacement: str
    whole_word: bool | None = Field(None, description="Default: true for literal, false for regex rules.")
    case_sensitive: bool = False

    def compile(self) -> re.Pattern[str]:
        body = re.escape(self.search) if self.type == "literal" else self.search
        whole = self.whole_word if self.whole_word is not None else self.type == "literal"
        if whole:
            body = rf"(?<!\w)(?:{body})(?!\w)"
        return re.compile(body, 0 if self.case_sensitive else re.IGNORECASE)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = ""
    sha256: str = ""
    rules: list[Rule] = Field(default_factory=list)
    vocabulary: list[str] = Field(default_factory=list)

    def targets(self) -> list[str]:
        """The file's vocabulary and the words rules produce: terms worth priming the recognizer with."""
        produced = [r.replacement.strip() for r in self.rules if "\\" not in r.replacement]
        return list(dict.fromkeys(t for t in [*self.vocabulary, *produced] if t))


_GROUP_REF = re.compile(r"\\(?:g<([^>]*)>|(\d+))")


def _check_template(pattern: re.Pattern[str], replacement: str) -> None:
    for name, number in _GROUP_REF.findall(replacement):
        ref = name or number
        if ref.isdigit():
            if int(ref) > pattern.groups:
                raise RulesError(f"replacement refers to group {ref} but the pattern has {pattern.groups}")
        elif ref not in pattern.groupindex:
            raise RulesError(f"replacement refers to unknown group {ref!r}")


def load_rules(source: str | None, settings: AudioSettings) -> RuleSet:
    """Read a rule file from a path, an http(s) URL or an s3 URI and validate it; None: no rules."""
    if not source:
        return RuleSet()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = fetch(source, Path(tmp), settings)
        except AudioInputError as exc:
            raise RulesError(f"rule file {exc}") from exc
        return parse_rules(path.read_bytes(), source)


def parse_rules(data: bytes, source: str) -> RuleSet:
    """Parse and validate a rule file's bytes. Raises RulesError naming the rule and reason."""
    try:
        doc = yaml.safe_load(data.decode("utf-8")) if data.strip() else []
    except (UnicodeDecodeError, yaml.YAMLError) as exc:  # JSON is YAML too
        raise RulesError(f"{source}: not valid YAML or JSON ({str(exc).splitlines()[0]})") from exc
    vocabulary: object = []
    if isinstance(doc, dict):
        unknown = set(doc) - {"rules", "vocabulary"}
        if unknown:
            raise RulesError(f"{source}: expected a list of rules or {{rules: [...], vocabulary: [...]}}, "
                             f"not the key(s) {', '.join(sorted(map(str, unknown)))}")
        doc, vocabulary = doc.get("rules") or [], doc.get("vocabulary") or []
    if not isinstance(doc, list):
        raise RulesError(f"{source}: expected a list of rules (or {{rules: [...]}}), not {type(doc).__name__}")
    if not isinstance(vocabulary, list) or not all(isinstance(v, str) and v.strip() for v in vocabulary):
        raise RulesError(f"{source}: vocabulary must be a list of non-empty strings")
    rules = []
    for i, item in enumerate(doc, start=1):
        try:
            rule = Rule.model_validate(item)
            _check_template(rule.compile(), rule.replacement) if rule.type == "regex" else rule.compile()
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "rule"
            raise RulesError(f"{source}: rule {i}: {where}: {err['msg']}") from exc
        except re.error as exc:
            raise RulesError(f"{source}: rule {i}: invalid regex {item.get('search')!r}: {exc}") from exc
        except RulesError as exc:
            raise RulesError(f"{source}: rule {i}: {exc}") from exc
        rules.append(rule)
    return RuleSet(source=source, sha256=hashlib.sha256(data).hexdigest(), rules=rules,
                   vocabulary=[" ".join(v.split()) for v in vocabulary])


def rule_label(i: int, rule: Rule) -> str:
    return f"{i}: {rule.search} -> {rule.replacement}"


# A pattern that refers to its own groups (\1, (?P=name), (?(1)...)) can't join an alternation.
_SELF_REFERENCE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


def _any_rule(compiled: list[tuple[str, Rule, re.Pattern[str]]]):
    """One test for "could any rule match this text": a single alternation of every pattern
    (a scan in C instead of one Python call per rule and segment)."""
    joinable = [p for _, _, p in compiled if not _SELF_REFERENCE.search(p.pattern)]
    alone = [p for _, _, p in compiled if _SELF_REFERENCE.search(p.pattern)]
    if joinable:
        scoped = [f"(?{'i' if p.flags & re.IGNORECASE else '-i'}:{p.pattern})" for p in joinable]
        try:
            alone.insert(0, re.compile("|".join(scoped)))
        except re.error:  # e.g. a global flag such as (?x) inside a pattern: test each on its own
            alone = [p for _, _, p in compiled]
    return lambda text: any(p.search(text) for p in alone)


def apply_rules(transcript: Transcript, rules: RuleSet) -> Transcript:
    """Apply every rule in order to every segment; words are reconciled so timings survive."""
    compiled = [(rule_label(i, r), r, r.compile()) for i, r in enumerate(rules.rules, start=1)]
    counts = dict.fromkeys((label for label, _, _ in compiled), 0)
    may_match = _any_rule(compiled)
    segments, changed = [], 0
    for seg in transcript.segments:
        text = seg.text
        if not may_match(text):  # most segments need no edit
            segments.append(seg)
            continue
        for label, rule, pattern in compiled:
            # A literal replacement is literal: no group or backslash processing.
            repl = rule.replacement if rule.type == "regex" else (lambda _m, r=rule.replacement: r)
            text, n = pattern.subn(repl, text)
            counts[label] += n
        if text != seg.text:
            seg, changed = edit_segment(seg, " ".join(text.split())), changed + 1
        segments.append(seg)
    summary = EditSummary(step="rules", source=rules.source, changed_segments=changed, counts=counts)
    return transcript.model_copy(update={"segments": segments, "edits": [*transcript.edits, summary]})


def dumps_example() -> str:
    """v2's real example rules and the show's vocabulary, as a starting point (``rules-example``)."""
    rules = [
        {"type": "literal", "search": s, "replacement": "Eoin"} for s in ("Owen", "Eoghan")
    ] + [
        {"type": "literal", "search": s, "replacement": "Mammino"} for s in ("Mamineo", "Momeno", "Mannino")
    ] + [
        {"type": "literal", "search": "AWS Bytes", "replacement": "AWS Bites"},
        {"type": "regex", "search": r"\b(?:Fortiorum|Fortherem|Fortheorem|Fourth Erem|four Theorem)\b",
         "replacement": "fourTheorem"},
        {"type": "regex", "search": r"\bwhisper ?X\b", "replacement": "WhisperX"},
    ]
    vocabulary = ["Eoin Shanaghy", "Luciano Mammino", "fourTheorem", "AWS Bites", "WhisperX"]
    return json.dumps({"vocabulary": vocabulary, "rules": rules}, indent=2)
