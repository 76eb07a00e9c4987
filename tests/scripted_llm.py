"""A scripted OpenAI-compatible server on 127.0.0.1 for the tests: it streams fixed replies word by word over
server-sent events, so a written answer's checks can be tested on exactly the text a model could write. It runs
in its own process and is stopped by its PID."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

NOT_COVERED = "The articles don't say."


@contextmanager
def scripted_server(replies: dict[str, str], tmp: Path, *, delay: float = 0.02) -> Iterator[str]:
    """Serve `replies` (a question's words -> the reply to stream when the prompt's last message holds them;
    otherwise "The articles don't say."); yields the base URL (http://127.0.0.1:PORT/v1)."""
    script = tmp / "replies.json"
    script.write_text(json.dumps(replies), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, __file__, str(script), "--delay", str(delay)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            raise RuntimeError(f"the scripted LLM server did not start (exit {proc.wait()})")
        yield json.loads(line)["url"]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("replies", type=Path)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between streamed words")
    args = parser.parse_args()
    replies: dict[str, str] = json.loads(args.replies.read_text(encoding="utf-8"))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet
            pass

        def _json(self, body: object, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            if self.path == "/v1/models":
                self._json({"data": [{"id": "scripted", "max_model_len": 4096}]})
            else:
                self._json({"error": {"message": "not found"}}, 404)

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path != "/v1/chat/completions":
                self._json({"error": {"message": "not found"}}, 404)
                return
            last = body["messages"][-1]["content"]
            reply = next((text for words, text in replies.items() if words in last), NOT_COVERED)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            pieces = reply.split(" ")
            for i, word in enumerate(pieces):
                chunk = {"choices": [{"index": 0, "delta": {"content": word if i == 0 else " " + word}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(args.delay)
            done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}/v1"}), flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass


if __name__ == "__main__":
    main()
