"""The JSON API beside the UI (`/api` on the app's port), called with httpx against launched apps on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from answer_corpus import OTHERS, ZELENSKY, write_putin_page
from serving import ROOT, free_port

from qa.cli import main
from qa.ingest import ingest
from qa.reading.sources import read_sources

pytestmark = pytest.mark.slow
AUTH = ("ann", "s3cret")
NOTICE = ("The harbour office posted a notice on Monday. Berth 4 closes for dredging for nine days, and the ferries "
          "use the north pier meanwhile.")


class App:
    """`app.py` over an index on a free port of 127.0.0.1 (stderr to a file), stopped by its PID."""

    def __init__(self, index: Path, log: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.log = log
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
        with open(log, "w") as out:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--index", str(index), "--demo", "none",
                                             "--port", str(self.port), *args], stdout=out, stderr=subprocess.STDOUT,
                                            env=env, cwd=ROOT)
        deadline = time.monotonic() + 180
        while True:
            assert self.process.poll() is None, f"the app exited: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the app did not start: {log.read_text()[-3000:]}"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def index(tmp_path_factory, minilm) -> Path:
    root = tmp_path_factory.mktemp("api")
    ingest([*read_sources([str(write_putin_page(root))]), ZELENSKY, *OTHERS], root / "index", encoder=minilm)
    return root / "index"


@pytest.fixture(scope="module")
def app(index: Path, tmp_path_factory) -> Iterator[App]:
    served = App(index, tmp_path_factory.mktemp("api-log") / "app.log", "--auth", ":".join(AUTH))
    yield served
    served.stop()
    assert "Traceback" not in served.log.read_text(), served.log.read_text()[-3000:]  # no request broke the server


@pytest.fixture
def client(app: App) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.url, auth=AUTH, timeout=120) as c:
        yield c


def test_ask_returns_the_answer_json_of_qa_ask(client, index, capsys):
    got = client.post("/ask", json={"question": "What did Putin reject?", "k": 3})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert main(["--index", str(index), "ask", "What did Putin reject?", "-k", "3", "--json"]) == 0
    assert got.json() == json.loads(capsys.readouterr().out)  # the same Answer JSON, field for field
    assert got.json()["text"].startswith("President Vladimir Putin has rejected")
    assert "runner_up" in got.json()  # a close second candidate, when there is one, as qa ask marks it


def test_ask_takes_history_filters_k_and_mode(client):
    answer = client.post("/ask", json={"question": "Who won the Berlin marathon?", "mode": "bm25", "k": 2,
                                       "filters": {"sources": ["sport.example.de"], "since": "2024-09-01"}}).json()
    assert "Grace Wanjiru" in answer["text"] and {c["article_id"] for c in answer["citations"]} == {"berlin-marathon"}
    none = client.post("/ask", json={"question": "Who won the Berlin marathon?", "filters": {"until": "2024-09-01"}}).json()
    assert none["abstained"] and none["citations"] == []
    first = client.post("/ask", json={"question": "How many kilometres of bike lanes did Lyon approve?"}).json()
    follow = client.post("/ask", json={"question": "How much will it cost?", "history": [
        {"question": "How many kilometres of bike lanes did Lyon approve?", "answer": first["text"]}]}).json()
    assert "35 million euros" in follow["text"], follow


def test_search_returns_the_hits_of_qa_search(client):
    hits = client.post("/search", json={"query": "new frog species", "k": 2, "mode": "hybrid"}).json()
    assert hits[0]["article_id"] == "peru-frog" and {"score", "chunk_id", "text", "start", "end", "url"} <= set(hits[0])


def test_answers_stream_as_server_sent_events(client):
    with client.stream("POST", "/ask/stream", json={"question": "Who won the Berlin marathon?"}) as reply:
        assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
        events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
                  for block in reply.read().decode().strip().split("\n\n")]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) <= {"delta"} and kinds.count("delta") >= 1
    assert "".join(d["text"] for k, d in events if k == "delta") == events[-1][1]["text"]
    assert events[-1][1] == client.post("/ask", json={"question": "Who won the Berlin marathon?"}).json()


def test_logins_are_the_apps_users_by_basic_or_bearer_token(app):
    question = {"question": "Who won the Berlin marathon?"}
    for auth in (None, ("ann", "wrong"), ("bob", "s3cret")):
        refused = httpx.post(f"{app.url}/ask", json=question, auth=auth)
        assert refused.status_code == 401 and "login" in refused.json()["error"], refused.text
        assert refused.headers["www-authenticate"].startswith("Basic")
    token = httpx.post(f"{app.url}/token", auth=AUTH).json()
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    bearer = {"Authorization": f"Bearer {token['token']}"}
    assert httpx.post(f"{app.url}/ask", json=question, headers=bearer).status_code == 200
    assert httpx.get(f"{app.url}/stats", headers=bearer).json()["articles"] == 6
    forged = {"Authorization": f"Bearer {token['token'][:-4]}beef"}
    assert httpx.post(f"{app.url}/ask", json=question, headers=forged).status_code == 401
    assert httpx.post(f"{app.url}/token", headers=bearer).status_code == 200  # a token may renew itself
    docs = httpx.get(f"{app.url}/docs")  # the docs need no login: the page's "Authorize" takes either
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = httpx.get(f"{app.url}/openapi.json").json()
    assert {"/ask", "/ask/stream", "/search", "/articles", "/articles/{article_id}", "/stats", "/token"} <= set(spec["paths"])
    assert set(spec["components"]["securitySchemes"]) == {"HTTPBasic", "HTTPBearer"}


@pytest.mark.parametrize("method, path, body, status, says", [
    ("POST", "/ask", {"question": "  "}, 400, "the question is empty"),
    ("POST", "/ask", {"question": "x" * 20_000}, 400, "characters long"),
    ("POST", "/ask", {"question": "Who won?", "mode": "fuzzy"}, 400, "mode must be one of dense, bm25, hybrid"),
    ("POST", "/ask", {"question": "Who won?", "style": "poem"}, 400, "style must be one of"),
    ("POST", "/ask", {"question": "Who won?", "style": "written"}, 400, "need a language model"),
    ("POST", "/ask", {"question": "Who won?", "filters": {"since": "last week"}}, 400, "YYYY-MM-DD"),
    ("POST", "/ask", {"question": "Who won?", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
    ("POST", "/ask", {"k": 3}, 422, "question: Field required"),
    ("POST", "/ask", "{not json", 400, "not valid JSON"),
    ("POST", "/ask", b"question=Who+won", 415, "Content-Type: application/json"),
    ("POST", "/search", {"query": ""}, 400, "the query is empty"),
    ("POST", "/articles", {}, 400, "give `text` (and a `title`) or a `url`"),
    ("POST", "/articles", {"url": "http://127.0.0.1:1/story"}, 422, "loopback address"),
    ("POST", "/articles", {"text": "Skip to main content\nAdvertisement\n"}, 422, "only page clutter"),
    ("DELETE", "/articles/no-such-article", None, 404, "no article with the id or URL 'no-such-article'"),
    ("GET", "/nothing-here", None, 404, "no such route: GET /api/nothing-here"),
    ("GET", "/ask", None, 405, "GET is not allowed on /api/ask"),
])
def test_bad_requests_get_a_plain_json_error_and_a_4xx_code(client, method, path, body, status, says):
    if isinstance(body, (str, bytes)):
        content_type = "application/json" if isinstance(body, str) else "application/x-www-form-urlencoded"
        reply = client.request(method, path, content=body, headers={"Content-Type": content_type})
    else:
        reply = client.request(method, path, json=body)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json" and set(reply.json()) >= {"error"}
    assert says in reply.json()["error"] and "Traceback" not in reply.text, reply.json()


def test_articles_are_added_from_text_answered_and_removed(client):
    added = client.post("/articles", json={"title": "Harbour notice", "text": NOTICE})
    assert added.status_code == 200, added.text
    [article_id] = added.json()["added"]
    assert added.json()["index"]["articles"] == 7 and added.json()["failed"] == []
    again = client.post("/articles", json={"title": "Harbour notice", "text": NOTICE}).json()
    assert again["unchanged"] == [article_id] and again["added"] == []
    answer = client.post("/ask", json={"question": "How long does berth 4 close for dredging?"}).json()
    assert "nine days" in answer["text"] and answer["citations"][0]["article_id"] == article_id
    removed = client.delete(f"/articles/{article_id}")
    assert removed.status_code == 200 and removed.json()["index"]["articles"] == 6
    assert client.delete(f"/articles/{article_id}").status_code == 404
    gone = client.post("/ask", json={"question": "How long does berth 4 close for dredging?"}).json()
    assert all(c["article_id"] != article_id for c in gone["citations"])


def test_a_read_only_app_refuses_adds_and_removals_but_answers(index, tmp_path):
    app = App(index, tmp_path / "app.log", "--read-only")
    try:
        refused = httpx.post(f"{app.url}/articles", json={"title": "Harbour notice", "text": NOTICE})
        assert refused.status_code == 403 and "read-only" in refused.json()["error"]
        assert httpx.delete(f"{app.url}/articles/lyon-bikes").status_code == 403
        assert httpx.post(f"{app.url}/token").status_code == 404  # no users: no token to give
        answer = httpx.post(f"{app.url}/ask", json={"question": "Who won the Berlin marathon?"}, timeout=120)
        assert answer.status_code == 200 and "Grace Wanjiru" in answer.json()["text"]
        assert httpx.get(f"{app.url}/stats").json()["articles"] == 6
    finally:
        app.stop()
