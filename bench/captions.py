"""Caption compliance of our layout vs a v2-style greedy layout, and post-processing speed.

    .venv/bin/python bench/captions.py [--minutes 5]

1. The same words laid out twice: ours, and v2's (greedy single lines of at most 48 characters,
   a cue from its first word's start to its last word's end). Both are checked against the same
   limits (podwhisperer.captions.check). Words: real tiny.en output of a two-voice espeak-ng
   episode, and a synthetic 3-hour, 30,000-word two-speaker transcript.
2. Rules + reconciliation + layout + every writer on the 3-hour transcript (goal: under 0.5 s).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from podwhisperer import writers
from podwhisperer.audio import stage
from podwhisperer.captions import build_captions, check
from podwhisperer.demo import seed_script, synthesize
from podwhisperer.engines import get_engine
from podwhisperer.model import Cue, EngineInfo, Segment, Transcript, Word
from podwhisperer.rules import apply_rules, load_rules
from podwhisperer.settings import AudioSettings, CaptionSettings, EngineSettings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"
LIMITS = CaptionSettings()


def v2_layout(t: Transcript, width: int = 48) -> list[Cue]:
    """PodWhisperer v2: greedy lines of <= 48 characters, one line a cue, speech times as is."""
    cues: list[Cue] = []
    for seg in t.segments:
        line: list[Word] = []
        for w in seg.words:
            if line and len(" ".join(x.text for x in line + [w])) > width:
                cues.append(Cue(start=line[0].start, end=line[-1].end, lines=[" ".join(x.text for x in line)]))
                line = []
            line.append(w)
        if line:
            cues.append(Cue(start=line[0].start, end=line[-1].end, lines=[" ".join(x.text for x in line)]))
    return cues


def synthetic(words: int, seed: int = 7) -> Transcript:
    rng = random.Random(seed)
    vocab = SEED.read_text().split() if SEED.exists() else "the durable function resumes from a checkpoint".split()
    segs, t, n, speaker = [], 0.0, 0, 0
    while n < words:
        if rng.random() < 0.3:
            speaker = 1 - speaker
        ws = []
        for _ in range(rng.randint(5, 25)):
            text = rng.choice(vocab)
            dur = 0.06 + 0.045 * len(text)  # about 14 characters a second, like a brisk host
            ws.append(Word(text=text, start=round(t, 3), end=round(t + dur, 3), score=0.9))
            t += dur + rng.uniform(0.02, 0.1)
        segs.append(Segment(id=len(segs), start=ws[0].start, end=ws[-1].end, text=" ".join(w.text for w in ws),
                            speaker=f"SPEAKER_0{speaker}", words=ws))
        n += len(ws)
        t += rng.uniform(0.1, 0.6)
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs,
                      engine=EngineInfo(engine="synthetic", model="-", device="-", compute_type="-"))


def compare(name: str, t: Transcript) -> None:
    """Ours with the default speaker prefix ('Name: ' at speaker changes), ours without, and v2."""
    ours = build_captions(t, LIMITS).report
    bare = build_captions(t, LIMITS.model_copy(update={"speaker_prefix": "never"})).report
    theirs = check(v2_layout(t), LIMITS)
    print(f"\n{name}: {len(t.words)} words")
    print(f"{'limit':15s} {'ours':>8s} {'ours, no prefix':>16s} {'v2 greedy 48':>14s}")
    for limit in ours.within:
        print(f"{limit:15s} {100 * ours.within[limit]:7.1f}% {100 * bare.within[limit]:15.1f}% "
              f"{100 * theirs.within[limit]:13.1f}%")
    print(f"{'all limits':15s} {100 * ours.all_limits:7.1f}% {100 * bare.all_limits:15.1f}% "
          f"{100 * theirs.all_limits:13.1f}%   ({ours.cues} / {bare.cues} / {theirs.cues} cues)")
    print(f"{'all the speech allows':15s} {100 * ours.all_allowed:6.2f}% {100 * bare.all_allowed:15.2f}%   (goal 100%)")
    for label, r in (("ours", ours), ("ours, no prefix", bare)):
        forced = sorted({v.limit for v in r.violations if v.forced})
        print(f"{label}: {len(r.violations)} violations, {sum(v.forced for v in r.violations)} forced by the "
              f"speech ({', '.join(forced) or 'none'})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podwhisperer-captions-"))
    settings = AudioSettings(work_dir=tmp)
    ruleset = load_rules(str(ROOT / "examples" / "aws-bites-rules.yaml"), settings)

    # Timed first: the engine's worker threads keep spinning for a while after a transcription.
    big = synthetic(30_000)
    timings = []
    for _ in range(10):
        t0 = time.perf_counter()
        edited = apply_rules(big, ruleset)
        caps = build_captions(edited, LIMITS)
        files = writers.render_all("bench", big, edited, caps)
        timings.append(time.perf_counter() - t0)
    changed = edited.edits[-1].changed_segments
    print(f"rules ({len(ruleset.rules)}) + reconciliation ({changed} segments edited) + layout ({len(caps.cues)} cues) "
          f"+ {len(files)} writers ({sum(map(len, files.values())) / 1e6:.1f} MB) on {len(big.words)} words: "
          f"best {min(timings):.3f} s of 10, median {sorted(timings)[5]:.3f} s (goal < 0.5 s)")

    lines = seed_script(SEED, max_words=int(args.minutes * 160))
    audio = stage(str(synthesize(lines, tmp / "episode.mp3")), settings)
    real = get_engine(EngineSettings()).transcribe(audio.wav_path, audio.sha256, vocabulary=ruleset.targets())
    compare(f"tiny.en on a {audio.duration / 60:.1f}-minute espeak-ng episode", real)
    compare(f"synthetic {big.duration / 3600:.1f}-hour transcript", big)
    return 0


if __name__ == "__main__":
    sys.exit(main())
