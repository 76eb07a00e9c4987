"""Written answers in the app, used as a user would: the streaming endpoint through gradio_client, the `ask`
endpoint with style="written", the chat in headless Chromium (the text grows, [n] markers open their source
cards), and a model that fails while the app keeps answering in quotes. The model is a scripted
OpenAI-compatible server on loopback, so what it writes (and so what is checked) is known exactly."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from answer_corpus import OTHERS, ZELENSKY, write_putin_page

from qa.answerers.llm.http import OpenAICompatibleGenerator
from qa.app.render import MARKER_JS, SOURCES_CSS
from qa.app.ui import Service, api_answer, api_stream, build_ui, respond
from qa.app.ui_written import WrittenStyle
from qa.ingest import ingest
from qa.reading.sources import read_sources

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = "/usr/bin/chromium"
FAST = {"passages": 3, "passage_sentences": 1, "max_tokens": 48}
FROG = "What is the name of the new frog species?"
BERLIN = "Who won the Berlin marathon?"
SCRIPT = {
    "Berlin marathon": "Kenyan runner Grace Wanjiru won the Berlin marathon [1]. She broke away from the leading group "
                       "after thirty kilometres and finished alone.",
    "new frog species": "The frog is called Pristimantis aurantius and it sings at night in Lima [1].",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def service(tmp_path_factory, minilm):
    root = tmp_path_factory.mktemp("ui-written")
    putin = next(iter(read_sources([str(write_putin_page(root))])))
    ingest([putin, ZELENSKY, *OTHERS], root / "index", encoder=minilm)
    return Service(root / "index", encoder=minilm, refresh_every=0)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> WrittenStyle:
    from scripted_llm import scripted_server

    with scripted_server(SCRIPT, tmp_path_factory.mktemp("scripted"), delay=0.05) as url:
        with OpenAICompatibleGenerator(url) as generator:
            yield WrittenStyle(generator, **FAST)


@pytest.fixture(scope="module")
def app_url(service, written):
    demo = build_ui(service, written=written)
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=SOURCES_CSS, js=MARKER_JS)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_the_streaming_endpoint_gives_partial_text_then_the_answer(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    job = client.submit(BERLIN, 5, "hybrid", "", "", "", "", "written", api_name="/ask_stream")
    updates = list(job)
    partial = [u["text"] for u in updates if not u["done"]]
    assert len(partial) >= 5, updates  # the text as the model writes it, not one finished block
    assert all(b.startswith(a) for a, b in zip(partial, partial[1:]))  # it only grows
    final = updates[-1]
    assert final["done"] and final["error"] == "" and final["style"] == "written" and not final["fallback"]
    assert final["text"] == partial[-1] and final["text"].startswith("Kenyan runner Grace Wanjiru won the Berlin marathon.[")
    assert len(final["claims"]) == 2 and all(c["supported"] for c in final["claims"])
    markers = {c["marker"] for c in final["citations"]}
    assert {n for c in final["claims"] for n in c["markers"]} == markers
    for c in final["citations"]:
        assert c["article_id"] == "berlin-marathon" and c["excerpt"][c["answer_start"] : c["answer_end"]].startswith(("Kenyan", "She"))

    answer = client.predict(FROG, 5, "hybrid", "", "", "", "", "written", api_name="/ask")  # "sings at night in Lima"
    assert answer["error"] == "" and answer["fallback"] and answer["style"] == "quoted" and "Lima" not in answer["text"]
    assert "Pristimantis aurantius" in answer["text"] and "not supported" in answer["note"]
    assert answer["claims"][0]["supported"] is False
    quoted = client.predict(BERLIN, api_name="/ask")  # the default style is unchanged
    assert quoted["style"] == "quoted" and not quoted["fallback"] and quoted["text"].startswith("Kenyan runner")


def test_a_written_style_without_a_model_or_an_unknown_style_is_a_plain_error(service):
    no_model = api_answer(service, FROG, style="written")
    assert no_model["abstained"] and "--llm" in no_model["error"]
    bad = list(api_stream(service, FROG, style="poem"))
    assert len(bad) == 1 and bad[0]["done"] and "quoted, written" in bad[0]["error"] and "'poem'" in bad[0]["error"]


def test_when_the_model_fails_the_chat_still_answers_in_quotes(service):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        with OpenAICompatibleGenerator(dead, model="m", retries=0) as generator:
            broken = WrittenStyle(generator, **FAST)
            *_, (messages, _, turns, sources) = respond(service, FROG, [], [], 5, "hybrid", style="written", written=broken)
    reply = messages[-1]["content"]
    assert "Pristimantis" in reply and "cannot reach the model server" in reply and "quoted answer instead" in reply
    assert "Traceback" not in reply and "<mark>" in sources and len(turns) == 1


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")
def test_browser_written_answer_grows_and_its_markers_open_their_cards(app_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.locator("button.label-wrap", has_text="Settings").first.click()
        page.locator("#style label", has_text="written").click()
        page.locator("#question textarea").fill(BERLIN)
        page.locator("#question textarea").press("Enter")
        bot = page.locator("#chat .message.bot, #chat [data-testid='bot']").last
        expect(page.locator("#sources")).to_contain_text("Passages the model is reading", timeout=60_000)
        lengths: list[int] = []
        for _ in range(600):  # sample the reply as it streams, until its confidence line shows it is done
            text = bot.inner_text() if bot.count() else ""
            if not lengths or len(text) != lengths[-1]:
                lengths.append(len(text))
            if "confidence" in text:
                break
            page.wait_for_timeout(50)
        assert "confidence" in bot.inner_text()
        assert len([n for n in lengths if n > 1]) >= 3, lengths  # it grew while the model wrote
        links = page.locator("#chat a.qa-marker")
        assert links.count() == 2  # one [n] after each checked sentence, linked to its numbered card
        number = links.first.inner_text().strip("[]")
        expect(page.locator(f"#qa-source-{number} mark").first).to_contain_text("Kenyan runner Grace Wanjiru")
        links.first.click()
        expect(page.locator(f"#qa-source-{number}.qa-focus")).to_have_count(1, timeout=5_000)
        expect(page.locator("#chat")).not_to_contain_text("unsupported")
        browser.close()
