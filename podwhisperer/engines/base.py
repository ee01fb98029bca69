"""The engine interface, and one loaded engine per process.

An engine turns a 16 kHz mono WAV into a :class:`~podwhisperer.model.Transcript`. The CPU
engine is faster-whisper; the WhisperX GPU engine implements the same interface. Loading a
model costs seconds to minutes, so engines are built once per process and settings, lazily:
a run whose transcription is cached never loads one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Protocol

from ..model import Transcript
from ..settings import EngineSettings

ProgressFn = Callable[[float], None]


class Engine(Protocol):
    def transcribe(
        self, wav_path: Path, audio_sha256: str, progress: ProgressFn | None = None,
        vocabulary: list[str] | None = None,
    ) -> Transcript:
        """``vocabulary``: names and terms to favour, besides the settings' own hotwords."""
        ...


_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_loads = 0


def model_loads() -> int:
    """How many models this process has loaded (tests assert a cached rerun loads none)."""
    return _loads


def get_engine(settings: EngineSettings) -> Engine:
    global _loads
    key = settings.model_dump_json()
    with _lock:
        if key not in _engines:
            if settings.engine == "faster-whisper":
                from .faster_whisper import FasterWhisperEngine

                _engines[key] = FasterWhisperEngine(settings)
            elif settings.engine == "whisperx":
                from .whisperx import WhisperXEngine

                _engines[key] = WhisperXEngine(settings)
            else:  # whisperx-gpu is dispatched by the flow (podwhisperer.tasks.gpu), never run here
                raise ValueError(f"engine {settings.engine!r} does not run in this process")
            _loads += 1
        return _engines[key]
