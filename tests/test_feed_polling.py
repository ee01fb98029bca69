"""Feed polling against a real server: a local feed server with ETag/Last-Modified, episodes started
as runs of a parked deployment (a pool nobody serves, so the runs are there to be counted)."""

from __future__ import annotations

import hashlib
import json
import threading
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from podwhisperer.feeds import episode_key
from podwhisperer.flows.poll_feeds import poll_feed, poll_feeds
from podwhisperer.settings import FeedSettings, Settings
from podwhisperer.tasks.feeds import state_variable

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def feed_server():
    """Serves ``feeds[path]`` with an ETag and Last-Modified; answers 304 to a matching
    If-None-Match; records every request's conditional headers."""
    feeds: dict[str, bytes] = {}
    seen: list[tuple[str, str | None, int]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = feeds.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                seen.append((self.path, None, 404))
                return
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            asked = self.headers.get("If-None-Match")
            status = 304 if asked == etag else 200
            seen.append((self.path, asked, status))
            self.send_response(status)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", format_datetime(T0, usegmt=True))
            self.send_header("Content-Length", "0" if status == 304 else str(len(body)))
            self.end_headers()
            if status == 200:
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.feeds, server.seen = feeds, seen
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def parked():
    """A deployment of the episode flow on a pool no worker serves: its runs wait to be counted."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="parked-pool", type="process"), overwrite=True)
        flow_id = client.create_flow_from_name("transcribe-episode")
        deployment_id = client.create_deployment(flow_id=flow_id, name="parked", work_pool_name="parked-pool",
                                                 entrypoint="flows/transcribe.py:transcribe_episode")
    return deployment_id


def runs_of(deployment_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))


def rss(items: list[tuple[int, str]], extra: str = "") -> bytes:
    """Episodes (number, title) dated one day apart, episode n on day n."""
    body = "".join(
        f"<item><title>{title}</title><guid>ep-{n}</guid>"
        f"<pubDate>{format_datetime(T0 + timedelta(days=n), usegmt=True)}</pubDate>"
        f'<enclosure url="https://cdn.example.com/{n}.mp3" type="audio/mpeg" length="1000"/></item>'
        for n, title in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Show</title>{body}{extra}</channel></rss>'.encode()


def settings_for(cap: int, backfill: bool = False) -> Settings:
    return Settings(feeds=FeedSettings(max_new_per_poll=cap, backfill=backfill,
                                       deployment="transcribe-episode/parked"))


def started(deployment_id, url: str) -> dict[str, int]:
    """guid -> how many runs carry that feed episode's key."""
    counts: dict[str, int] = {}
    for run in runs_of(deployment_id):
        for n in range(100):
            if run.idempotency_key == episode_key(url, f"ep-{n}"):
                counts[f"ep-{n}"] = counts.get(f"ep-{n}", 0) + 1
    return counts


def test_new_episodes_start_once_across_repeated_and_overlapping_polls(feed_server, parked):
    path = "/show-a.xml"
    url = feed_server.url + path
    feed_server.feeds[path] = rss([(n, f"Episode {n}") for n in range(1, 6)])

    poll_feed(url, settings_for(cap=2))  # first poll: the newest two, the rest is back catalogue
    assert started(parked, url) == {"ep-5": 1, "ep-4": 1}
    (run,) = [r for r in runs_of(parked) if r.idempotency_key == episode_key(url, "ep-5")]
    assert run.parameters == {"audio": "https://cdn.example.com/5.mp3", "title": "Episode 5"}

    poll_feed(url, settings_for(cap=2))  # nothing new: a conditional GET answered 304
    assert feed_server.seen[-1][0] == path and feed_server.seen[-1][1] and feed_server.seen[-1][2] == 304
    assert started(parked, url) == {"ep-5": 1, "ep-4": 1}

    # Three new episodes, then four polls at once: none is started twice. Whether ep-6 is left for
    # the next poll depends on timing: if every poll looked before any started one, each saw three
    # new episodes and took its cap of two.
    feed_server.feeds[path] = rss([(n, f"Episode {n}") for n in range(1, 9)])
    threads = [threading.Thread(target=poll_feed, args=(url, settings_for(cap=2))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = started(parked, url)
    assert set(counts.values()) == {1} and {"ep-8", "ep-7", "ep-5", "ep-4"} <= set(counts) <= {
        "ep-8", "ep-7", "ep-6", "ep-5", "ep-4"}
    poll_feed(url, settings_for(cap=2))  # the next poll: whatever was left
    counts = started(parked, url)
    assert counts.get("ep-3") is None and counts.get("ep-1") is None  # still the back catalogue
    assert counts == {"ep-8": 1, "ep-7": 1, "ep-6": 1, "ep-5": 1, "ep-4": 1}

    poll_feed(url, settings_for(cap=2, backfill=True))  # backfill: the back catalogue, newest first
    assert started(parked, url) == {**counts, "ep-3": 1, "ep-2": 1}
    poll_feed(url, settings_for(cap=2, backfill=True))
    assert started(parked, url) == {**counts, "ep-3": 1, "ep-2": 1, "ep-1": 1}


HOSTILE_ITEMS = (
    '<item><title>Notes only</title><guid>notes</guid></item>'
    '<item><title>PDF</title><guid>pdf</guid><enclosure url="https://cdn.example.com/x.pdf" type="application/pdf"/></item>'
    '<item><title>Huge</title><guid>huge</guid>'
    '<enclosure url="https://cdn.example.com/h.mp3" type="audio/mpeg" length="999999999999"/></item>'
    '<item><title>Local</title><guid>local</guid><enclosure url="file:///etc/passwd" type="audio/mpeg"/></item>')

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title></channel></rss>"""


def test_bad_items_are_reported_and_a_bad_feed_fails_only_its_own_poll(feed_server, parked):
    from prefect.artifacts import Artifact

    good, bomb, broken = (feed_server.url + p for p in ("/hostile.xml", "/bomb.xml", "/broken.xml"))
    feed_server.feeds["/hostile.xml"] = rss([(1, "../../etc/passwd <script>alert(1)</script> \u202e\U0001F600" * 20)],
                                            extra=HOSTILE_ITEMS)
    feed_server.feeds["/bomb.xml"] = BOMB
    feed_server.feeds["/broken.xml"] = b"<html><body>this is not a feed"
    state = poll_feeds([bomb, good, broken, feed_server.url + "/missing.xml"], settings_for(cap=5),
                       return_state=True)
    assert state.is_failed()  # after every feed had its poll
    assert started(parked, good) == {"ep-1": 1}  # the good item of the hostile feed still started
    table = Artifact.get("feed-" + state_variable(good).rsplit("_", 1)[1])
    outcomes = {row["episode"]: row["outcome"] for row in json.loads(table.data)}
    assert outcomes["Notes only"] == "skipped: no audio enclosure"
    assert outcomes["PDF"] == "skipped: no audio enclosure"
    assert "over the limit" in outcomes["Huge"] and "not http(s)" in outcomes["Local"]


def test_the_command_line_polls_once(feed_server, parked, capsys):
    from podwhisperer.cli import main

    url = feed_server.url + "/cli.xml"
    feed_server.feeds["/cli.xml"] = rss([(1, "First"), (2, "Second")])
    assert main(["feeds", url, "--max-new", "1", "--deployment", "transcribe-episode/parked"]) == 0
    assert "Second" in capsys.readouterr().out and started(parked, url) == {"ep-2": 1}
    assert main(["feeds", url, "--backfill", "--deployment", "transcribe-episode/parked"]) == 0
    assert started(parked, url) == {"ep-2": 1, "ep-1": 1}
    feed_server.feeds["/cli.xml"] = rss([(1, "First"), (2, "Second"), (3, "Third")])
    assert main(["feeds", url, "--deployment", "transcribe-episode/nowhere"]) == 2
    assert "prefect deploy --all" in capsys.readouterr().err
