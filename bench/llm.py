"""LLM step overhead besides model latency: chunking, prompts, the real OpenAI client, answer
validation, guardrails and timing-keeping reconciliation, on a synthetic 3-hour, 30,000-word
transcript, against a local server that answers at once (it corrects one word in every tenth line
and names the speakers). The server's own time is measured and subtracted.

    .venv/bin/python bench/llm.py            # goal: under 1 s
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from captions import synthetic

from podwhisperer.llm import refine
from podwhisperer.providers import OpenAICompatible

server_seconds = 0.0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        global server_seconds
        t0 = time.perf_counter()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        updates, speakers = [], set()
        for idx, speaker, text in re.findall(r"^\[(\d+)\] \[(\w+)\] (.*)$", user, re.M):
            speakers.add(speaker)
            if int(idx) % 10 == 0:
                words = text.split()
                words[len(words) // 2] = words[len(words) // 2].upper()
                updates.append({"idx": int(idx), "text": " ".join(words)})
        names = {s: {"SPEAKER_00": "Eoin", "SPEAKER_01": "Luciano"}.get(s, s) for s in speakers}
        answer = json.dumps({"identifiedSpeakers": names, "updates": updates})
        data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        server_seconds += time.perf_counter() - t0

    def log_message(self, *args):
        pass


def main() -> int:
    global server_seconds
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    provider = OpenAICompatible("instant", f"http://127.0.0.1:{server.server_address[1]}/v1", "local")
    big = synthetic(30_000)
    results = []
    for _ in range(3):
        server_seconds = 0.0
        t0 = time.perf_counter()
        out, report = refine(big, provider)
        results.append((time.perf_counter() - t0 - server_seconds, server_seconds, report))
    overhead, served, report = min(results, key=lambda r: r[0])
    accepted = sum(d.accepted for d in report.decisions if d.kind == "line")
    print(f"{len(big.words)} words, {len(big.segments)} lines -> {report.chunks} chunks, {report.calls} calls; "
          f"{accepted} line edits accepted")
    print(f"LLM step overhead (best of 3, server time {served:.3f} s subtracted): {overhead:.3f} s (goal < 1 s)")
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
