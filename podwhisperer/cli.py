"""The ``podwhisperer`` command line: one episode (file, URL or s3 URI) through the Prefect flow."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

STEPS = {"stage": "Stage audio", "transcribe": "Transcribe", "rules": "Apply rules", "captions": "Build captions",
         "write": "Write outputs"}
OPTIONAL_STEPS = {"diarize": "Diarize", "refine": "LLM refine"}  # a bar appears when the step runs


def _prefect_defaults(verbose: bool) -> None:
    # Must happen before prefect is imported: its settings are read once at import.
    # The embedded server takes 6-14 s to start on a small machine; Prefect's default is 20 s.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def _settings(args: argparse.Namespace):
    from .settings import Settings

    overrides: dict[str, dict] = {"audio": {}, "engine": {}, "gpu": {}, "diarize": {}, "llm": {}, "rules": {},
                                  "captions": {}, "output": {}, "events": {}, "feeds": {}, "intake": {}}
    for section, name in (("output", "out"), ("engine", "engine"), ("gpu", "gpu_storage"), ("engine", "model"),
                          ("diarize", "diarize"), ("diarize", "speakers"), ("llm", "llm"), ("llm", "llm_model"),
                          ("llm", "llm_base_url"), ("engine", "language"),
                          ("engine", "batch_size"), ("engine", "device"), ("engine", "compute_type"),
                          ("audio", "work_dir"), ("captions", "max_line_chars"), ("rules", "rules"),
                          ("output", "output_storage"), ("events", "eventbridge_bus"), ("feeds", "backfill"),
                          ("feeds", "max_new"), ("feeds", "deployment"), ("intake", "max_new"),
                          ("intake", "deployment")):
        value = getattr(args, name, None)
        if value is not None:
            overrides[section][{"out": "out_dir", "rules": "source", "gpu_storage": "storage", "diarize": "enabled",
                                "speakers": "num_speakers", "llm": "provider", "llm_model": "model",
                                "llm_base_url": "base_url", "output_storage": "storage",
                                "max_new": "max_new_per_poll"}.get(name, name)] = value
    base = Settings()
    return Settings.model_validate(
        {k: {**getattr(base, k).model_dump(), **v} for k, v in overrides.items()}
    )


def _quiet_prefect_console() -> list:
    """Silence Prefect's console handlers (not its API handler: the UI keeps every log line).

    The CLI shows progress and one clear error line itself; -v keeps Prefect's console logs.
    """
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    quieted = [(h, h.level) for lg in loggers for h in lg.handlers if isinstance(h, PrefectConsoleHandler)]
    for handler, _ in quieted:
        handler.setLevel(logging.CRITICAL + 1)
    return quieted


def run_episode(source: str, title: str | None, settings, verbose: bool = False, review: bool = False) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import progress
    from .audio import AudioInputError, TransientFetchError
    from .rules import RulesError
    from .flows.transcribe import transcribe_episode

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description:<16}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TextColumn("[dim]{task.fields[detail]}"), console=console) as bar:
        ids = {step: bar.add_task(label, total=1.0, detail="") for step, label in STEPS.items()}

        quieted: list = []

        def listen(step: str, fraction: float, detail: str) -> None:
            if not verbose and not quieted:  # Prefect's logging is set up once a task runs
                quieted.extend(_quiet_prefect_console())
            if step not in ids:
                ids[step] = bar.add_task(OPTIONAL_STEPS.get(step, step), total=1.0, detail="")
            bar.update(ids[step], completed=fraction, detail=detail[:60])

        unsubscribe = progress.subscribe(listen)
        try:
            manifest = transcribe_episode(source, title=title, settings=settings, review_speakers=review)
        except (AudioInputError, RulesError) as exc:
            console.print(f"[red]error:[/] {exc}")
            return 2
        except TransientFetchError as exc:
            console.print(f"[red]error:[/] {exc} (gave up after retries)")
            return 3
        finally:
            unsubscribe()
            for handler, level in quieted:
                handler.setLevel(level)
        for task_id in ids.values():  # cached steps report nothing: they are done
            bar.update(task_id, completed=1.0)

    table = Table(title=f"{manifest.input['title']} -> {manifest.episode_dir}")
    for col in ("file", "bytes", "sha256"):
        table.add_column(col)
    for name, f in manifest.files.items():
        table.add_row(name, str(f.bytes), f.sha256[:12])
    Console().print(table)
    for warning in manifest.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    return run_episode(args.source, args.title, _settings(args), args.verbose, args.review_speakers)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_script, synthesize

    settings = _settings(args)
    audio = synthesize(demo_script(), settings.audio.work_dir / "demo" / "demo-episode.mp3")
    print(f"made a two-voice demo episode with espeak-ng: {audio}", file=sys.stderr)
    code = run_episode(str(audio), "PodWhisperer demo", settings, args.verbose)
    if code == 0:
        md = next(settings.output.out_dir.glob("podwhisperer-demo-*/transcript.md"))
        print(md.read_text())
    return code


def cmd_schema(args: argparse.Namespace) -> int:
    from .model import Transcript

    print(json.dumps(Transcript.model_json_schema(), indent=2))
    return 0


def cmd_captions_check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .captions import check, read_caption_file
    from .settings import CaptionSettings

    console = Console()
    try:
        cues = read_caption_file(args.file)
    except Exception as exc:  # noqa: BLE001 - any parse failure is one clear line
        console.print(f"[red]error:[/] {args.file}: not a readable SRT or WebVTT file ({exc})")
        return 2
    report = check(cues, CaptionSettings())
    table = Table(title=f"{args.file.name}: {report.cues} cues")
    table.add_column("limit")
    table.add_column("within", justify="right")
    for limit, share in report.within.items():
        table.add_row(limit, f"{100 * share:.1f}%")
    table.add_row("all limits", f"{100 * report.all_limits:.1f}%")
    console.print(table)
    for v in report.violations[: args.show]:
        print(f"cue {v.cue} at {v.start:.3f} s: {v.limit} ({v.detail}): {v.text}")
    if len(report.violations) > args.show:
        print(f"... and {len(report.violations) - args.show} more violations")
    return 1 if report.violations else 0


def cmd_rules_example(args: argparse.Namespace) -> int:
    from .rules import dumps_example

    print(dumps_example())
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Answer a paused speaker review from a terminal (the same check as the form in the UI)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run
    from prefect.input.actions import read_flow_run_input

    from .review import check_names

    answer = dict(pair.split("=", 1) for pair in args.names if "=" in pair)
    if len(answer) != len(args.names):
        print("error: give names as LABEL=Name, e.g. SPEAKER_00=Eoin", file=sys.stderr)
        return 2
    run_id = UUID(args.flow_run_id)
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    keyset = state.state_details.run_input_keyset if state and state.is_paused() else None
    if not keyset:
        print(f"error: flow run {run_id} is not waiting for a speaker review", file=sys.stderr)
        return 2
    labels = list(read_flow_run_input(keyset["schema"], run_id)["properties"])
    names, problem = check_names(answer, labels)
    if problem:
        print(f"error: {problem} (speakers: {', '.join(labels)})", file=sys.stderr)
        return 2
    resume_flow_run(run_id, run_input=names)
    print(f"resumed {run_id}: " + ", ".join(f"{k}={v}" for k, v in names.items()))
    return 0


def _print_starts(title: str, started) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("episode", "outcome", "input"):
        table.add_column(col)
    for outcome, runs in (("started", started.started), ("started before", started.already),
                          ("next poll (cap)", started.deferred)):
        for run in runs:
            table.add_row(run.title, outcome, run.audio)
    Console().print(table)


def _start_runs(flow, settings, *args):
    """Run a poller flow in this process (its episodes start on the server's deployment); its result,
    or None after printing one clear error line."""
    from prefect.exceptions import ObjectNotFound

    from .feeds import FeedError
    from .storage import SharedStorageError

    try:
        return flow(*args, settings=settings)
    except ObjectNotFound:
        print("error: the episode deployment was not found on the Prefect server (PREFECT_API_URL): "
              "run `prefect deploy --all` there first, or name one with --deployment", file=sys.stderr)
    except (FeedError, SharedStorageError, PermissionError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return None


def cmd_feeds(args: argparse.Namespace) -> int:
    """Poll feeds once (what the `feeds` deployment does on its schedule)."""
    from .flows.poll_feeds import poll_feeds

    settings = _settings(args)
    reports = _start_runs(poll_feeds, settings, args.urls or None)
    if reports is None:
        return 2
    for report in reports:
        _print_starts("feed poll", report)
    return 0


def cmd_intake(args: argparse.Namespace) -> int:
    """Start every new object under an S3 prefix once (what the `s3-intake` deployment does)."""
    from .flows.s3_intake import s3_intake

    report = _start_runs(s3_intake, _settings(args), args.input)
    if report is None:
        return 2
    _print_starts(args.input, report)
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import models

    whisper, languages = args.whisper or ["large-v3"], args.languages or ["en"]
    if args.action == "download":
        models.download(args.dir, whisper, languages, not args.no_diarize)
    report = models.verify(args.dir, whisper, languages, not args.no_diarize, load=args.load)
    for item in report.found:
        print(f"ok       {item}")
    for problem in report.problems:
        print(f"MISSING  {problem}", file=sys.stderr)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podwhisperer", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show Prefect's logs")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", type=Path, help="output folder (default: ./out)")
        p.add_argument("--engine", choices=["faster-whisper", "whisperx", "whisperx-gpu"],
                       help="faster-whisper (default, CPU), whisperx (here; needs the whisperx extra) or "
                       "whisperx-gpu (dispatched to the GPU work pool's deployment)")
        p.add_argument("--gpu-storage", help="whisperx-gpu: s3://bucket/prefix shared with the GPU workers")
        p.add_argument("--diarize", action="store_true", default=None,
                       help="label speakers on the CPU (needs the diarize extra)")
        p.add_argument("--speakers", type=int, help="diarization: exactly this many speakers")
        p.add_argument("--llm", choices=["openai", "bedrock"], help="refine the transcript and name speakers with an LLM")
        p.add_argument("--llm-model", help="LLM model id")
        p.add_argument("--llm-base-url", help="OpenAI-compatible endpoint (key: OPENAI_API_KEY)")
        p.add_argument("--model", help="model name or local CTranslate2 directory (default: tiny.en, shipped)")
        p.add_argument("--language", help="language code (default: en)")
        p.add_argument("--batch-size", type=int, help="batched inference size (default: 8)")
        p.add_argument("--device", help="cpu, cuda or auto (default: cpu)")
        p.add_argument("--compute-type", help="CTranslate2 compute type (default: int8)")
        p.add_argument("--work-dir", type=Path, help="where staged audio is kept (default: ~/.cache/podwhisperer)")
        p.add_argument("--max-line-chars", type=int, help="caption line length (default: 42)")
        p.add_argument("--rules", help="replacement rule file (YAML/JSON): a path, an http(s) URL or an s3:// URI")
        p.add_argument("--output-storage", help="also publish the episode folder under this s3://bucket/prefix")
        p.add_argument("--eventbridge-bus", help="send completion/failure events to this EventBridge bus")

    t = sub.add_parser("transcribe", help="transcribe one episode: a path, an http(s) URL or an s3:// URI")
    t.add_argument("source")
    t.add_argument("--title", help="episode title (default: from the file name); names the output folder")
    t.add_argument("--review-speakers", action="store_true",
                   help="wait for a person to confirm the speaker names (Prefect UI, or podwhisperer review)")
    common(t)
    t.set_defaults(func=cmd_transcribe)

    d = sub.add_parser("demo", help="make a short two-voice episode with espeak-ng and transcribe it")
    common(d)
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("schema", help="print the JSON schema of raw_transcript.json")
    s.set_defaults(func=cmd_schema)

    c = sub.add_parser("captions-check", help="report how an SRT or WebVTT file keeps the caption limits")
    c.add_argument("file", type=Path)
    c.add_argument("--show", type=int, default=20, help="violations to list (default 20)")
    c.set_defaults(func=cmd_captions_check)

    v = sub.add_parser("review", help="name the speakers of a run paused for review, e.g. SPEAKER_00=Eoin")
    v.add_argument("flow_run_id")
    v.add_argument("names", nargs="+", metavar="LABEL=Name")
    v.set_defaults(func=cmd_review)

    m = sub.add_parser("models", help="download or verify a models directory for the WhisperX engine")
    m.add_argument("action", choices=["download", "verify"])
    m.add_argument("dir", type=Path)
    m.add_argument("--whisper", action="append", help="Whisper model name (repeatable; default large-v3)")
    m.add_argument("--language", dest="languages", action="append", help="alignment language (repeatable; default en)")
    m.add_argument("--no-diarize", action="store_true", help="leave out the pyannote diarization pipeline")
    m.add_argument("--load", action="store_true", help="verify: also load every model (slow, thorough)")
    m.set_defaults(func=cmd_models)

    f = sub.add_parser("feeds", help="poll podcast feeds once; each new episode starts as a run of a deployment")
    f.add_argument("urls", nargs="*", help="feed URLs (default: settings feeds.urls, else the Prefect Variable "
                                            "podwhisperer_feeds)")
    f.add_argument("--max-new", type=int, help="episodes started per feed and poll, newest first (default 3)")
    f.add_argument("--backfill", action="store_true", default=None, help="also the episodes from before the first poll")
    f.add_argument("--deployment", help="episode deployment (default transcribe-episode/local)")
    f.set_defaults(func=cmd_feeds)

    i = sub.add_parser("intake", help="start each new audio object under an S3 prefix once (by ETag)")
    i.add_argument("input", help="s3://bucket/prefix")
    i.add_argument("--max-new", type=int, help="objects started per poll (default 50)")
    i.add_argument("--deployment", help="episode deployment (default transcribe-episode/local)")
    i.set_defaults(func=cmd_intake)

    r = sub.add_parser("rules-example", help="print an example replacement rule file (v2's rules)")
    r.set_defaults(func=cmd_rules_example)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    args = build_parser().parse_args(argv)
    _prefect_defaults(args.verbose)
    try:
        return args.func(args)
    except ValidationError as exc:  # settings from flags or the environment: one line per problem
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"]) or "settings"
            print(f"error: invalid setting {where}: {err['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
