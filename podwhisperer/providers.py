"""Chat models behind one small interface: Amazon Bedrock (Converse API) and any OpenAI-compatible
endpoint (OpenAI, Ollama, vLLM, LiteLLM...). Secrets come from the caller (a Prefect block or the
environment), never from settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    text: str
    stop_reason: str | None  # "length" / "max_tokens": the answer was cut off
    input_tokens: int = 0
    output_tokens: int = 0


class Provider(Protocol):
    model: str

    def complete(self, system: str, user: str, max_tokens: int) -> Reply: ...


class OpenAICompatible:
    """Chat completions with JSON output requested; ``base_url`` such as http://localhost:11434/v1."""

    def __init__(self, model: str, base_url: str, api_key: str | None, timeout_s: float = 120):
        from openai import OpenAI

        self.model = model
        # max_retries: the SDK's own backoff for 429/5xx; our retries are for unusable answers.
        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=3)

    def complete(self, system: str, user: str, max_tokens: int) -> Reply:
        response = self.client.chat.completions.create(
            model=self.model, max_tokens=max_tokens, temperature=0,
            response_format={"type": "json_object"},
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
        )
        choice = response.choices[0]
        usage = response.usage
        return Reply(choice.message.content or "", choice.finish_reason,
                     usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)


class Bedrock:
    """Bedrock Converse through boto3: credentials from the environment / instance role, or a
    prefect-aws ``AwsCredentials`` block's session (``session``)."""

    def __init__(self, model: str, region: str | None = None, endpoint_url: str | None = None, session=None):
        import boto3
        from botocore.config import Config

        self.model = model
        self.client = (session or boto3).client(
            "bedrock-runtime", region_name=region, endpoint_url=endpoint_url,
            config=Config(retries={"mode": "adaptive", "max_attempts": 4}, read_timeout=300))

    def complete(self, system: str, user: str, max_tokens: int) -> Reply:
        response = self.client.converse(
            modelId=self.model, system=[{"text": system}],
            messages=[{"role": "user", "content": [{"text": user}]}],
            inferenceConfig={"maxTokens": max_tokens, "temperature": 0},
        )
        text = "".join(part.get("text", "") for part in response["output"]["message"]["content"])
        usage = response.get("usage", {})
        return Reply(text, response.get("stopReason"), usage.get("inputTokens", 0), usage.get("outputTokens", 0))
