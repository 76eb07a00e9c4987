"""The store under several real processes: writers that wait for each other, SIGKILL at random moments,
readers in other processes that see writes, and files kept for the readers that use them."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fakes import FakeEncoder
from qa.stores import open_index

HERE = Path(__file__).resolve().parent
WORKER = [sys.executable, str(HERE / "store_worker.py")]
FAKE_QA = [sys.executable, str(HERE / "fake_cli.py")]
WORDS = "harbour ferry council budget striker volcano mayor island storm bridge market school river train".split()


def article(article_id: str, rng: random.Random, n: int = 3) -> dict:
    text = ". ".join(" ".join(rng.choice(WORDS) for _ in range(6)) + f" {article_id}x{rng.randrange(10**6)}" for _ in range(n))
    return {"id": article_id, "text": text + ".", "title": f"About {article_id}", "url": f"https://news.example/{article_id}"}


def start(role: str, index: Path, *args: str | Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([*WORKER, role, str(index), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def expect_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    """The next stdout line of a worker, which must start with prefix."""
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    line = result[0].strip() if result else ""
    assert line.startswith(prefix), (line, proc.poll(), proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
    return line


def write_plan(path: Path, steps: list[dict]) -> Path:
    path.write_text(json.dumps(steps))
    return path


def live_state(index: Path) -> dict[str, str]:
    """{article id: text} of the index, after checking that it is whole: rows, vectors and keywords agree."""
    reader = open_index(index).reader()
    articles = {a.id: a.text for a in reader.articles()}
    rows = list(reader.iter_chunks())
    assert reader.count() == len(rows) == reader.stats()["chunks"]
    assert {article_id for _, article_id, _, _ in rows} <= set(articles)
    if rows:
        ids = [cid for cid, *_ in rows]
        best = reader.search_dense(reader.vectors(ids), 1)
        assert all(found and found[0][1] == pytest.approx(1.0, abs=1e-4) for found in best)
        for cid, article_id, _, text in rows[:: max(1, len(rows) // 8)]:
            keyword = reader.search_keywords(text, 50)
            assert cid in [c for c, _ in keyword] and set(reader.chunk_articles([c for c, _ in keyword]).values()) <= set(articles)
    reader.close()
    return articles


def seed_index(tmp_path: Path, n: int = 4) -> tuple[Path, dict[str, str]]:
    rng = random.Random(0)
    index = tmp_path / "index"
    proc = start("writes", index, write_plan(tmp_path / "seed.json", [{"put": [article(f"a{i}", rng) for i in range(n)]}]))
    assert proc.wait(60) == 0, proc.stderr.read()  # type: ignore[union-attr]
    return index, live_state(index)


def test_a_stale_writer_waits_and_both_writes_land(tmp_path: Path):
    """The bug of the one-generation store: a writer that read the state before another committed."""
    index, before = seed_index(tmp_path)
    rng = random.Random(1)
    mine = [{"put": [article("from-a", rng), {**article("a0", rng), "text": "Writer A changed this."}]}]
    holder = start("hold", index, write_plan(tmp_path / "a.json", mine), tmp_path / "go")
    expect_line(holder, "holding")
    records = tmp_path / "b.jsonl"
    records.write_text(json.dumps({"id": "from-b", "text": "Writer B adds this article about the river.",
                                   "title": "River"}) + "\n" + json.dumps({"id": "a0", "text": "Writer B changed this."}) + "\n")
    second = subprocess.Popen([*FAKE_QA, "--index", str(index), "ingest", str(records), "--model",
                               FakeEncoder.name, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    assert second.poll() is None  # waiting for the lock, not failing
    (tmp_path / "go").touch()
    expect_line(holder, "committed")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "waiting for it to finish" in err and "Traceback" not in err
    after = live_state(index)
    assert set(after) == set(before) | {"from-a", "from-b"}
    assert after["a0"] == "Writer B changed this."  # the later writer's decision, made from the state after A


def test_two_writers_started_together_both_land(tmp_path: Path):
    index = tmp_path / "index"
    procs = []
    for round_ in range(3):
        batch = []
        for who in "xy":
            records = tmp_path / f"{who}{round_}.jsonl"
            records.write_text(json.dumps({"id": f"{who}{round_}", "text": f"Article {who} of round {round_} about the market."}) + "\n")
            batch.append(subprocess.Popen([*FAKE_QA, "--index", str(index), "ingest", str(records), "--model",
                                           FakeEncoder.name, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for proc in batch:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
        procs += batch
    assert set(live_state(index)) == {f"{w}{r}" for w in "xy" for r in range(3)}


def test_sigkill_at_random_moments_leaves_a_committed_state(tmp_path: Path):
    index, state = seed_index(tmp_path, n=6)
    rng = random.Random(42)
    duration = 0.0
    killed = completed = 0
    for round_ in range(30):
        steps, states = [], [dict(state)]
        for _ in range(3):  # three commits a round: an add, a replace, a remove each
            current = dict(states[-1])
            new = article(f"n{round_}-{len(steps)}", rng)
            changed = {**article(rng.choice(sorted(current)), rng), "title": "Changed"}
            gone = rng.choice(sorted(set(current) - {changed["id"]}))
            steps.append({"put": [new, changed], "remove": [gone]})
            current.update({new["id"]: new["text"], changed["id"]: changed["text"]})
            del current[gone]
            states.append(current)
        proc = start("writes", index, write_plan(tmp_path / f"plan{round_}.json", steps))
        expect_line(proc, "ready")
        began = time.monotonic()
        if round_ % 6 == 0:  # now and then, run to the end: it must reach the last state
            assert proc.wait(60) == 0, proc.stderr.read()  # type: ignore[union-attr]
            duration = max(duration, time.monotonic() - began)
            completed += 1
        else:
            time.sleep(rng.uniform(0, 0.7 * (duration or 0.5)))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            killed += proc.returncode == -signal.SIGKILL
        proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr]
        found = live_state(index)
        matches = [i for i, s in enumerate(states) if s == found]
        assert matches, f"round {round_}: the index holds a state that was never committed"
        if round_ % 6 == 0:
            assert matches == [3]
        state = found
    assert killed >= 12 and completed == 5  # (a writer may finish before its signal)
    open_index(index).optimize()  # leftovers of the killed writers are collected
    segments = {p.name for p in (index / "segments").iterdir()}
    assert len(segments) == 1 and live_state(index) == state


def test_a_reader_in_another_process_sees_a_write(tmp_path: Path):
    index, _ = seed_index(tmp_path)
    watcher = start("watch", index, "quokka")
    expect_line(watcher, "ready")
    time.sleep(0.3)
    proc = start("writes", index, write_plan(tmp_path / "q.json", [{"put": [{"id": "q", "text": "A quokka on the ferry."}]}]))
    assert proc.wait(60) == 0
    seen = expect_line(watcher, "seen", timeout=20)
    assert float(seen.split()[1]) < 20
    watcher.wait(10)


def test_files_of_a_live_reader_survive_merges_and_the_readers_lock_holds_deletion(tmp_path: Path):
    index, _ = seed_index(tmp_path)
    rng = random.Random(3)
    for i in range(3):  # more segments, then remove one article: the merge will drop it
        proc = start("writes", index, write_plan(tmp_path / f"w{i}.json", [{"put": [article(f"b{i}", rng)]}]))
        assert proc.wait(60) == 0
    pinned = start("pin", index, "b1", tmp_path / "go")
    expect_line(pinned, "ready")
    store = open_index(index)
    with store.writer() as w:
        w.remove("b1")
    old = {p.name for p in (index / "segments").iterdir()}
    locker = start("lock-readers", index, tmp_path / "unlock")
    expect_line(locker, "ready")
    merged = threading.Thread(target=store.optimize)
    merged.start()
    time.sleep(1.0)
    assert old <= {p.name for p in (index / "segments").iterdir()}  # a reader is opening files: nothing deleted
    (tmp_path / "unlock").touch()
    merged.join(30)
    assert not merged.is_alive() and not old & {p.name for p in (index / "segments").iterdir()}
    (tmp_path / "go").touch()
    result = json.loads(expect_line(pinned, "{"))
    assert "b1" in result["before"]  # the pinned snapshot still reads its (deleted) files
    assert "b1" not in result["after"] and result["segments"][1] == 1
    assert locker.wait(10) == 0 and pinned.wait(10) == 0
