"""The run report: artifacts on every run, cached steps included (a rerun shows what it serves)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from podwhisperer.llm import RefineReport
from podwhisperer.model import Manifest
from podwhisperer.writers import MARKDOWN


def _key(kind: str, slug: str) -> str:
    # Artifact keys: lowercase letters, digits and dashes (slugs are made of those).
    return f"{kind}-{slug}"[:100].rstrip("-")


@task(name="report-run", cache_policy=NO_CACHE, timeout_seconds=120)
def report_run(manifest: Manifest, llm: RefineReport | None) -> None:
    """Transcript, per-step timings, speaker table, caption report and LLM audit as artifacts of this run."""
    create_markdown_artifact(key=_key("transcript", manifest.slug),
                             markdown=(Path(manifest.episode_dir) / MARKDOWN).read_text(),
                             description=f"Transcript of {manifest.input['title']}")
    create_table_artifact(key=_key("timings", manifest.slug),
                          table=[{"step": k, "seconds": v} for k, v in manifest.timings.items()],
                          description="Seconds per pipeline step (from the run that computed each step)")
    if manifest.speakers:
        total = sum(manifest.talk_time_s.values()) or 1.0
        create_table_artifact(
            key=_key("speakers", manifest.slug),
            table=[{"speaker": label, "name": name, "talk time": f"{manifest.talk_time_s.get(label, 0) / 60:.1f} min",
                    "share": f"{100 * manifest.talk_time_s.get(label, 0) / total:.0f}%"}
                   for label, name in manifest.speakers.items()],
            description=f"{len(manifest.speakers)} speakers, in order of first speech")
    if manifest.captions:
        r = manifest.captions
        create_table_artifact(
            key=_key("captions", manifest.slug),
            table=[{"limit": k, "share of cues within": f"{100 * v:.1f}%"} for k, v in r["within"].items()]
            + [{"limit": "all limits", "share of cues within": f"{100 * r['all_limits']:.1f}%"}],
            description=f"{r['cues']} cues, {len(r['violations'])} violations (listed in manifest.json)")
    if llm is not None:
        create_table_artifact(
            key=_key("llm-audit", manifest.slug),
            table=[d.model_dump() for d in llm.decisions] or [{"kind": "-", "target": "-", "accepted": "-",
                                                                "reason": "the model suggested nothing"}],
            description=f"LLM suggestions, accepted and rejected ({llm.model}, {llm.calls} calls, "
                        f"{len(llm.failed_chunks)} chunks skipped)")
