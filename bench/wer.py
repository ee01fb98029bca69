"""WER of raw tiny.en vs with hotwords vs with hotwords + replacement rules.

    .venv/bin/python bench/wer.py [--minutes 5] [--rules examples/aws-bites-rules.yaml]

A two-voice espeak-ng episode is made from the AWS Bites 152 transcript (shared/seeds). The
reference is that text with the show's names spelled right (the same rule file applied to it:
the seed itself says "AWS Bytes" and "Owen"). WER by jiwer after Whisper's English text
normalizer (case, punctuation, numbers, contractions, spellings), the usual way to report it.

The benchmark episode is the seed's first minutes. The example rule file was written from the
show's names and from mishearings seen on a later stretch of the seed (words 3000-7000, a
stand-in for the show's earlier episodes), never from this episode's own errors.
`--errors` prints what is still wrong, which is where a podcaster finds the next rules.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from podwhisperer.audio import stage
from podwhisperer.demo import seed_script, synthesize
from podwhisperer.engines import get_engine
from podwhisperer.model import EngineInfo, Segment, Transcript
from podwhisperer.rules import apply_rules, load_rules
from podwhisperer.settings import AudioSettings, EngineSettings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"


normalize = EnglishTextNormalizer()


def term_hits(reference: str, hypothesis: str, terms: list[str]) -> tuple[int, int]:
    """(occurrences of the show's terms in the reference, how many of them the hypothesis has)."""
    total = found = 0
    for term in {normalize(t) for t in terms if normalize(t)}:
        pattern = rf"(?<!\w){re.escape(term)}(?!\w)"
        n = len(re.findall(pattern, reference))
        total, found = total + n, found + min(n, len(re.findall(pattern, hypothesis)))
    return total, found


def errors_off_terms(reference: str, hypothesis: str, terms: list[str]) -> int:
    """Word errors whose reference span has no word of the show's terms: what rules can't reach."""
    term_words = {w for t in terms for w in normalize(t).split()}
    out = jiwer.process_words(reference, hypothesis)
    ref, n = out.references[0], 0
    for chunk in out.alignments[0]:
        if chunk.type != "equal" and not term_words & set(ref[chunk.ref_start_idx:chunk.ref_end_idx]):
            n += max(chunk.ref_end_idx - chunk.ref_start_idx, chunk.hyp_end_idx - chunk.hyp_start_idx)
    return n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--rules", default=str(ROOT / "examples" / "aws-bites-rules.yaml"))
    ap.add_argument("--errors", action="store_true", help="list the errors left after rules")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podwhisperer-wer-"))
    audio_settings = AudioSettings(work_dir=tmp)
    ruleset = load_rules(args.rules, audio_settings)

    lines = seed_script(SEED, max_words=int(args.minutes * 160))
    reference_raw = " ".join(text for _, text in lines)
    ref_doc = Transcript(audio_sha256="0" * 64, language="en", duration=0, engine=EngineInfo(
        engine="-", model="-", device="-", compute_type="-"), segments=[Segment(id=0, start=0, end=0, text=reference_raw)])
    reference = normalize(apply_rules(ref_doc, ruleset).segments[0].text)

    audio = stage(str(synthesize(lines, tmp / "episode.mp3")), audio_settings)
    plain = get_engine(EngineSettings(hotwords_from_rules=False)).transcribe(audio.wav_path, audio.sha256)
    primed = get_engine(EngineSettings()).transcribe(audio.wav_path, audio.sha256, vocabulary=ruleset.targets())
    fixed = apply_rules(primed, ruleset)

    rows = [("raw tiny.en", plain), ("+ hotwords from the rules", primed), ("+ hotwords + rules", fixed)]
    wers = [jiwer.wer(reference, normalize(t.text)) for _, t in rows]
    print(f"episode: {audio.duration / 60:.1f} min two-voice espeak-ng, {len(reference.split())} reference words; "
          f"rules: {args.rules} ({len(ruleset.rules)} rules)")
    for (name, _), wer in zip(rows, wers):
        print(f"{name:28s} WER {100 * wer:5.1f}%   ({wer / wers[0]:.2f} of raw)")
    terms = ruleset.targets()
    for (name, t) in rows:
        total, found = term_hits(reference, normalize(t.text), terms)
        print(f"{name:28s} show terms right: {found}/{total}")
    floor = errors_off_terms(reference, normalize(plain.text), terms) / len(reference.split())
    print(f"raw errors away from any show term: WER {100 * floor:.1f}% ({floor / wers[0]:.2f} of raw): "
          "the most that vocabulary and rules could bring WER down to")
    counts = {k: v for k, v in fixed.edits[-1].counts.items() if v}
    print(f"rule matches: {counts}")
    if args.errors:
        subs, ins, dels = jiwer.collect_error_counts(jiwer.process_words(reference, normalize(fixed.text)))
        for kind, counts in (("substituted", subs), ("inserted", ins), ("deleted", dels)):
            top = sorted(counts.items(), key=lambda kv: -kv[1])
            print(f"{kind}: " + "; ".join(f"{k if isinstance(k, str) else ' -> '.join(k)} x{n}" for k, n in top))
    print(f"goal: hotwords + rules <= 60% of raw WER -> {'met' if wers[2] <= 0.6 * wers[0] else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
