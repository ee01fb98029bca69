"""WhisperX engine: batched faster-whisper, wav2vec2 word alignment, pyannote diarization.

Needs the ``whisperx`` extra (torch, pyannote). Every model can be a local directory (the GPU
image bakes them in and runs with the hubs offline). Models load once per process and stay:
the ASR model when the engine is built, an alignment model per language and the diarization
pipeline when first needed.
"""

from __future__ import annotations

import dataclasses
import os
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterable

from ..audio import load_wav
from ..model import EngineInfo, Segment, Transcript
from ..models import align_path, diarize_path, models_dir
from ..settings import EngineSettings
from ..timing import RawWord, repair_word_times
from .base import ProgressFn
from .faster_whisper import resolve_model


def _num(value: Any, digits: int | None = None) -> float | None:
    """WhisperX gives numpy floats (and NaN for what it could not time): plain floats or None."""
    if value is None:
        return None
    value = float(value)
    if value != value:
        return None
    return value if digits is None else round(value, digits)


def to_segments(aligned: Iterable[dict]) -> list[Segment]:
    """WhisperX's aligned (and speaker-assigned) segments as ours.

    Words alignment could not place (numerals, symbols: no ``start``/``end``) get interpolated,
    flagged times inside their segment, never 0. A word without a speaker takes its segment's.
    """
    segments: list[Segment] = []
    for seg in aligned:
        start, end = _num(seg.get("start")) or 0.0, _num(seg.get("end")) or 0.0
        speaker = seg.get("speaker")
        raw = [RawWord(str(w.get("word", "")).strip(), _num(w.get("start")), _num(w.get("end")),
                       _num(w.get("score"), 4),
                       w.get("speaker") or speaker)
               for w in seg.get("words") or [] if str(w.get("word", "")).strip()]
        if not raw:  # not aligned at all: one word per token of the text, spread over the segment
            raw = [RawWord(t, speaker=speaker) for t in str(seg.get("text", "")).split()]
        words = repair_word_times(raw, start, max(end, start))
        if words:
            segments.append(Segment(id=len(segments), start=round(start, 3), end=round(max(end, start), 3),
                                    text=" ".join(w.text for w in words), speaker=speaker, words=words))
    return segments


class WhisperXEngine:
    def __init__(self, settings: EngineSettings):
        import whisperx

        self.settings = s = settings
        t0 = time.perf_counter()
        if (root := models_dir()) and (root / "nltk").is_dir():
            import nltk

            nltk.data.path.insert(0, str(root / "nltk"))  # WhisperX's sentence splitter, offline
        self.device = "cuda" if s.device == "auto" and _cuda() else ("cpu" if s.device == "auto" else s.device)
        self.asr = whisperx.load_model(
            resolve_model(s.model), self.device, compute_type=s.compute_type, language=s.language,
            vad_method=s.vad_method, threads=s.cpu_threads or (os.cpu_count() or 1),
            asr_options={"beam_size": s.beam_size, "initial_prompt": s.initial_prompt},
        )
        self._align: dict[str, tuple[Any, dict]] = {}
        self._diarizer = None
        self._unreported = {"load": time.perf_counter() - t0}

    def _align_model(self, language: str):
        import whisperx

        if language not in self._align:
            t0 = time.perf_counter()
            name = self.settings.align_model or align_path(language)
            if name and Path(name).expanduser().is_dir():
                name = str(Path(name).expanduser())
            self._align[language] = whisperx.load_align_model(language_code=language, device=self.device,
                                                              model_name=name)
            self._unreported["load_align"] = time.perf_counter() - t0
        return self._align[language]

    def _diarization(self):
        if self._diarizer is None:
            from whisperx.diarize import DiarizationPipeline

            t0 = time.perf_counter()
            name = self.settings.diarize_model
            name = str(Path(name).expanduser()) if Path(name).expanduser().is_dir() else diarize_path(name) or name
            # The token only matters for a gated model fetched from the hub; it comes from the
            # environment, never from settings (settings end up in manifests and artifacts).
            self._diarizer = DiarizationPipeline(model_name=name, token=os.environ.get("HF_TOKEN"),
                                                 device=self.device)
            self._unreported["load_diarize"] = time.perf_counter() - t0
        return self._diarizer

    def transcribe(self, wav_path: Path, audio_sha256: str, progress: ProgressFn | None = None,
                   vocabulary: list[str] | None = None) -> Transcript:
        import whisperx

        s = self.settings
        timings: dict[str, float] = {}
        audio = load_wav(wav_path)
        hotwords = list(dict.fromkeys([*s.hotwords, *(vocabulary or [])]))
        # Options are fixed when WhisperX loads the model; hotwords change per episode.
        self.asr.options = dataclasses.replace(self.asr.options, hotwords=", ".join(hotwords) or None)

        t0 = time.perf_counter()
        result = self.asr.transcribe(audio, batch_size=s.batch_size, language=s.language,
                                     progress_callback=(lambda pct: progress(0.5 * pct / 100)) if progress else None)
        timings["transcribe"] = time.perf_counter() - t0
        language = result.get("language") or s.language or "en"
        segments = result["segments"]

        if segments:
            t0 = time.perf_counter()
            model, metadata = self._align_model(language)
            segments = whisperx.align(segments, model, metadata, audio, self.device,
                                      return_char_alignments=False)["segments"]
            timings["align"] = time.perf_counter() - t0
            if progress:
                progress(0.7)
        if segments and s.diarize:
            t0 = time.perf_counter()
            turns = self._diarization()(audio, min_speakers=s.min_speakers, max_speakers=s.max_speakers)
            segments = whisperx.assign_word_speakers(turns, {"segments": segments})["segments"]
            timings["diarize"] = time.perf_counter() - t0
        if progress:
            progress(0.95)

        ours = to_segments(segments)
        # Model loads are reported once, by the first episode that paid for them.
        timings = {**self._unreported, **timings}
        self._unreported = {}
        return Transcript(
            audio_sha256=audio_sha256,
            language=language,
            duration=round(len(audio) / 16000, 3),
            segments=ours,
            engine=EngineInfo(
                engine="whisperx", model=s.model, device=self.device, compute_type=s.compute_type,
                versions={p: version(p) for p in ("whisperx", "faster-whisper", "ctranslate2", "torch")},
                timings={k: round(v, 3) for k, v in timings.items()},
            ),
            warnings=[] if ours else ["no speech detected: the transcript is empty"],
        )


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
