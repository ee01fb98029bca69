"""WhisperX engine vs the CPU engine (faster-whisper) on the same episode, side by side; and the
real-time factor of each WhisperX stage (transcribe, align, diarize) and of all of them.

    .venv/bin/python bench/whisperx_engine.py [--minutes 10]                      # here, CPU
    .venv/bin/python bench/whisperx_engine.py --device cuda --compute-type float16 \\
        --model large-v3 --batch-size 16 --models-dir /models                     # a GPU machine

Needs the whisperx extra. Models come from ``--models-dir`` (``podwhisperer models download``
lays it out; the GPU image has one at /models). Without one (this machine: no model hub) the
script builds a stand-in: tiny.en, a tiny random wav2vec2 for alignment (its cost, not its
accuracy, is what this measures), no diarization. Goal on an H100 with large-v3: the whole GPU
step (transcribe + align + diarize) at least 150x realtime.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jiwer
from whisper_normalizer.english import EnglishTextNormalizer

from podwhisperer.audio import stage
from podwhisperer.demo import seed_script, synthesize
from podwhisperer.models import stand_in
from podwhisperer.settings import AudioSettings, EngineSettings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compute-type", default="int8")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--models-dir", type=Path)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="podwhisperer-wx-"))
    models = args.models_dir or stand_in(tmp / "models")
    os.environ.update(PODWHISPERER_MODELS_DIR=str(models), HF_HUB_OFFLINE="1")
    diarize = (models / "diarize").is_dir()

    lines = seed_script(SEED, max_words=int(args.minutes * 160))
    audio = stage(str(synthesize(lines, tmp / "episode.mp3")), AudioSettings(work_dir=tmp / "work"))
    minutes = audio.duration / 60
    common = dict(model=args.model, device=args.device, compute_type=args.compute_type, batch_size=args.batch_size)

    from podwhisperer.engines.faster_whisper import FasterWhisperEngine
    from podwhisperer.engines.whisperx import WhisperXEngine

    rows = []
    for name, cls, settings in (
        ("faster-whisper (our CPU engine)", FasterWhisperEngine, EngineSettings(**common)),
        ("whisperx", WhisperXEngine, EngineSettings(engine="whisperx", diarize=diarize, **common)),
    ):
        t0 = time.perf_counter()
        engine = cls(settings)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        transcript = engine.transcribe(audio.wav_path, audio.sha256)
        total = time.perf_counter() - t0
        rows.append((name, load, total, transcript))

    normalize = EnglishTextNormalizer()
    reference = normalize(" ".join(text for _, text in lines))
    print(f"episode: {minutes:.1f} min two-voice espeak-ng; model {args.model} on {args.device} "
          f"({args.compute_type}, batch {args.batch_size}); models: {models}"
          f"{'' if args.models_dir else ' (stand-in: tiny random wav2vec2, no diarization)'}")
    print(f"{'engine':34s} {'load s':>7s} {'run s':>7s} {'x realtime':>10s} {'WER':>6s}")
    for name, load, total, t in rows:
        print(f"{name:34s} {load:7.1f} {total:7.1f} {audio.duration / total:10.1f} "
              f"{100 * jiwer.wer(reference, normalize(t.text)):5.1f}%")
    stages = rows[1][3].engine.timings
    print("whisperx stages: " + ", ".join(f"{k} {v:.1f} s ({audio.duration / v:.0f}x realtime)"
                                          for k, v in stages.items() if not k.startswith("load") and v > 0))
    print(f"whisperx / faster-whisper run time: {rows[1][2] / rows[0][2]:.2f}")
    if args.device == "cuda":
        rtf = audio.duration / rows[1][2]
        print(f"goal: whole GPU step >= 150x realtime -> {rtf:.0f}x: {'met' if rtf >= 150 else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
