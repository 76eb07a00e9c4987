"""The Gradio chat UI: ask with sources, add articles, settings, and a named `ask` API endpoint."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from qa import config
from qa.answerers import answer_styles, check_question
from qa.app.adding import CLUTTER_ONLY, pasted_article
from qa.app.pool import AnswerPool, Busy
from qa.app.render import MARKER_JS, SOURCES_CSS, answer_message, chat_text, draft_message, passages_html, sources_html
from qa.app.service import NO_INDEX, Service
from qa.app.ui_written import WrittenStyle, check_style, written_events
from qa.app.uploads import check_upload, remove_temporary, upload_files
from qa.conversation import Turn
from qa.errors import QAError, SourceError
from qa.reading.fetching import ANY_ADDRESS, PUBLIC_ONLY, FetchPolicy
from qa.reading.limits import max_upload_bytes
from qa.reading.sources import SUPPORTED, Failure, read_sources
from qa.types import Answer, Article, SearchFilter, TextDelta

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

UPLOAD_TYPES = sorted(SUPPORTED)  # what the readers read (qa.reading.sources)
# serving: docs/serving.md has the measurements behind these numbers
ASK_CONCURRENCY = config.ASK_CONCURRENCY  # asks running at once in the chat queue
QUEUE_SIZE = 256  # requests waiting beyond that get "the queue is full" at once instead of a long wait
QUEUE_STATUS_EVERY = 1.0  # seconds between queue-position updates to waiting clients (gradio's "auto" sends every
# waiting client an update each time any job starts: with 40 waiting, 40 messages per answer)
SPARE_THREADS = 8  # worker threads beyond the ask and ingest slots: uploads, the stats timer
ANALYTICS = {"GRADIO_ANALYTICS_MAX_EVENTS": "1000", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000"}  # see queue()
SESSIONS = 1000  # browser tabs and API clients whose state is kept (chat turns and ~70 KB of page config each; gradio: 10,000)
STATS_EVERY = 5.0  # seconds between refreshes of the article count in the page
READ_ONLY = "Refused: this app is read-only (started with --read-only); articles are added with `qa ingest`."
__all__ = ["NO_INDEX", "Service", "add_articles", "api_answer", "build_ui", "launch", "respond"]


# -- handlers ------------------------------------------------------------------------------
def make_filter(sources: str = "", since: str = "", until: str = "", articles: str = "") -> SearchFilter | None:
    """A SearchFilter from the settings fields (sources and articles comma-separated); None when all are empty."""
    flt = SearchFilter(_items(sources), (since or "").strip(), (until or "").strip(), _items(articles))
    return None if flt.empty else flt


def _items(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in re.split(r"[,\n]", text or "") if s.strip())


def respond(
    service: Service, question: str, messages: list[Any], turns: list[Turn], k: float, mode: str,
    sources: str = "", since: str = "", until: str = "", articles: str = "", style: str = config.STYLE,
    written: WrittenStyle | None = None,
) -> Iterator[tuple[list[Any], str, list[Turn], str]]:
    """Chat handler: append the question, stream the answer in, then show its sources. A written answer shows
    the passages the model reads while it writes, each sentence's [n] once checked; a failing model gives the
    quoted answer with a plain note."""
    messages = list(messages or [])
    shown = question if len(question) <= 500 else question[:500] + f"… ({len(question):,} characters)"
    messages.append({"role": "user", "content": chat_text(shown or " ")})
    reply = len(messages)  # where the assistant's message goes
    answer: Answer | None = None
    try:
        question = check_question(question)
        settings = {"k": int(k), "mode": mode, "filter": make_filter(sources, since, until, articles)}
        if check_style(style, written) == "written":
            assert written is not None
            events: Iterator[Any] = written_events(written.over(service.answerer()), question, turns, **settings)
            render = draft_message
        else:
            events, render = service.answerer().stream(question, turns, **settings), chat_text
        text, panel = "", sources_html(None, "Answering…")
        for event in events:  # text as it is produced, then the final Answer
            if isinstance(event, TextDelta):
                text += event.text
                messages[reply:] = [{"role": "assistant", "content": render(text)}]
                yield messages, "", turns, panel
            elif isinstance(event, Answer):
                answer = event
            else:  # a written answer's prompt: its numbered passages, shown while the model writes
                panel = passages_html(event.passages)
                messages[reply:] = [{"role": "assistant", "content": "…"}]
                yield messages, "", turns, panel
    except QAError as exc:
        messages[reply:] = [{"role": "assistant", "content": chat_text(str(exc))}]
        yield messages, "", turns, sources_html(None, str(exc))
        return
    except Exception as exc:  # never a traceback in the chat
        log.exception("answering %r failed", question[:200])
        messages[reply:] = [{"role": "assistant", "content": chat_text(f"Something went wrong: {exc.__class__.__name__}.")}]
        yield messages, "", turns, sources_html(None)
        return
    if answer is None:  # a stream that broke the protocol
        messages[reply:] = [{"role": "assistant", "content": chat_text("Something went wrong: no answer came back.")}]
        yield messages, "", turns, sources_html(None)
        return
    messages[reply:] = [{"role": "assistant", "content": answer_message(answer)}]
    yield messages, "", [*turns, Turn.of(question, answer)], sources_html(answer)


def add_articles(
    service: Service, files: list[Any] | None, url: str, title: str, text: str, progress: Any = None,
    policy: FetchPolicy = PUBLIC_ONLY,
) -> tuple[str, str]:
    """Add-articles handler: uploaded files, a URL or feed URL, pasted text; returns (status, stats). URLs (and a
    feed's item links) may reach public addresses only unless `policy` is ANY_ADDRESS (--allow-private-urls)."""

    items: list[Any] = []
    for path in [str(getattr(f, "name", f)) for f in files or []]:
        name = Path(path).name  # the uploader's name: a label only (ids are content hashes; no path is built from it)
        try:
            check_upload(path, name, UPLOAD_TYPES)
        except SourceError as exc:
            items.append(Failure(name, exc.reason))
            continue
        for item in read_sources([path], policy=policy):
            if isinstance(item, Article):
                digest = hashlib.sha1(f"{name}\n{item.text}".encode()).hexdigest()[:12]
                item = replace(item, id=f"upload-{digest}", source=item.source if item.url else name)
            else:  # the server's temporary path is no business of the uploader's
                item = replace(item, source=item.source.replace(path, name))
            items.append(item)
    if url and url.strip():
        items.extend(read_sources([url.strip()], policy=policy))
    if text and text.strip():
        try:
            items.append(pasted_article(title, text))
        except SourceError as exc:
            if exc.reason != CLUTTER_ONLY:
                return f"Could not add the pasted text: {exc.reason}", service.stats()
            if not items:
                return f"Nothing to add: {CLUTTER_ONLY}.", service.stats()
    if not items:
        return "Nothing to add: upload a file, give a URL, or paste some text.", service.stats()
    total = len(items)

    def tick(n: int) -> None:
        if progress is not None:
            progress(n / total, desc=f"indexing {n}/{total}")

    def tell(message: str) -> None:  # waiting for another writer, loading the new state
        if progress is not None:
            progress(None, desc=message)

    try:
        status = service.add(items, on_article=tick, on_status=tell)
    except QAError as exc:
        return f"Could not add the articles: {exc}", service.stats()
    except Exception as exc:  # never a traceback in the UI; the log has it
        log.exception("adding %d item(s) failed", total)
        return f"Could not add the articles ({exc.__class__.__name__}); the server log has the details.", service.stats()
    return status, service.stats()


def api_answer(
    service: Service, question: str, k: int = config.K, mode: str = config.MODE, source: str = "", since: str = "", until: str = "",
    article: str = "", style: str = config.STYLE, written: WrittenStyle | None = None,
) -> dict[str, Any]:
    """The `ask` endpoint: the Answer as JSON; errors come back as an abstained answer with `error` set."""
    try:
        answerer = _answerer(service, style, written)
        answer = answerer.ask(check_question(question), [], k=int(k), mode=mode, filter=make_filter(source, since, until, article))
    except QAError as exc:
        return {**asdict(Answer(str(exc), True, 0.0)), "error": str(exc)}
    return {**answer.to_dict(), "error": ""}


def api_stream(
    service: Service, question: str, k: int = config.K, mode: str = config.MODE, source: str = "", since: str = "", until: str = "",
    article: str = "", style: str = config.STYLE, written: WrittenStyle | None = None,
) -> Iterator[dict[str, Any]]:
    """The `ask_stream` endpoint: {"text": the answer so far, "done": false} as it is written, then the final
    Answer JSON with "done": true (and `error`, as for `ask`)."""
    try:
        answerer = _answerer(service, style, written)
        text = ""
        for event in answerer.stream(check_question(question), [], k=int(k), mode=mode,
                                     filter=make_filter(source, since, until, article)):
            if isinstance(event, TextDelta):
                text += event.text
                yield {"text": text, "done": False}
            else:
                yield {**event.to_dict(), "error": "", "done": True}
    except QAError as exc:
        yield {**asdict(Answer(str(exc), True, 0.0)), "error": str(exc), "done": True}


def _answerer(service: Service, style: str, written: WrittenStyle | None) -> Any:
    """The answerer of a style: the service's (quoted), or the written one over it."""
    if check_style(style, written) == "written":
        assert written is not None
        return written.over(service.answerer())
    return service.answerer()


# -- layout --------------------------------------------------------------------------------
def build_ui(
    service: Service, *, ask_concurrency: int = ASK_CONCURRENCY, written: WrittenStyle | None = None, read_only: bool = False,
    allow_private_urls: bool = False, pool: AnswerPool | None = None,
) -> gr.Blocks:
    """The Blocks app: chat and sources side by side, settings and the add-articles panel below (none when
    `read_only`); with a model (`written`), an answer-style setting and written answers. URL adds reach public
    addresses only unless `allow_private_urls`. The `/ask` endpoint's answers run on `pool` (the JSON API's), so
    that however many wait in the queue, the cores answer a few at a time and the server stays responsive."""
    policy = ANY_ADDRESS if allow_private_urls else PUBLIC_ONLY
    pool = pool or AnswerPool()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home
    import gradio as gr

    def on_ask(
        question: str, messages: list[Any], turns: list[Turn], k: float, mode: str, source: str, since: str, until: str,
        articles: str, style: str,
    ) -> Iterator[Any]:
        yield from respond(service, question, messages, turns, k, mode, source, since, until, articles, style, written)

    def on_add(files: list[Any] | None, url: str, title: str, text: str, progress: gr.Progress = gr.Progress()) -> tuple[str, str, Any, str, str, str]:
        try:
            status, stats = (READ_ONLY, service.stats()) if read_only else add_articles(service, files, url, title, text, progress, policy)
        finally:
            remove_temporary([str(getattr(f, "name", f)) for f in files or []])
        return chat_text(status), stats, None, "", "", ""

    async def ask(
        question: str, k: int = config.K, mode: str = config.MODE, source: str = "", since: str = "", until: str = "", article: str = "",
        style: str = config.STYLE,
    ) -> dict:
        """Answer a question from the indexed articles (optionally only some sources, dates or articles: ids or URLs, comma-separated; style "written" when the app has a model); returns the answer, confidence and citations."""
        try:
            return await pool.run(api_answer, service, question, k, mode, source, since, until, article, style, written)
        except Busy as exc:
            return {**asdict(Answer(str(exc), True, 0.0)), "error": str(exc)}

    def ask_stream(
        question: str, k: int = config.K, mode: str = config.MODE, source: str = "", since: str = "", until: str = "", article: str = "",
        style: str = config.STYLE,
    ) -> Iterator[dict]:
        """Like ask, streamed: {"text": the answer so far, "done": false} while it is written, then the answer with "done": true."""
        yield from api_stream(service, question, k, mode, source, since, until, article, style, written)

    with gr.Blocks(title="Article QA") as demo:
        gr.Markdown("## Article QA\nAsk about the indexed news articles; every answer is a sentence quoted from them, with its source."
                    + (f" Written answers come from {written.name}; each of their sentences is checked against the sources."
                       if written else ""))
        turns = gr.State([])
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=460, elem_id="chat", buttons=["copy"])
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask a question, e.g. What did Putin reject?", elem_id="question", scale=5, max_lines=4)
                    send = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                clear = gr.Button("New conversation", size="sm")
            with gr.Column(scale=2):
                sources = gr.HTML(sources_html(None), elem_id="sources")
        with gr.Accordion("Settings", open=False):
            k = gr.Slider(1, 20, value=config.K, step=1, label="Passages to read (k)", elem_id="k")
            mode = gr.Radio(list(config.MODES), value=config.MODE, label="Retrieval mode", elem_id="mode")
            style = answer_style_setting(written)
            with gr.Row():
                source = gr.Textbox(label="Only these sources (comma-separated sites)", placeholder="bbc.com, reuters.com", elem_id="filter-source")
                since = gr.Textbox(label="Published since (YYYY-MM-DD)", elem_id="filter-since")
                until = gr.Textbox(label="Published until (YYYY-MM-DD)", elem_id="filter-until")
            articles = gr.Textbox(label="Only these articles (ids or URLs, comma-separated)", placeholder="https://…/story", elem_id="filter-articles")
        with gr.Accordion("Add articles", open=False, elem_id="add-panel", visible=not read_only):
            stats = gr.Markdown(service.stats(), elem_id="stats")
            files = upload_files(label="Upload article files", file_types=UPLOAD_TYPES, elem_id="upload")
            url = gr.Textbox(label="Article or feed URL", placeholder="https://…", elem_id="url")
            title = gr.Textbox(label="Title of pasted text (optional)", elem_id="paste-title")
            text = gr.Textbox(label="Or paste article text", lines=5, elem_id="paste-text")
            add = gr.Button("Add articles", elem_id="add")
            status = gr.Markdown(elem_id="add-status")

        # asks from the chat and from the API share one pool of slots; ingests have their own single slot,
        # so an ingest never takes an ask's place and two adds queue instead of racing for the store
        asking = {"concurrency_id": "ask", "concurrency_limit": ask_concurrency}
        outputs = [chatbot, question, turns, sources]
        for trigger in (question.submit, send.click):
            trigger(on_ask, [question, chatbot, turns, k, mode, source, since, until, articles, style], outputs,
                    api_visibility="private", **asking)
        clear.click(lambda: ([], "", [], sources_html(None)), None, outputs, api_visibility="private", queue=False)
        add.click(on_add, [files, url, title, text], [status, stats, files, url, title, text], api_visibility="private",
                  concurrency_id="add", concurrency_limit=1)
        # the article count follows writes by other processes too (the service switches to them by itself)
        gr.Timer(STATS_EVERY).tick(service.stats, None, stats, api_visibility="private", queue=False)
        gr.api(ask, api_name="ask", **asking)
        gr.api(ask_stream, api_name="ask_stream", **asking)

        def add_text(title: str, text: str) -> dict:
            """Add one article from its title and text; returns the ingest summary and the index's size."""
            return dict(zip(("status", "index"), (READ_ONLY, service.stats()) if read_only else add_articles(service, None, "", title, text, policy=policy)))

        def add_url(url: str) -> dict:
            """Add the article at a URL, or every item of an RSS/Atom feed; returns the ingest summary and the index's size."""
            return dict(zip(("status", "index"), (READ_ONLY, service.stats()) if read_only else add_articles(service, None, url, "", "", policy=policy)))

        def add_files(files: list[str] | None) -> dict:
            """Add uploaded article files (txt, md, html, xml, rss, atom, jsonl, csv; checked by content); returns the ingest summary and the index's size."""
            try:
                return dict(zip(("status", "index"), (READ_ONLY, service.stats()) if read_only else add_articles(service, files, "", "", "", policy=policy)))
            finally:
                remove_temporary([str(getattr(f, "name", f)) for f in files or []])

        adding = {"concurrency_id": "add", "concurrency_limit": 1}  # the add panel's one slot
        # /add_files is an event of hidden components, so that gradio_client uploads the files (handle_file) first
        api_files, api_summary = upload_files(visible=False), gr.JSON(visible=False)
        gr.Button(visible=False).click(add_files, api_files, api_summary, api_name="add_files", **adding)
        gr.api(add_text, api_name="add_text", **adding)
        gr.api(add_url, api_name="add_url", **adding)
    return demo


def answer_style_setting(written: WrittenStyle | None) -> Any:
    """The "Answer style: quoted | written" setting; hidden (quoted only) when the app has no model."""
    import gradio as gr

    label = f"Answer style (written: by {written.name}, checked against the sources)" if written else "Answer style"
    return gr.Radio(answer_styles(), value=config.STYLE, label=label, elem_id="style", visible=written is not None)


def launch(
    index_dir: str | Path, *, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
    ask_concurrency: int = ASK_CONCURRENCY, written: WrittenStyle | None = None, mcp: bool = False,
    users: Sequence[tuple[str, str]] = (), read_only: bool = False, allow_private_urls: bool = False,
    api_workers: int = config.API_WORKERS, **kwargs: Any,
) -> Any:
    """Build the UI over an index directory and serve it (blocking unless prevent_thread_lock=True).

    `written` (`WrittenStyle.load(spec)`) adds written answers; `mcp` serves the MCP tools too, at /mcp over
    streamable HTTP, on the app's current state (qa.integrations.mcp); `users`: (name, password) pairs who may
    log in to the UI and the API (none: no login); `read_only`: no adds; `allow_private_urls`: URL adds may reach
    loopback, private and link-local addresses (the server's own network; off: public addresses only). The JSON API
    (qa.app.api) is served at /api on the same port, its questions answered by `api_workers` threads."""
    import gradio as gr

    from qa.app.auth import exposure_warning

    warning = exposure_warning(host, share, list(users))
    if warning:
        log.warning("%s", warning)

    from qa.app.api import api_lifespan, build_api

    service = Service(index_dir)
    pool = AnswerPool(api_workers)  # the threads that answer: the JSON API's asks and the Gradio `/ask` endpoint's
    after = None
    if mcp:
        from qa.integrations.mcp import ArticleTools, http_lifespan

        tools = ArticleTools(lambda: service.answerer().retriever, service.answerer)
        after = http_lifespan(tools, host=host, users=users)
    # the JSON API at /api, on this port: the same users and read-only setting, answers on a bounded thread pool
    api = build_api(service, users=users, read_only=read_only, allow_private_urls=allow_private_urls, written=written,
                    pool=pool)
    kwargs["app_kwargs"] = {**kwargs.get("app_kwargs", {}), "lifespan": api_lifespan(api, after)}
    try:
        service.answerer()
    except QAError:
        log.warning("no index in %s yet; the app starts empty (it picks up an index built meanwhile)", index_dir)
    demo = build_ui(service, ask_concurrency=ask_concurrency, written=written, read_only=read_only,
                    allow_private_urls=allow_private_urls, pool=pool)
    queue(demo, ask_concurrency)
    kwargs.setdefault("max_threads", ask_concurrency + 1 + SPARE_THREADS)
    kwargs.setdefault("run_history", False)  # gradio's record of every API call (and its offer to save them to a Hub bucket)
    kwargs.setdefault("state_session_capacity", SESSIONS)
    kwargs.setdefault("max_file_size", max_upload_bytes())  # gradio refuses a bigger upload before it is stored
    if users:
        kwargs.setdefault("auth", list(users))
    return demo.launch(server_name=host, server_port=port, share=share, css=SOURCES_CSS, js=MARKER_JS, theme=gr.themes.Soft(), **kwargs)


def queue(demo: gr.Blocks, ask_concurrency: int = ASK_CONCURRENCY) -> gr.Blocks:
    """The queue settings of the app (docs/serving.md explains the numbers)."""
    # gradio keeps a record of the last 10,000 events and, by default, summarises them all with pandas after
    # every event (for its monitoring page, unused here): a cost that grows with the server's age
    for name, value in ANALYTICS.items():
        os.environ.setdefault(name, value)
    return demo.queue(default_concurrency_limit=ask_concurrency, max_size=QUEUE_SIZE, status_update_rate=QUEUE_STATUS_EVERY)
