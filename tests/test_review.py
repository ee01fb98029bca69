"""Human review of speaker names on a real Prefect server: the flow pauses with a typed form, the
test reads the form's schema and prefill through the API as the UI does, answers (first wrongly,
then rightly) with resume_flow_run, and the names land in the transcript. Also the timeout."""

from __future__ import annotations

import contextvars
import threading
import time

import pytest

from podwhisperer.model import EngineInfo, Segment, Transcript, Word
from podwhisperer.review import check_names, speaker_cards
from podwhisperer.settings import ReviewSettings

pytestmark = pytest.mark.e2e


def episode() -> Transcript:
    lines = [("SPEAKER_00", "My name is Eoin and I'm joined by Luciano"), ("SPEAKER_01", "Hello everyone"),
             ("SPEAKER_00", "Today we talk about durable functions on AWS Lambda, which came out at re:Invent"),
             ("SPEAKER_01", "They checkpoint every step so a crashed run resumes where it stopped")]
    segs, t = [], 0.0
    for i, (who, text) in enumerate(lines):
        words = []
        for tok in text.split():
            words.append(Word(text=tok, start=round(t, 3), end=round(t + 0.3, 3), score=0.9, speaker=who))
            t += 0.4
        segs.append(Segment(id=i, start=words[0].start, end=words[-1].end, text=text, speaker=who, words=words))
    return Transcript(audio_sha256="0" * 64, language="en", duration=t, segments=segs, speaker_names={"SPEAKER_00": "Eoin"},
                      engine=EngineInfo(engine="t", model="t", device="cpu", compute_type="int8"))


def test_cards_and_checks():
    cards = speaker_cards(episode())
    assert [(c.label, c.proposed) for c in cards] == [("SPEAKER_00", "Eoin"), ("SPEAKER_01", "")]
    assert cards[0].quotes[0].startswith("[00:00:00] My name is Eoin") and len(cards[1].quotes) == 2
    labels = ["SPEAKER_00", "SPEAKER_01"]
    assert check_names({"SPEAKER_00": " Eoin ", "SPEAKER_01": "Luciano"}, labels) == (
        {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}, None)
    assert "merge two speakers" in check_names({"SPEAKER_00": "Eoin", "SPEAKER_01": "eoin"}, labels)[1]
    assert "needed for SPEAKER_01" in check_names({"SPEAKER_00": "Eoin", "SPEAKER_01": ""}, labels)[1]
    assert "unknown" in check_names({"SPEAKER_00": "a", "SPEAKER_01": "b", "SPEAKER_07": "c"}, labels)[1]


def _start(settings: ReviewSettings) -> tuple[threading.Thread, dict]:
    from prefect import flow

    from podwhisperer.tasks.review import review_speaker_names

    @flow(name="review-standin")
    def reviewed(t: Transcript, s: ReviewSettings) -> Transcript:
        return review_speaker_names(t, s, requested=True)

    out: dict = {}

    def run():
        try:
            out["result"] = reviewed(episode(), settings)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,))
    thread.start()
    return thread, out


def _paused_run(previous_keys: set = frozenset(), timeout: float = 60):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterState,
                                                FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["review-standin"])),
                                         flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                                             type=FlowRunFilterStateType(any_=[StateType.PAUSED]))))
            for run in runs:
                keyset = run.state.state_details.run_input_keyset
                if keyset and keyset["response"] not in previous_keys:
                    return run, keyset
            time.sleep(0.5)
    raise AssertionError("the flow never paused for review")


def test_the_form_is_prefilled_invalid_answers_are_refused_and_names_applied(prefect_server):
    from prefect.flow_runs import resume_flow_run
    from prefect.input.actions import read_flow_run_input

    thread, out = _start(ReviewSettings(timeout_s=300))
    run, keyset = _paused_run()
    schema = read_flow_run_input(keyset["schema"], run.id)
    assert set(schema["properties"]) == {"SPEAKER_00", "SPEAKER_01"}
    assert schema["properties"]["SPEAKER_00"]["default"] == "Eoin"  # prefilled with the proposal
    description = read_flow_run_input(keyset["description"], run.id)  # shown above the form
    assert "**SPEAKER_00** (proposed: Eoin, 0.1 min)\n- [00:00:00] My name is Eoin" in description
    assert "Give every speaker a name" in description
    # Two labels with one name would merge two speakers: refused, asked again with the reason.
    resume_flow_run(run.id, run_input={"SPEAKER_00": "Eoin", "SPEAKER_01": "Eoin"})
    run2, keyset2 = _paused_run({keyset["response"]})
    assert "would merge two speakers" in read_flow_run_input(keyset2["description"], run2.id)
    # From a terminal: checked the same way, then resumed.
    from podwhisperer.cli import main

    assert main(["review", str(run2.id), "SPEAKER_00=Eoin"]) == 2  # SPEAKER_01 has no name: refused here
    assert main(["review", str(run2.id), "SPEAKER_00=Eoin", "SPEAKER_01=Luciano"]) == 0
    thread.join(60)
    assert "error" not in out, out.get("error")
    assert out["result"].speaker_names == {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}


@pytest.mark.parametrize("on_timeout", ["keep", "fail"])
def test_nobody_answers(prefect_server, on_timeout):
    thread, out = _start(ReviewSettings(timeout_s=10, on_timeout=on_timeout))
    thread.join(90)
    if on_timeout == "keep":
        assert out["result"].speaker_names == {"SPEAKER_00": "Eoin"}
    else:
        assert isinstance(out.get("error"), TimeoutError)


def test_suspended_review_holds_no_process_and_resumes_from_a_deployment(process_pool):
    """mode suspend: the deployment's run exits while it waits; answered, it reruns and finishes."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.flow_runs import resume_flow_run

    run = run_deployment("review-deployed/standin", timeout=0)
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while not (state := client.read_flow_run(run.id).state).is_paused():
            assert time.monotonic() < deadline and not state.is_final(), state
            time.sleep(1)
    assert state.name == "Suspended"  # the run's process is gone while it waits
    resume_flow_run(run.id, run_input={"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"})
    with get_client(sync_client=True) as client:
        while not (done := client.read_flow_run(run.id)).state.is_final():
            assert time.monotonic() < deadline + 180
            time.sleep(1)
    assert done.state.is_completed(), (done.state, (process_pool / "worker.log").read_text()[-2000:])
    assert done.state.result() == {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}
