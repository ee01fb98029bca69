"""Human review of speaker names, the pure part: what the reviewer sees and what is accepted.

For each speaker label: the proposed name (from the LLM, else empty), the talk time, and two
sample quotes with timestamps, so a person can tell who is who without playing the audio. The
answer is accepted only if every label has a name, no two labels share one (that would merge two
speakers) and no unknown label appears.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .model import Transcript
from .writers import format_timestamp


class SpeakerCard(BaseModel):
    label: str
    proposed: str = ""
    talk_time_s: float
    quotes: list[str] = Field(default_factory=list, description="Two sample lines with their start time.")


def speaker_cards(transcript: Transcript) -> list[SpeakerCard]:
    talk = transcript.talk_time()
    lines: dict[str, list] = {}
    for seg in transcript.segments:
        if seg.speaker:
            lines.setdefault(seg.speaker, []).append(seg)
    cards = []
    for label in sorted(talk):
        # The two longest lines say the most about who is speaking.
        best = sorted(lines[label], key=lambda s: -len(s.text))[:2]
        quotes = [f"[{format_timestamp(s.start)[:8]}] {s.text[:160]}" for s in sorted(best, key=lambda s: s.start)]
        cards.append(SpeakerCard(label=label, proposed=transcript.speaker_names.get(label, ""),
                                 talk_time_s=round(talk[label], 1), quotes=quotes))
    return cards


def check_names(answer: dict[str, str], labels: list[str]) -> tuple[dict[str, str], str | None]:
    """(names, None) when the answer is acceptable; else (tidied answer, the reason)."""
    names = {k: " ".join(str(v or "").split()) for k, v in answer.items()}
    unknown = sorted(set(names) - set(labels))
    if unknown:
        return names, f"unknown speaker labels: {', '.join(unknown)}"
    empty = [label for label in labels if not names.get(label)]
    if empty:
        return names, f"a name is needed for {', '.join(empty)}"
    seen: dict[str, str] = {}
    for label in labels:
        other = seen.setdefault(names[label].casefold(), label)
        if other != label:
            return names, f"{other} and {label} are both called {names[label]!r}: that would merge two speakers"
    return names, None
