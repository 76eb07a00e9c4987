"""Faults, with real processes and signals: `kill -9` of the app during an add, and a full disk during ingest.
Nothing committed is lost, the index checks clean, and the restarted app answers at once."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serving import ROOT, free_port

from fakes import FakeEncoder
from qa.ingest import ingest
from qa.stores import open_index
from qa.stores.check import check_index
from qa.types import Article

pytestmark = pytest.mark.slow

COMMITTED = [
    Article("volcano", "A volcano on the northern island erupted on Sunday night, sending ash five kilometres into the sky. "
            "About 2,000 residents of the nearby fishing village were evacuated by boat.", title="Volcano erupts"),
    Article("mayor", "Incumbent mayor Clara Osei won a second term with 58 percent of the vote. "
            "Turnout was the highest in two decades, officials said.", title="Mayor wins second term"),
]
BIG = " ".join(f"Paragraph {n} of the long council report says the harbour budget grew by {n} percent." for n in range(3000))


def _start_app(index: Path, port: int, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--index", str(index), "--demo", "none", "--port", str(port), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, start_new_session=True,
    )


def _client(url: str, app: subprocess.Popen[str], timeout: float = 180.0, auth: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    deadline = time.monotonic() + timeout
    while True:
        try:
            return Client(url, verbose=False, auth=auth)
        except Exception:
            if app.poll() is not None or time.monotonic() > deadline:
                if app.poll() is None:  # stopped first: reading the stderr of a running app waits forever
                    os.kill(app.pid, signal.SIGKILL)
                    app.wait(30)
                raise AssertionError(f"the app did not start: {app.stderr.read() if app.stderr else ''}") from None
            time.sleep(0.5)


def _indexer(pid: int) -> list[int]:
    """The app's indexing child processes (started from any of its threads)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _kill_group(app: subprocess.Popen[str]) -> None:
    os.killpg(app.pid, signal.SIGKILL)  # the app and its indexing child, as a crash or an OOM kill of the service would
    app.wait(30)


def test_kill_9_of_the_app_during_an_add_loses_nothing_committed_and_the_restarted_app_answers(tmp_path: Path, minilm) -> None:
    index = tmp_path / "index"
    ingest(COMMITTED, index, encoder=minilm)
    port = free_port()
    app = _start_app(index, port)
    try:
        client = _client(f"http://127.0.0.1:{port}/", app)
        job = client.submit("Council report", BIG, api_name="/add_text")  # encoding ~1,000 chunks takes a while
        deadline = time.monotonic() + 120
        while not _indexer(app.pid) and time.monotonic() < deadline:  # the indexing child has started
            time.sleep(0.1)
        assert _indexer(app.pid), "the add never started its indexing process"
        time.sleep(3.0)  # it is loading the model, chunking or encoding now
        _kill_group(app)
        del job
    finally:
        if app.poll() is None:
            _kill_group(app)

    report = check_index(index)
    assert report.ok, report.damaged
    reader = open_index(index).reader()
    ids = {a.id for a in reader.articles()}
    assert {"volcano", "mayor"} <= ids  # nothing committed is lost; the report is all or nothing
    assert reader.stats()["chunks"] == report.chunks

    port = free_port()
    app = _start_app(index, port)  # no recovery step: it serves the committed state at once
    try:
        client = _client(f"http://127.0.0.1:{port}/", app)
        answer = client.predict("How many residents were evacuated?", api_name="/ask")
        assert any(c["article_id"] == "volcano" for c in answer["citations"]), answer
        added = client.predict("Ferry", "The night ferry to the islands returned to service on Friday after repairs. "
                               "The crossing takes seven hours.", api_name="/add_text")
        assert "1 added" in added["status"], added  # the write lock of the killed writer is not left behind
    finally:
        _kill_group(app)


def _small_disk(tmp_path: Path) -> tuple[Path, object]:
    """A 2 MB tmpfs when this user may mount one, else None (the test then limits the writer's file size)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() == 0:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, timeout=30)
        if done.returncode == 0:
            return mount, lambda: subprocess.run(["umount", "-l", str(mount)], timeout=30)
    return mount, None


def _stats(index: Path) -> dict[str, object]:
    reader = open_index(index).reader()
    try:
        return reader.stats()
    finally:
        reader.close()


def test_a_full_disk_during_ingest_is_a_clear_error_and_the_previous_state_stays(tmp_path: Path) -> None:
    disk, unmount = _small_disk(tmp_path)
    try:
        index = disk / "index"
        ingest(COMMITTED, index, encoder=FakeEncoder())
        before = _stats(index)
        export = tmp_path / "export.jsonl"  # outside the small disk: only the index fills it
        with export.open("w") as f:
            for n in range(4000):
                f.write(json.dumps({"id": f"r{n}", "text": f"Report {n}: " + BIG[n % 500 : n % 500 + 600]}) + "\n")

        def limit() -> None:  # without a small disk: the writer may not grow any file past 1 MB
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing it
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, str(ROOT / "tests" / "fake_cli.py"), "ingest", str(export), "--index", str(index), "--quiet"],
                              capture_output=True, text=True, env=env, timeout=300, preexec_fn=None if unmount else limit)
        assert done.returncode == 1, done.stderr
        err = done.stderr.strip().splitlines()
        assert err and err[-1].startswith("qa: error:") and "Traceback" not in done.stderr
        assert "disk is full" in err[-1], err[-1]
        after = _stats(index)
        assert (after["articles"], after["chunks"], after["version"]) == (before["articles"], before["chunks"], before["version"])
        assert check_index(index).ok
    finally:
        if unmount:
            unmount()  # type: ignore[operator]
