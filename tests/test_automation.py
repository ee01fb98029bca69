"""deployments/automations.py on a real server: a failure event makes the automation send its
notification (a custom webhook block aimed at a local receiver)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from podwhisperer.events import failure_event, to_prefect

from .conftest import load_script

pytestmark = [pytest.mark.e2e]


def receiver():
    posts: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.posts = posts
    return server


def test_a_failed_episode_notifies_through_the_example_automation(prefect_server):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    automations = load_script("deployments/automations.py")

    hook = receiver()
    try:
        CustomWebhookNotificationBlock(
            name="ops", url=f"http://127.0.0.1:{hook.server_address[1]}/notify",
            json_data={"text": "{{subject}}\n{{body}}"}).save("podcast-ops", overwrite=True)
        automations.install(f"{CustomWebhookNotificationBlock.get_block_type_slug()}/podcast-ops")
        deadline = time.monotonic() + 120
        for attempt in range(1000):  # the triggers service loads new automations on its own clock
            now = datetime.now(timezone.utc)
            to_prefect(failure_event("s3://pods/input/ep9.mp3", "transcribe", "CUDA out of memory", f"run-{attempt}",
                                     now, now))
            for _ in range(10):
                if hook.posts or time.monotonic() > deadline:
                    break
                time.sleep(1)
            if hook.posts or time.monotonic() > deadline:
                break
        post = hook.posts[0]
        assert "failed in step transcribe" in post["text"]
        assert "Input: input/ep9.mp3" in post["text"] and "Error: CUDA out of memory" in post["text"]
    finally:
        hook.shutdown()
