"""`qa mcp` driven by the real MCP SDK client over stdio: list the tools, call each, bad arguments, a missing index."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("mcp")
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402

from answer_corpus import OTHERS, ZELENSKY  # noqa: E402
from qa.ingest import ingest  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.types import Article  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PUTIN = Article(
    id="putin-ceasefire", title="Putin rejects full ceasefire, agrees to pause energy strikes",
    url="https://news.example.org/putin-ceasefire", published="2025-03-18", source="news.example.org",
    text=("President Vladimir Putin has rejected an immediate and full ceasefire in Ukraine, agreeing only to halt "
          "attacks on energy infrastructure for thirty days.\nThe Kremlin said the decision followed a long telephone "
          "call between Putin and the American president on Tuesday.\nMoscow insisted that any wider truce would "
          "require an end to foreign military aid and intelligence sharing with Kyiv."),
)


@pytest.fixture(scope="module")
def index(tmp_path_factory, minilm) -> Path:
    path = tmp_path_factory.mktemp("mcp") / "index"
    ingest([PUTIN, ZELENSKY, *OTHERS], path, encoder=minilm)
    return path


def _server(*args: str) -> StdioServerParameters:
    """`python -m qa ARGS` from the repository root, as an assistant would launch it (stderr to a log file)."""
    env = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return StdioServerParameters(command=sys.executable, args=["-m", "qa", *args], env=env, cwd=str(ROOT))


async def _session(index: Path) -> dict:
    out: dict = {}
    async with Client(_server("--index", str(index), "mcp"), read_timeout_seconds=120) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        out["tools"] = tools
        out["search"] = await client.call_tool("search_articles", {"query": "What did Putin reject?", "k": 3})
        out["filtered"] = await client.call_tool(
            "search_articles", {"query": "ceasefire", "k": 5, "mode": "bm25", "since": "2025-03-19"})
        out["ask"] = await client.call_tool("ask_articles", {"question": "What did Putin reject?"})
        out["abstain"] = await client.call_tool("ask_articles", {"question": "How tall is the Eiffel Tower?"})
        out["list"] = await client.call_tool("list_articles", {"limit": 2})
        out["list_src"] = await client.call_tool("list_articles", {"source": "city.example.fr"})
        out["get"] = await client.call_tool("get_article", {"id": "https://news.example.org/putin-ceasefire"})
        out["window"] = await client.call_tool("get_article", {"id": "putin-ceasefire", "start": 10, "max_chars": 20})
        out["bad_k"] = await client.call_tool("search_articles", {"query": "ceasefire", "k": 0})
        out["bad_mode"] = await client.call_tool("search_articles", {"query": "ceasefire", "mode": "fuzzy"})
        out["bad_date"] = await client.call_tool("search_articles", {"query": "ceasefire", "since": "March 2025"})
        out["bad_range"] = await client.call_tool(
            "search_articles", {"query": "ceasefire", "since": "2025-04-01", "until": "2025-03-01"})
        out["empty_q"] = await client.call_tool("ask_articles", {"question": "   "})
        out["missing"] = await client.call_tool("get_article", {"id": "no-such-article"})
        out["after_errors"] = await client.call_tool("search_articles", {"query": "bike lanes Lyon", "k": 1})
    return out


@pytest.fixture(scope="module")
def session(index) -> dict:
    return asyncio.run(_session(index))


def test_tools_have_typed_documented_schemas(session):
    tools = session["tools"]
    assert set(tools) == {"search_articles", "ask_articles", "list_articles", "get_article"}
    search = tools["search_articles"]
    props = search.input_schema["properties"]
    assert set(props) == {"query", "k", "mode", "source", "since", "until"}
    assert search.input_schema["required"] == ["query"]
    assert props["k"]["type"] == "integer" and props["k"]["minimum"] == 1
    assert props["mode"]["enum"] == ["hybrid", "dense", "bm25"]
    assert all(p.get("description") for p in props.values())
    assert search.description and "passages" in search.description
    passage = search.output_schema["$defs"]["Passage"]["properties"]
    assert {"title", "url", "published", "start", "end", "text", "score"} <= set(passage)
    assert tools["get_article"].input_schema["required"] == ["id"]


def test_search_returns_passages_with_metadata_and_offsets(session, index, minilm):
    result = session["search"]
    assert not result.is_error
    passages = result.structured_content["passages"]
    expected = Retriever.load(index, encoder=minilm).search("What did Putin reject?", 3)
    assert [(p["article_id"], p["start"], p["end"]) for p in passages] == [(h.article_id, h.start, h.end) for h in expected]
    top = passages[0]
    assert top["article_id"] == "putin-ceasefire" and top["url"] == PUTIN.url and top["published"] == "2025-03-18"
    assert PUTIN.text[top["start"]:top["end"]] == top["text"]
    assert "rejected an immediate and full ceasefire" in result.content[0].text  # the text form carries it too


def test_search_filters_by_date_and_mode(session):
    passages = session["filtered"].structured_content["passages"]
    assert passages and all(p["published"] >= "2025-03-19" for p in passages)
    assert "zelensky-reaction" in {p["article_id"] for p in passages}


def test_ask_answers_with_citations_or_abstains(session):
    ask = session["ask"].structured_content
    assert not ask["abstained"] and "ceasefire" in ask["answer"]
    assert ask["style"] == "quoted" and ask["fallback"] is False
    cite = ask["citations"][0]
    assert cite["article_id"] == "putin-ceasefire" and cite["url"] == PUTIN.url
    assert "ceasefire" in cite["excerpt"][cite["answer_start"]:cite["answer_end"]]
    assert PUTIN.text[cite["excerpt_start"]:].startswith(cite["excerpt"])
    assert session["abstain"].structured_content["abstained"]


def test_list_and_get_articles(session):
    listing = session["list"].structured_content
    assert listing["total"] == 2 + len(OTHERS) and len(listing["articles"]) == 2
    assert listing["articles"][0]["id"] == "putin-ceasefire" and listing["articles"][0]["chars"] == len(PUTIN.text)
    assert [a["id"] for a in session["list_src"].structured_content["articles"]] == ["lyon-bikes"]
    article = session["get"].structured_content
    assert article["id"] == "putin-ceasefire" and article["text"] == PUTIN.text and not article["truncated"]
    window = session["window"].structured_content
    assert window["text"] == PUTIN.text[10:30] and window["truncated"] and window["length"] == len(PUTIN.text)


@pytest.mark.parametrize("call, words", [
    ("bad_k", ["k", "greater than or equal to 1"]),
    ("bad_mode", ["mode", "hybrid"]),
    ("bad_date", ["since", "pattern"]),
    ("bad_range", ["since", "after until"]),
    ("empty_q", ["question"]),
    ("missing", ["no-such-article", "list_articles"]),
])
def test_bad_arguments_are_tool_errors_that_say_what_is_wrong(session, call, words):
    result = session[call]
    assert result.is_error
    message = result.content[0].text
    assert all(w in message for w in words), message


def test_server_keeps_serving_after_errors(session):
    assert session["after_errors"].structured_content["passages"][0]["article_id"] == "lyon-bikes"


def test_missing_index_fails_before_serving_with_a_clear_message(tmp_path):
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "qa", "--index", str(tmp_path / "none"), "mcp"], input="",
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "no index" in proc.stderr and "qa ingest" in proc.stderr


# -- the same tools over HTTP, from the chat app ---------------------------------------------------
FERRY = Article(id="ferry-strike", title="Ferry crews strike over pay", url="https://news.example.org/ferry",
                published="2025-04-02", source="news.example.org",
                text="Ferry crews on the island routes walked out on Wednesday in a dispute over pay.\n"
                     "The union said the strike would last forty-eight hours.")


async def _http_session(url: str, index: Path, minilm) -> dict:
    out: dict = {}
    async with Client(url, read_timeout_seconds=120) as client:
        out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
        out["ask"] = await client.call_tool("ask_articles", {"question": "What did Putin reject?"})
        out["bad"] = await client.call_tool("search_articles", {"query": "ceasefire", "k": 500})
        ingest([FERRY], index, encoder=minilm)  # another process's write: the app switches to it by itself
        for _ in range(40):
            found = await client.call_tool("search_articles", {"query": "ferry crews strike pay", "k": 1})
            if found.structured_content["passages"][0]["article_id"] == "ferry-strike":
                break
            await asyncio.sleep(0.5)
        out["after_write"] = found
    return out


def test_app_serves_the_same_tools_over_streamable_http(index, tmp_path, minilm):
    import shutil
    import socket
    import subprocess
    import time
    import urllib.request

    copy = tmp_path / "index"
    shutil.copytree(index, copy)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = tmp_path / "app.log"
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--index", str(copy), "--demo", "none",
                            "--port", str(port), "--mcp"], env=env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)  # the chat page is served as before
                break
            except OSError:
                assert app.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        out = asyncio.run(_http_session(f"http://127.0.0.1:{port}/mcp", copy, minilm))
    finally:
        app.terminate()
        app.wait(timeout=30)
    assert out["tools"] == ["ask_articles", "get_article", "list_articles", "search_articles"]
    ask = out["ask"].structured_content
    assert not ask["abstained"] and ask["citations"][0]["article_id"] == "putin-ceasefire"
    assert out["bad"].is_error and "less than or equal to 50" in out["bad"].content[0].text
    assert out["after_write"].structured_content["passages"][0]["article_id"] == "ferry-strike"
