"""WER of raw tiny.en vs with hotwords vs with hotwords + replacement rules.

    .venv/bin/python bench/wer.py [--minutes 5] [--rules examples/aws-bites-rules.yaml]

A two-voice espeak-ng episode is made from the AWS Bites 152 transcript (shared/seeds). The
reference is that text with the show's names spelled right (the same rule file applied to it:
the seed itself says "AWS Bytes" and "Owen"). jiwer, normalized: lower case, no punctuation.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import jiwer

from podwhisperer.audio import stage
from podwhisperer.demo import seed_script, synthesize
from podwhisperer.engines import get_engine
from podwhisperer.model import EngineInfo, Segment, Transcript
from podwhisperer.rules import apply_rules, load_rules
from podwhisperer.settings import AudioSettings, EngineSettings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"


def normalize(text: str) -> str:
    text = re.sub(r"[^\w\s']", " ", text.lower().replace("-", " "))
    return " ".join(text.split())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--rules", default=str(ROOT / "examples" / "aws-bites-rules.yaml"))
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
    counts = {k: v for k, v in fixed.edits[-1].counts.items() if v}
    print(f"rule matches: {counts}")
    print(f"goal: hotwords + rules <= 60% of raw WER -> {'met' if wers[2] <= 0.6 * wers[0] else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
