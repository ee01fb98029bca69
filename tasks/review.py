"""Review speaker names: the flow pauses with a typed form in the Prefect UI (podwhisperer.review).

The form has one field per speaker label, prefilled with the proposed name; its description shows
each speaker's talk time and two quotes with timestamps. An invalid answer (a missing or duplicate
name, an unknown label) is refused with the reason and the form asked again. ``mode: pause`` waits
in the flow's process; ``mode: suspend`` lets the process exit (the run must come from a
deployment) and the flow reruns from the top when resumed: finished tasks come back cached and
each round's answer is read back by its key. Pausing is flow-level orchestration, so this is a
plain function the flow calls, with the naming itself in a task.
"""

from __future__ import annotations

from prefect import task
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.logging import get_run_logger
from prefect.utilities.annotations import opaque
from pydantic import create_model

from podwhisperer.model import Transcript
from podwhisperer.review import SpeakerCard, check_names, speaker_cards
from podwhisperer.settings import ReviewSettings

from ._prefect import ContentKey, model_fingerprint


def speaker_form(cards: list[SpeakerCard]) -> type[RunInput]:
    """A RunInput class with one name field per speaker label (the quotes go in the description:
    ``with_initial_data`` keeps field types and prefill, not per-field texts)."""
    return create_model("SpeakerNames", __base__=RunInput, **{c.label: (str, ...) for c in cards})


def form_description(cards: list[SpeakerCard], problem: str | None) -> str:
    warning = f"**Not accepted:** {problem}. Please correct the names.\n\n" if problem else ""
    speakers = "\n".join(
        f"**{c.label}** (proposed: {c.proposed or '?'}, {c.talk_time_s / 60:.1f} min)\n"
        + "".join(f"- {q}\n" for q in c.quotes)
        for c in cards
    )
    return f"{warning}Who is speaking? Give every speaker a name (two speakers never share one), then Submit.\n\n{speakers}"


@task(name="name-speakers", persist_result=True,
      cache_policy=ContentKey(fingerprints={"transcript": lambda t: t.content_hash(), "names": model_fingerprint},
                              modules=("podwhisperer.review",)))
def name_speakers(transcript: Transcript, names: dict[str, str]) -> Transcript:
    return transcript.model_copy(update={"speaker_names": {**transcript.speaker_names, **names}})


def review_speaker_names(transcript: Transcript, settings: ReviewSettings, requested: bool = False) -> Transcript:
    if not (settings.enabled or requested):
        return transcript
    cards = speaker_cards(transcript)
    if not cards:
        return transcript
    labels = [c.label for c in cards]
    current = {c.label: c.proposed for c in cards}
    wait = pause_flow_run if settings.mode == "pause" else suspend_flow_run
    problem = None
    for round_ in range(1, settings.max_rounds + 1):
        form = speaker_form(cards)
        try:
            answer = wait(wait_for_input=form.with_initial_data(description=form_description(cards, problem),
                                                                **current),
                          timeout=settings.timeout_s, key=f"speaker-review-{round_}")
        except FlowPauseTimeout:
            if settings.on_timeout == "fail":
                raise TimeoutError(f"nobody reviewed the speaker names within {settings.timeout_s} s") from None
            get_run_logger().warning("speaker review timed out: keeping the proposed names")
            return name_speakers(opaque(transcript), {k: v for k, v in current.items() if v})
        current, problem = check_names({k: getattr(answer, k) for k in labels if hasattr(answer, k)}, labels)
        if problem is None:
            return name_speakers(opaque(transcript), current)
        get_run_logger().warning("speaker names not accepted: %s", problem)
    raise ValueError(f"speaker names refused {settings.max_rounds} times; last: {problem}")
