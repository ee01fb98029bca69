"""Load: N distinct episodes submitted at once to one Prefect server, the way the service runs them.

Episode runs go to a CPU work pool with a concurrency limit; each hands its transcription to the
GPU flow's deployment on a second pool limited to 1 concurrent job (a process pool standing in for
the ECS GPU pool; the GPU flow runs faster-whisper on this CPU), suspends while it waits, and is
resumed by the GPU flow. Every episode is also submitted a second time with the same idempotency
key (a duplicate S3 event / an overlapping poll). Prints: wall time, completed / failed / lost /
duplicated runs, the most GPU jobs and episode runs seen running at once, and the peak memory of
the workers and everything they started.

    .venv/bin/python bench/load.py [--episodes 20] [--cpu-limit 3]
      (starts its own `prefect server` and moto S3 unless PREFECT_API_URL / AWS_ENDPOINT_URL are set)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ["serverless", "durable functions", "speaker labels", "captions", "GPU queues", "event buses",
          "retries", "idempotency", "object storage", "feeds", "alignment", "vocabularies", "show notes",
          "cost", "cold starts", "containers", "observability", "schedules", "backfills", "automation"]


def episodes(n: int, dest: Path) -> list[Path]:
    """``n`` short two-voice episodes with different words (so no transcription is shared)."""
    from podwhisperer.demo import synthesize

    out = []
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        lines = [("A", f"Welcome to episode {i + 1}. Today we talk about {topic}."),
                 ("B", f"Thanks. {topic.capitalize()} matter for podcast pipelines, number {i + 1}.")]
        out.append(synthesize(lines, dest / f"ep{i + 1:02d}.mp3"))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss(roots: list[int]) -> int:
    """Resident memory (bytes) of these processes and all their descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            parents[pid], rss[pid] = int(fields[1]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    keep, frontier = set(roots), list(roots)
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in keep:
                keep.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in keep)


def setup(cpu_limit: int, bucket: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    import boto3

    boto3.client("s3").create_bucket(Bucket=bucket)
    pull = [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="load-cpu", type="process", concurrency_limit=cpu_limit),
                                overwrite=True)
        client.create_work_pool(WorkPoolCreate(name="load-gpu", type="process", concurrency_limit=1), overwrite=True)
        for flow_name, entrypoint, pool in (("transcribe-episode", "flows/transcribe.py:transcribe_episode", "load-cpu"),
                                            ("gpu-transcribe", "flows/gpu_transcribe.py:gpu_transcribe", "load-gpu")):
            flow_id = client.create_flow_from_name(flow_name)
            client.create_deployment(flow_id=flow_id, name="load", work_pool_name=pool, entrypoint=entrypoint,
                                     path=str(ROOT), pull_steps=pull)


def run(n: int, cpu_limit: int, work: Path, timeout_s: float = 3000) -> dict:
    """Submit ``n`` episodes (each twice) and watch them to the end. Needs PREFECT_API_URL and
    AWS_ENDPOINT_URL (or real AWS) in the environment."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter
    from prefect.client.schemas.filters import FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    bucket = "load-bench"
    setup(cpu_limit, bucket)
    files = episodes(n, work / "episodes")
    settings = {"engine": {"engine": "whisperx-gpu"},
                "gpu": {"storage": f"s3://{bucket}/shared", "deployment": "gpu-transcribe/load",
                        "remote_engine": "faster-whisper", "wait": "suspend"},
                "audio": {"work_dir": str(work / "work")}, "output": {"out_dir": str(work / "out")}}
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_LOCAL_STORAGE_PATH": str(work / "results"),
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    workers = [subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", pool],
                                env=env, stdout=open(work / f"{pool}.log", "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True) for pool in ("load-cpu", "load-gpu")]
    peak = {"rss": 0, "gpu": 0, "episodes": 0}
    stop = threading.Event()

    def watch() -> None:
        running = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING])))
        with get_client(sync_client=True) as client:
            while not stop.is_set():
                peak["rss"] = max(peak["rss"], tree_rss([w.pid for w in workers]))
                for key, name in (("gpu", "gpu-transcribe"), ("episodes", "transcribe-episode")):
                    now = client.read_flow_runs(flow_run_filter=running, deployment_filter=DeploymentFilter(
                        name=DeploymentFilterName(any_=["load"])))
                    peak[key] = max(peak[key], sum(1 for r in now if r.name and _flow(client, r) == name))
                stop.wait(0.5)

    flows: dict = {}

    def _flow(client, run) -> str:
        if run.flow_id not in flows:
            flows[run.flow_id] = client.read_flow(run.flow_id).name
        return flows[run.flow_id]

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        ids = []
        for copy in range(2):  # the second copy: the same episodes again, as a duplicate trigger would
            for path in files:
                run = run_deployment("transcribe-episode/load", parameters={"audio": str(path), "settings": settings},
                                     idempotency_key=f"load-{path.name}-{n}-{work.name}", timeout=0)
                ids.append(run.id)
        unique = list(dict.fromkeys(ids))
        deadline = time.monotonic() + timeout_s
        with get_client(sync_client=True) as client:
            while True:
                states = [client.read_flow_run(i).state for i in unique]
                if all(s.is_final() for s in states) or time.monotonic() > deadline:
                    break
                time.sleep(2)
        wall = time.perf_counter() - t0
    finally:
        stop.set()
        watcher.join(10)
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(60)
    outputs = sorted(p.name for p in (work / "out").iterdir() if not p.name.startswith(".")) if (work / "out").exists() else []
    return {
        "episodes": n, "submitted": len(ids), "flow_runs": len(unique),
        "completed": sum(s.is_completed() for s in states), "failed": sum(not s.is_completed() for s in states),
        "output_folders": len(outputs), "lost": n - len(outputs), "duplicated": len(unique) - n,
        "wall_s": round(wall, 1), "s_per_episode": round(wall / n, 2), "cpu_pool_limit": cpu_limit,
        "max_running_episode_runs": peak["episodes"], "max_running_gpu_jobs": peak["gpu"],
        "peak_rss_mib": round(peak["rss"] / 2**20), "failures": [s.message for s in states if not s.is_completed()],
    }


def baseline(work: Path) -> float:
    """The same episodes one after another in this process, CPU engine, no pools: the floor that
    the service's dispatching, suspending and resuming is measured against."""
    from podwhisperer.flows.transcribe import transcribe_episode
    from podwhisperer.settings import Settings

    settings = Settings.model_validate({"audio": {"work_dir": str(work / "baseline-work")},
                                        "output": {"out_dir": str(work / "baseline-out")}})
    t0 = time.perf_counter()
    for path in sorted((work / "episodes").glob("*.mp3")):
        transcribe_episode(str(path), settings=settings)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--cpu-limit", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podwhisperer-load-"))
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(work / "bench-results")  # nothing cached from earlier runs
    procs = []
    if "PREFECT_API_URL" not in os.environ:
        port = free_port()
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        procs.append(subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                       "--port", str(port)], env=env, stdout=open(work / "server.log", "wb"),
                                      stderr=subprocess.STDOUT, start_new_session=True))
        os.environ.update(PREFECT_API_URL=f"http://127.0.0.1:{port}/api", PREFECT_HOME=env["PREFECT_HOME"])
        import httpx

        for _ in range(180):
            try:
                if httpx.get(os.environ["PREFECT_API_URL"] + "/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
    if "AWS_ENDPOINT_URL" not in os.environ:
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)

        port = free_port()
        ThreadedMotoServer(ip_address="127.0.0.1", port=port).start()
        os.environ.update(AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    try:
        report = run(args.episodes, args.cpu_limit, work)
        report["baseline_sequential_in_process_s"] = round(baseline(work), 1)
        report["ratio_vs_baseline"] = round(report["wall_s"] / report["baseline_sequential_in_process_s"], 2)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(60)
    print(json.dumps(report, indent=2))
    print(f"\n{report['completed']}/{report['episodes']} completed, {report['lost']} lost, "
          f"{report['duplicated']} duplicated ({report['submitted']} submissions); {report['wall_s']} s "
          f"({report['s_per_episode']} s/episode); at most {report['max_running_gpu_jobs']} GPU job(s) and "
          f"{report['max_running_episode_runs']} episode runs at once (pool limits 1 and {report['cpu_pool_limit']}); "
          f"peak memory {report['peak_rss_mib']} MiB; the same episodes one by one in one process: "
          f"{report['baseline_sequential_in_process_s']} s (ratio {report['ratio_vs_baseline']}); "
          f"machine: {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
