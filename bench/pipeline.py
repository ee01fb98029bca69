"""Pipeline vs bare faster-whisper on the same file, then a rerun of the finished episode.

    .venv/bin/python bench/pipeline.py [--minutes 10] [--reps 2]

Builds a two-voice espeak-ng episode from the AWS Bites 152 transcript (shared/seeds), runs
bare faster-whisper (same model, threads, batch size, beam, VAD, word timestamps) and the whole
podwhisperer flow side by side in one process, alternating, and prints the ratio. Then it runs
the finished episode again and prints the rerun's share of the first run and the model loads.

Prefect: the embedded server by default; set PREFECT_API_URL to measure against a running
`prefect server start` (bench/rerun_server.sh does that). The server's start-up is not part of
either measurement: it is timed and printed on its own.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
TMP = Path(tempfile.mkdtemp(prefix="podwhisperer-bench-"))
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(TMP / "results")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "aws-bites-152-transcript.txt"


def make_episode(minutes: float) -> Path:
    from podwhisperer.demo import demo_script, seed_script, synthesize

    words = int(minutes * 160)
    lines = seed_script(SEED, max_words=words) if SEED.exists() else demo_script() * int(minutes * 2)
    return synthesize(lines, TMP / "episode.mp3")


def bare(path: Path, settings) -> float:
    """What a user would write with faster-whisper alone: load, transcribe, consume the words."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from podwhisperer.engines.faster_whisper import resolve_model

    s = settings.engine
    t0 = time.perf_counter()
    model = WhisperModel(resolve_model(s.model), device=s.device, compute_type=s.compute_type,
                         cpu_threads=s.cpu_threads or os.cpu_count())
    segments, _ = BatchedInferencePipeline(model).transcribe(
        str(path), batch_size=s.batch_size, beam_size=s.beam_size, language=s.language,
        word_timestamps=True, vad_filter=s.vad)
    n = sum(len(seg.words or []) for seg in segments)
    assert n > 0
    return time.perf_counter() - t0


def pipeline(path: Path, settings, refresh: bool = True) -> float:
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from podwhisperer.engines import base
    from podwhisperer.flows.transcribe import transcribe_episode

    base._engines.clear()  # load the model like the bare run does
    t0 = time.perf_counter()
    with temporary_settings({PREFECT_TASKS_REFRESH_CACHE: refresh}):  # refresh: compute every task anew
        state = transcribe_episode(str(path), settings=settings, return_state=True)
    assert state.is_completed(), state
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()

    from prefect import flow

    from podwhisperer.engines import model_loads
    from podwhisperer.settings import AudioSettings, OutputSettings, Settings

    episode = make_episode(args.minutes)
    from podwhisperer.audio import probe

    duration = probe(episode, str(episode))["declared_duration"]

    t0 = time.perf_counter()
    flow(lambda: None, name="warm-up")()  # starts the embedded server if there is no PREFECT_API_URL
    startup = time.perf_counter() - t0

    bares, pipes = [], []
    for i in range(args.reps):
        fresh = Settings(audio=AudioSettings(work_dir=TMP / f"work{i}"), output=OutputSettings(out_dir=TMP / f"out{i}"))
        bares.append(bare(episode, fresh))
        pipes.append(pipeline(episode, fresh))
        print(f"rep {i}: bare {bares[-1]:.1f} s, pipeline {pipes[-1]:.1f} s", flush=True)
    loads = model_loads()
    rerun = pipeline(episode, fresh, refresh=False)
    reruns_loads = model_loads() - loads

    b, p = statistics.median(bares), statistics.median(pipes)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"prefect api: {os.environ.get('PREFECT_API_URL') or 'embedded (ephemeral) server'}; start-up {startup:.1f} s")
    print(f"episode: {duration / 60:.1f} min two-voice espeak-ng mp3; model {fresh.engine.model}, "
          f"batch {fresh.engine.batch_size}, beam {fresh.engine.beam_size}, {fresh.engine.compute_type}")
    print(f"bare faster-whisper : {b:6.1f} s  ({duration / b:.1f}x realtime)")
    print(f"podwhisperer flow   : {p:6.1f} s  ({duration / p:.1f}x realtime)")
    print(f"ratio flow / bare   : {p / b:.3f}  (goal <= 1.1)")
    print(f"rerun (all cached)  : {rerun:6.2f} s = {100 * rerun / p:.1f}% of the first run (goal <= 5%), "
          f"model loads {reruns_loads}")


if __name__ == "__main__":
    sys.exit(main())
