"""The chat UI end to end: a launched app on 127.0.0.1, through gradio_client and headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
from pathlib import Path

import pytest
from answer_corpus import OTHERS, ZELENSKY, write_putin_page

from qa.app.ui import NO_INDEX, Service, build_ui, respond
from qa.ingest import ingest
from qa.reading.sources import read_sources
from qa.types import Article

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = "/usr/bin/chromium"
SCRIPT_ARTICLE = Article(
    id="defaced-site",
    title="Springfield council website defaced",
    published="2025-01-10",
    source="local.example.com",
    url="https://local.example.com/defaced",
    text=(
        "Officials in Springfield said the council website was defaced with the code <script>alert(1)</script> on Friday.\n"
        "The site was taken offline for six hours while engineers removed the injected code."
    ),
)
UPLOADED = """Harbour museum opens a lighthouse gallery
The Westport harbour museum opened a new gallery devoted to lighthouse keepers on Saturday.
The gallery displays the original brass lens of the Carrig Point lighthouse, built in 1872.
Entry is free for children under twelve during the first month.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, minilm):
    """The real app over a small index of test-written articles, served on a free local port."""
    root = tmp_path_factory.mktemp("ui")
    putin = next(iter(read_sources([str(write_putin_page(root))])))
    ingest([putin, ZELENSKY, SCRIPT_ARTICLE, *OTHERS], root / "index", encoder=minilm)
    service = Service(root / "index")
    demo = build_ui(service)
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_named_api_endpoint_returns_the_answer_and_sources_as_json(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    result = client.predict("What did Putin reject?", api_name="/ask")
    assert result["abstained"] is False
    assert "rejected an immediate and full ceasefire" in result["text"]
    first = result["citations"][0]
    assert first["excerpt"][first["answer_start"] : first["answer_end"]] == result["text"]
    assert client.predict("Who won the Berlin marathon?", 3, "dense", api_name="/ask")["text"].startswith("Kenyan runner")
    empty = client.predict("", api_name="/ask")
    assert empty["abstained"] and "empty" in empty["error"]
    huge = client.predict("why" * 3334, api_name="/ask")
    assert "10,002 characters" in huge["error"] and "at most 1,000" in huge["error"]


def test_api_and_chat_filters_restrict_the_sources(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    only_local = client.predict("What did Putin reject?", 5, "hybrid", "local.example.com", "", "", api_name="/ask")
    assert {c["article_id"] for c in only_local["citations"]} == {"defaced-site"}
    assert "ceasefire" not in only_local["text"]
    future = client.predict("What did Putin reject?", 5, "hybrid", "", "2100-01-01", "", api_name="/ask")
    assert future["abstained"] and future["citations"] == [] and "match the filters" in future["text"]
    bad = client.predict("What did Putin reject?", 5, "hybrid", "", "last March", "", api_name="/ask")
    assert "ISO date" in bad["error"] and "'last March'" in bad["error"]
    one = client.predict("What did Putin reject?", 5, "hybrid", "", "", "", "https://local.example.com/defaced", api_name="/ask")
    assert {c["article_id"] for c in one["citations"]} == {"defaced-site"}


def test_empty_index_long_and_empty_questions_are_clear_chat_messages(tmp_path):
    service = Service(tmp_path / "no-index-yet", warm=False)
    *_, (messages, _, turns, sources) = respond(service, "What did Putin reject?", [], [], 5, "hybrid")
    assert messages[-1]["content"].startswith("No articles are indexed yet") and NO_INDEX[:20] in sources
    *_, (messages, _, _, _) = respond(service, "", [], [], 5, "hybrid")
    assert "empty" in messages[-1]["content"] and turns == []
    *_, (messages, _, _, _) = respond(service, "x" * 10_000, [], [], 5, "hybrid")
    assert "10,000 characters" in messages[-1]["content"] and "Traceback" not in messages[-1]["content"]


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")
def test_browser_ask_upload_and_escaping(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    article_file = tmp_path / "harbour-museum.txt"
    article_file.write_text(UPLOADED, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(app_url)

        def ask(question: str) -> None:
            page.locator("#question textarea").fill(question)
            page.locator("#question textarea").press("Enter")

        ask("What did Putin reject?")
        mark = page.locator("#sources mark").first
        expect(mark).to_contain_text("rejected an immediate and full ceasefire", timeout=60_000)
        expect(page.locator("#chat")).to_contain_text("rejected an immediate and full ceasefire")
        expect(page.locator("#sources")).not_to_contain_text("Audio By Carbonatix")
        page.screenshot(path=str(tmp_path / "answer.png"))
        if os.environ.get("QA_SCREENSHOT"):
            shutil.copy(tmp_path / "answer.png", os.environ["QA_SCREENSHOT"])

        ask("What did Zelensky say about it?")  # a follow-up in the same conversation: his reaction, answered or nearest
        replied = re.compile(r"What did Zelensky say about it\?[\s\S]*(Zelensky|couldn't find)")
        expect(page.locator("#chat")).to_contain_text(replied, timeout=60_000)
        expect(page.locator("#sources")).to_contain_text("Zelensky said", timeout=60_000)

        ask("What code was the Springfield council website defaced with?")
        expect(page.locator("#sources mark").first).to_contain_text("<script>alert(1)</script>", timeout=60_000)
        assert page.locator("#sources script").count() == 0 and page.locator("#chat script").count() == 0
        expect(page.locator("#chat")).to_contain_text("<script>alert(1)</script>")

        page.get_by_text("Add articles").first.click()
        page.locator("#upload input[type=file]").set_input_files(str(article_file))
        page.locator("#add").click()
        expect(page.locator("#add-status")).to_contain_text("1 added", timeout=120_000)
        expect(page.locator("#stats")).to_contain_text("8 articles")
        ask("What does the new gallery at the Westport harbour museum display?")
        # the uploaded article answers: its gallery sentence, or the lede about the gallery (a near tie for the reader)
        expect(page.locator("#sources mark").first).to_contain_text(re.compile("brass lens|new gallery devoted"), timeout=60_000)

        ask("")
        expect(page.locator("#chat")).to_contain_text("the question is empty", timeout=30_000)
        assert dialogs == [], "no script from an article may run"
        browser.close()


def test_pasted_text_makes_an_empty_index_answerable_at_once(tmp_path):
    from qa.app.ui import add_articles

    service = Service(tmp_path / "index", warm=False)
    assert service.stats() == "**0 articles** indexed"
    status, stats = add_articles(service, None, "", "Harbour museum", UPLOADED, None)
    assert status.startswith("1 added") and stats.startswith("**1 article**, 1 passage")
    answer = service.ask("Which lighthouse's lens does the museum's new gallery display?")
    assert not answer.abstained and "brass lens" in answer.text
    assert answer.citations and answer.citations[0].title == "Harbour museum"
    assert add_articles(service, None, " ", "", "", None)[0].startswith("Nothing to add")
    status, _ = add_articles(service, [str(tmp_path / "missing.txt")], "", "", "", None)
    assert "failed: " in status and "missing.txt" in status
    assert "only page clutter" in add_articles(service, None, "", "", "Skip to main content\nAdvertisement\n", None)[0]


def test_a_pasted_page_is_cleaned_and_keeps_its_headline_date_and_byline(tmp_path):
    from qa.app.ui import add_articles

    service = Service(tmp_path / "index", warm=False)
    page = "\n".join([
        "Skip to main content", "World", "Business",
        "Night train returns between Paris and Berlin", "By Marie Dupont", "December 10, 2024 6:02 AM GMT",
        "Item 1 of 3 A sleeper carriage at Berlin Hauptbahnhof. REUTERS/Jan Weber",
        "A direct night train between Paris and Berlin began running again on Monday after a nine-year pause.",
        "The service runs three times a week and the journey takes about fifteen hours.",
        "Read Next", "Oil steadies as traders weigh output plans", "3 hours ago",
    ])
    assert add_articles(service, None, "", "", page, None)[0].startswith("1 added")
    answer = service.ask("How long does the Paris Berlin night train take?")
    shown = [answer.text] + ([answer.runner_up.text] if answer.runner_up else [])
    assert any("fifteen hours" in s for s in shown), shown  # the answer, or the marked runner-up (a near tie: docs/answers.md)
    cited = answer.citations[0]
    assert (cited.title, cited.published) == ("Night train returns between Paris and Berlin", "2024-12-10")
    assert "REUTERS" not in cited.excerpt and "Marie Dupont" not in cited.excerpt
