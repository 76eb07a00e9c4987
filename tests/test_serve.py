"""Serving under real use: asks from threads during ingests, another process's writes, two writers at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from answer_corpus import ANSWERABLE, OTHERS, ZELENSKY
from serving import FeedServer, Lines, free_port, qa_process

from qa.app.service import Service
from qa.app.ui import add_articles, build_ui, queue
from qa.ingest import ingest
from qa.types import Article

QUESTIONS = [(q, phrase) for q, phrase, article in ANSWERABLE if article != "putin"]
OBSERVATORY = Article(
    id="observatory", title="Desert observatory opens its largest telescope", published="2025-01-20", source="sky.example.org",
    text=(
        "The Atacama desert observatory opened its largest telescope on Monday, a mirror eleven metres wide.\n"
        "Astronomers will use it to search for planets around the nearest stars.\n"
        "The telescope took nine years to build and cost 400 million dollars."
    ),
)
FERRY = ("Night ferry returns to the Orkney islands", (
    "The night ferry between Aberdeen and the Orkney islands returned to service on Friday after a winter of repairs. "
    "The crossing takes seven hours and the ship carries up to six hundred passengers and one hundred cars. "
    "Islanders had campaigned for the service for months, saying the day boats were often full in summer."
))
HARBOUR = (
    "Harbour museum opens a lighthouse gallery\n"
    "The Westport harbour museum opened a new gallery devoted to lighthouse keepers on Saturday.\n"
    "The gallery displays the original brass lens of the Carrig Point lighthouse, built in 1872.\n"
)


def found(answer: dict, phrase: str) -> bool:
    """The app served the passage that holds the phrase: as the answer, or as the first source shown
    (whether the calibrated answerer quotes it on a tiny corpus is the answerer's tests' business)."""
    shown = [answer["text"]] if not answer["abstained"] else []
    return any(phrase in text for text in shown + [c["excerpt"] for c in answer["citations"][:1]])


def answered(answer: dict | object, phrase: str) -> bool:
    text, abstained = (answer["text"], answer["abstained"]) if isinstance(answer, dict) else (answer.text, answer.abstained)  # type: ignore[attr-defined]
    return not abstained and phrase in text


def test_asks_from_threads_go_on_during_an_in_app_ingest_and_the_new_state_swaps_in_whole(tmp_path, fake_encoder):
    index = tmp_path / "index"
    ingest([ZELENSKY, *OTHERS], index, encoder=fake_encoder)
    service = Service(index, encoder=fake_encoder, warm=False, refresh_every=0)
    before = service.state()
    inside, go_on, result = threading.Event(), threading.Event(), []

    def hold(done: int) -> None:  # the ingest has stored the article and not committed yet
        inside.set()
        go_on.wait(60)

    adder = threading.Thread(target=lambda: result.append(service.add([OBSERVATORY], on_article=hold)))
    adder.start()
    assert inside.wait(30)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda qp: service.ask(qp[0], threshold=0.0), QUESTIONS * 3))
    assert adder.is_alive(), "every ask was answered while the ingest was still open"
    assert all(answered(a, phrase) for a, (_, phrase) in zip(answers, QUESTIONS * 3))
    go_on.set()
    adder.join(60)
    assert result and result[0].startswith("1 added")
    after = service.state()
    assert after is not before and after.version > before.version and after.articles == before.articles + 1
    assert answered(service.ask("How wide is the mirror of the Atacama telescope?", threshold=0.0), "eleven metres")
    # a request that started before the swap finishes on its own state: the old one still answers, without the new article
    old = before.answerer.ask("How wide is the mirror of the Atacama telescope?")
    assert all(c.article_id != "observatory" for c in old.citations)
    assert service.stats() == f"**{before.articles + 1} articles**, {after.chunks} passages indexed"


@pytest.fixture
def app(tmp_path, minilm):
    """The real app over a small MiniLM index, launched on a free local port; yields (url, service, index).

    Its adds run in a child process whatever their size, as big adds do in the app."""
    index = tmp_path / "index"
    ingest([ZELENSKY, *OTHERS], index, encoder=minilm)
    service = Service(index, warm=False, in_child_above=0)
    demo = queue(build_ui(service))
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/", service, index
    demo.close()
    service.close()


def test_app_answers_during_two_writers_and_sees_another_process_article_without_restart(app, tmp_path):
    from gradio_client import Client

    url, service, index = app
    server = FeedServer()
    server.feeds["/ferry.xml"] = [FERRY]
    server.hold("/ferry.xml")  # `qa ingest` takes the write lock, then waits here for its feed
    writer = qa_process("--index", str(index), "ingest", server.url("/ferry.xml"), "--quiet")
    err = Lines(writer.stderr)
    statuses: list[str] = []
    added: list[tuple[str, str]] = []
    adder = threading.Thread(target=lambda: added.append(add_articles(
        service, None, "", "Harbour museum", HARBOUR, lambda *a, desc="", **k: statuses.append(desc))))
    try:
        assert server.requested.wait(120), err.lines
        adder.start()  # the UI's "Add articles" while the other process holds the lock
        client = Client(url, verbose=False)
        jobs = [(client.submit(q, api_name="/ask"), phrase) for q, phrase in QUESTIONS * 2]
        results = [(job.result(timeout=60), phrase) for job, phrase in jobs]
        assert writer.poll() is None and adder.is_alive(), "the asks did not wait for either writer"
        assert all(found(r, phrase) for r, phrase in results) and all(r["error"] == "" for r, _ in results)
        deadline = time.monotonic() + 60  # the add's child process starts, then finds the lock taken
        while not any("waiting for" in s for s in statuses) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("waiting for" in s for s in statuses), statuses  # the UI says it waits, and for whom
    finally:
        server.release()
        writer_rc = writer.wait(120)
        adder.join(120)
        server.close()
    assert writer_rc == 0 and "1 added" in err.text() and "Traceback" not in err.text()
    status, _ = added[0]
    assert status.startswith("1 added"), status  # both writers landed
    question = "How long does the night ferry crossing to Orkney take?"
    deadline = time.monotonic() + 30
    while not found(answer := client.predict(question, api_name="/ask"), "seven hours") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found(answer, "seven hours"), answer
    assert found(client.predict("What does the new harbour museum gallery display?", api_name="/ask"), "brass lens")
    assert service.stats().startswith(f"**{2 + len(OTHERS) + 1} articles**")
