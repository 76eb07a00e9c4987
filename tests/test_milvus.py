"""The Milvus backend as users run it: CLI commands on a milvus-lite file, two app processes on one server collection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from answer_corpus import OTHERS, ZELENSKY
from serving import ROOT, Lines, free_port, qa_process

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from milvus_server import LiteServer  # noqa: E402

from qa.ingest import ingest  # noqa: E402

pytestmark = pytest.mark.milvus

ORKNEY = ("Night ferry returns to the Orkney islands\n"
          "The night ferry between Aberdeen and the Orkney islands returned to service on Friday after a winter of repairs. "
          "The crossing takes seven hours and the ship carries up to six hundred passengers.\n")


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, str(ROOT / "tests" / "fake_cli.py"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_every_index_command_works_on_a_milvus_lite_file(tmp_path):
    index = f"milvus:{tmp_path / 'qa.db'}"
    (tmp_path / "orkney.txt").write_text(ORKNEY)
    (tmp_path / "other.txt").write_text("Budget approved\nThe council approved a budget for flood defences on Monday.\n")
    done = cli("--index", index, "ingest", str(tmp_path / "orkney.txt"), str(tmp_path / "other.txt"),
               "--model", "test/fake-hashing-encoder", "--quiet")
    assert done.returncode == 0 and "2 added" in done.stderr, done.stderr
    again = cli("--index", index, "ingest", str(tmp_path / "orkney.txt"), "--quiet")
    assert "1 unchanged" in again.stderr and "Traceback" not in again.stderr, again.stderr
    found = cli("--index", index, "search", "how long is the crossing to Orkney", "--mode", "bm25", "--json")
    assert found.returncode == 0 and "seven hours" in found.stdout, found.stderr
    listed = cli("--index", index, "list", "--json")
    assert listed.stdout.count('"id"') == 2
    stats = cli("--index", index, "stats", "--json")
    assert '"articles": 2' in stats.stdout and "milvus-lite" in stats.stdout
    [orkney] = [line for line in cli("--index", index, "list").stdout.splitlines() if "Orkney" in line]
    removed = cli("--index", index, "remove", orkney.split("\t")[0])
    assert removed.returncode == 0 and "removed 1" in removed.stderr
    assert '"articles": 1' in cli("--index", index, "stats", "--json").stdout
    refused = cli("--index", index, "ingest", str(tmp_path / "orkney.txt"), "--model", "other/model", "--quiet")
    assert refused.returncode != 0 and "other/model" in refused.stderr and "Traceback" not in refused.stderr
    bad = cli("--index", "milvus://127.0.0.1:1/qa", "stats")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "milvus://127.0.0.1:1/qa" in bad.stderr, bad.stderr


def _ask(port: int, question: str) -> dict:
    from gradio_client import Client

    return Client(f"http://127.0.0.1:{port}/", verbose=False).predict(question, api_name="/ask")


def _wait_up(port: int, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the app exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the app on port {port} did not start within {timeout} s")


def test_two_app_processes_on_one_collection_see_each_others_writes(tmp_path, minilm):
    server = LiteServer(tmp_path / "milvus")
    apps: list[subprocess.Popen] = []
    try:
        index = server.uri("news")
        ingest([ZELENSKY, *OTHERS], index, encoder=minilm)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        ports = [free_port(), free_port()]
        for port in ports:
            apps.append(subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--index", index, "--port", str(port),
                                          "--demo", "none"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True))
        logs = [Lines(a.stderr) for a in apps]
        for port, app in zip(ports, apps):
            _wait_up(port, app)
        (tmp_path / "orkney.txt").write_text(ORKNEY)
        writer = qa_process("--index", index, "ingest", str(tmp_path / "orkney.txt"), "--quiet")
        assert writer.wait(180) == 0, writer.stderr.read()  # type: ignore[union-attr]
        written = time.monotonic()
        question = "How long does the night ferry crossing to Orkney take?"
        seen = {}
        while len(seen) < 2 and time.monotonic() - written < 30:
            for port in ports:
                if port not in seen and any("seven hours" in c["excerpt"] for c in _ask(port, question)["citations"][:3]):
                    seen[port] = time.monotonic() - written
            time.sleep(0.3)
        assert len(seen) == 2, (seen, [log.lines[-5:] for log in logs])
        assert not (ROOT / "milvus:").exists()  # no side files under a folder named after the URI
    finally:
        for app in apps:
            if app.poll() is None:
                os.kill(app.pid, signal.SIGTERM)
                app.wait(30)
        server.stop()


def milvus23_folder() -> str | None:
    """Where PyPI `milvus==2.3.5` is installed: $QA_MILVUS23_PATH, or .venv/milvus-2.3.5 (`make install`)."""
    for folder in (os.environ.get("QA_MILVUS23_PATH"), ROOT / ".venv" / "milvus-2.3.5", Path(sys.prefix) / "milvus-2.3.5"):
        if folder and (Path(folder) / "milvus" / "__init__.py").is_file():
            return str(folder)
    return None


def loopback_namespace() -> list[str] | None:
    """`unshare -n` (root) or `unshare -rn` (a user namespace): a network with nothing but loopback, if allowed here."""
    import shutil

    if not shutil.which("unshare") or not shutil.which("ip"):
        return None
    for command in (["unshare", "-n"] if os.geteuid() == 0 else [], ["unshare", "-rn"]):
        if command and subprocess.run([*command, "ip", "link", "set", "lo", "up"], capture_output=True).returncode == 0:
            return command
    return None


def test_a_milvus_2_3_server_serves_dense_search_and_refuses_bm25_plainly(tmp_path):
    """The real Milvus 2.3.5 server (PyPI `milvus`), inside a loopback-only network namespace (it binds every interface): ~30 s."""
    if os.environ.get("QA_TEST_MILVUS23") == "0":
        pytest.skip("QA_TEST_MILVUS23=0")
    folder = milvus23_folder()
    if folder is None:
        pytest.skip("PyPI milvus==2.3.5 is not installed in .venv/milvus-2.3.5 (`make install` puts it there) "
                    "or at $QA_MILVUS23_PATH")
    namespace = loopback_namespace()
    if namespace is None:
        pytest.skip("no loopback-only network namespace here (needs `unshare` and `ip`, as root or with user "
                    "namespaces); the Milvus 2.3 server binds every interface, so it runs only inside one")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((folder, str(ROOT), str(ROOT / "tests")))}
    done = subprocess.run([*namespace, sys.executable, str(ROOT / "tests" / "milvus23_check.py"), str(tmp_path / "m")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stdout[-2000:] + done.stderr[-3000:]


OLD_COMMIT = "5fbcc3d"  # the last commit whose Milvus collections held raw text for the engine's own analyzer
BUILD_OLD = """
import sys
from fakes import register
from qa.ingest import ingest
from qa.types import Article
register()
articles = [Article("ferry", "The harbour ferry runs every hour. Tickets cost two euros.", title="Ferry timetable"),
            Article("cup", "The striker scored twice as the home side won the cup final.", title="Cup final"),
            Article("flood", "Flood water closed the harbour road. The ferry was cancelled.", title="Flood closes road")]
from fakes import FakeEncoder
print(ingest(articles, sys.argv[1], encoder=FakeEncoder()).summary())
"""


@pytest.fixture(params=["file", "milvus-2.5"])
def old_index(request, tmp_path):
    """An index written by the code of OLD_COMMIT (`git archive`): a milvus-lite file, or on the Milvus 2.5 engine."""
    old = tmp_path / "old-code"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "qa"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"commit {OLD_COMMIT} is not in this checkout's history ({archive.stderr.decode().strip()})")
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    server = None
    if request.param == "file":
        uri = f"milvus:{tmp_path / 'old.db'}"
    else:
        from milvus_server import Lite25Server, lite25_folder

        folder = lite25_folder()
        if folder is None:
            pytest.skip("milvus-lite 2.5.1 is not installed in .venv/milvus-lite-2.5.1 (`make install` puts it there)")
        server = Lite25Server(tmp_path / "m25", folder)
        uri = server.uri("old")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(old), str(ROOT / "tests"))), "HF_HUB_OFFLINE": "1"}
    built = subprocess.run([sys.executable, "-c", BUILD_OLD, uri], capture_output=True, text=True, env=env, cwd=old, timeout=180)
    assert built.returncode == 0 and "3 added" in built.stdout, built.stderr[-2000:]
    yield uri
    if server is not None:
        server.stop()


def test_an_index_built_before_keeps_working_and_qa_migrate_reanalyses_it(old_index, caplog, capsys):
    """(`qa migrate` runs in this process: a milvus-lite file is open in one process at a time.)"""
    from fakes import register

    from qa.cli import main
    from qa.retrieval import Retriever
    from qa.stores import open_index

    register()
    index = open_index(old_index)
    before = Retriever.load(old_index)
    dense = [(h.article_id, h.text) for h in before.search("harbour ferry", 3, mode="dense")]
    assert [h.article_id for h in before.search("harbour ferry cancelled", 3, mode="bm25")][:1] == ["flood"]  # it works
    assert "qa migrate --index" in before.stats()["keyword_search"]
    if "milvus-lite" in before.stats()["store"]:  # milvus-lite 3's own analysis does not stem
        assert before.search("ticket costs", 3, mode="bm25") == []
    assert any("qa migrate --index" in r.getMessage() for r in caplog.records)  # said once, with what to run
    assert main(["--index", old_index, "migrate"]) == 0
    assert "migrated" in capsys.readouterr().err and any("re-analysing" in r.getMessage() for r in caplog.records)
    after = Retriever.load(old_index)
    assert after.stats()["keyword_search"].startswith("milvus BM25 over qa's own tokens")
    assert after.stats()["chunks"] == before.stats()["chunks"] and len(after.articles()) == 3
    assert [(h.article_id, h.text) for h in after.search("harbour ferry", 3, mode="dense")] == dense  # vectors kept
    assert [h.article_id for h in after.search("ticket costs", 3, mode="bm25")] == ["ferry"]  # "ticket" meets "Tickets"
    assert [a for a, _ in after.reader.search_articles("scoring strikers", 3)] == ["cup"]
    assert main(["--index", old_index, "migrate"]) == 0
    assert "already in the current format" in capsys.readouterr().err
    assert index.own_keywords()
