"""A real llama.cpp server (xllamacpp's) on 127.0.0.1 for the tests, in its own process, stopped by its PID."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEST_KEY = "test-key-7f3a"  # the key the tests' server accepts


@contextmanager
def llm_server(model: Path, *, api_key: str = "", context: int = 2048, timeout: float = 120.0) -> Iterator[str]:
    """Serve `model` on a free loopback port; yields its base URL (http://127.0.0.1:PORT) until the block ends."""
    cmd = [sys.executable, __file__, str(model), "--context", str(context)]
    if api_key:
        cmd += ["--api-key", api_key]
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a chatty server never blocks on it
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            line = _readline(proc, timeout)
            if not line:
                _stop(proc)
                log.seek(0)
                raise RuntimeError(f"the test LLM server did not start (exit {proc.returncode}): {log.read()[-2000:]}")
            yield json.loads(line)["url"]
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM by PID, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    """The server's first stdout line (its address), or "" when it exits or `timeout` passes first."""
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].strip() if out else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--api-key", default="")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.n_ctx = args.context
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = args.threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # the system picks a free port; we print which
    params.api_keys = [args.api_key] if args.api_key else []
    params.cache_prompt = False  # every request reads its prompt afresh: greedy replies repeat exactly
    params.verbosity = 0
    params.ui = False
    server = xlc.Server(params)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"url": server.listening_address}), flush=True)
    stop.wait()
    del server


if __name__ == "__main__":
    main()
