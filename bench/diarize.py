"""CPU diarization: real-time factor and word attribution on a two-voice espeak episode.

    .venv/bin/python bench/diarize.py [--minutes 10] [--voices AC]

The seed transcript's sentences, two at a time, alternate between two espeak-ng voices (A: en-us,
C: en-gb-scotland+f4); the script's own timeline is the truth. Words come from tiny.en; each is
attributed by podwhisperer.diarize and checked against the voice speaking at its middle (labels
mapped to voices by majority). Goal: at least 20x realtime on 2 cores, at most 10% misattributed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from podwhisperer.audio import stage
from podwhisperer.demo import seed_script, synthesize
from podwhisperer.diarize import SenkoEmbedder, assign_speakers, cluster, turns_from
from podwhisperer.engines import get_engine
from podwhisperer.settings import AudioSettings, EngineSettings

SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--voices", default="AC")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podwhisperer-diarize-"))
    lines = [(args.voices[(i // 2) % len(args.voices)], text)
             for i, (_, text) in enumerate(seed_script(SEED, max_words=int(args.minutes * 160)))]
    truth: list = []
    audio = stage(str(synthesize(lines, tmp / "episode.mp3", truth)), AudioSettings(work_dir=tmp / "work"))
    transcript = get_engine(EngineSettings()).transcribe(audio.wav_path, audio.sha256)

    t0 = time.perf_counter()
    embedder = SenkoEmbedder()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    windows, embeddings = embedder.windows_and_embeddings(audio.wav_path)
    t1 = time.perf_counter()
    turns = turns_from([(float(a), float(b)) for a, b in windows], cluster(embeddings))
    labelled = assign_speakers(transcript, turns)
    t2 = time.perf_counter()

    def voice_at(t: float) -> str | None:
        return next((w for w, s, e in truth if s - 0.25 <= t <= e + 0.25), None)

    pairs = [(w.speaker, voice_at((w.start + w.end) / 2)) for w in labelled.words]
    pairs = [(label, voice) for label, voice in pairs if voice]
    votes: dict[tuple, int] = {}
    for pair in pairs:
        votes[pair] = votes.get(pair, 0) + 1
    mapping: dict[str, str] = {}
    for (label, voice), _ in sorted(votes.items(), key=lambda kv: -kv[1]):
        mapping.setdefault(label, voice)
    wrong = sum(mapping.get(label) != voice for label, voice in pairs)
    total = t2 - t0
    print(f"episode: {audio.duration / 60:.1f} min, voices {args.voices}, {len(labelled.words)} words; "
          f"speakers found: {len({t.speaker for t in turns})} (true: {len(set(args.voices))})")
    print(f"embeddings {t1 - t0:.1f} s, clustering + assignment {t2 - t1:.2f} s, model load {load:.1f} s (once)")
    print(f"diarization: {audio.duration / total:.1f}x realtime (goal >= 20x); "
          f"words misattributed: {100 * wrong / len(pairs):.1f}% (goal <= 10%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
