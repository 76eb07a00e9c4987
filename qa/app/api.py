"""The JSON HTTP API beside the chat UI, on the app's own port under /api (OpenAPI docs at /api/docs).

`POST /api/ask` returns the `Answer` JSON of `qa ask --json` (`Answer.to_dict()`), `POST /api/ask/stream` streams
it as server-sent events, `POST /api/search` the hits of `qa search --json`; `POST /api/articles` adds text or a
URL (public addresses only, as the app's own adds), `DELETE /api/articles/{id}` removes one, `GET /api/stats`.
With `--auth`, every route but the docs needs HTTP Basic credentials of a user or a bearer token from
`POST /api/token`; `--read-only` refuses adds and removals. Every error is `{"error": "a plain message"}` with a
4xx code (a 5xx one when the server itself failed), never a traceback. Questions are answered on a bounded
pool of threads (`AnswerPool`), never on the event loop that serves every other request.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, AsyncIterator, Callable, Sequence

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from qa import __version__, config
from qa.answerers import check_question
from qa.app.adding import pasted_article
from qa.app.auth import Users
from qa.app.pool import AnswerPool, Busy
from qa.app.service import NO_INDEX, Service
from qa.app.ui_written import WrittenStyle, check_style
from qa.conversation import Turn
from qa.errors import ConfigError, GenerationError, QAError, SourceError, StoreError
from qa.reading.fetching import ANY_ADDRESS, PUBLIC_ONLY
from qa.reading.sources import Article, Failure, read_sources
from qa.types import Answer, SearchFilter, TextDelta

log = logging.getLogger(__name__)

PATH = "/api"
MAX_K = 100  # passages one request may ask for
LOGIN = ("this API needs a login: HTTP Basic with one of the app's --auth users, or a bearer token from "
         "POST /api/token")
READ_ONLY = "this app is read-only (started with --read-only): articles are added and removed with `qa ingest` and `qa remove`"


# -- what the routes take ---------------------------------------------------------------------
class Filters(BaseModel):
    """Only some sources, a published-date range, or some articles."""

    sources: list[str] = Field(default=[], description="sites (as `qa ask --source`), e.g. bbc.com")
    since: str = Field(default="", description="published on or after this date, YYYY-MM-DD")
    until: str = Field(default="", description="published on or before this date, YYYY-MM-DD")
    articles: list[str] = Field(default=[], description="article ids or URLs")

    def search_filter(self) -> SearchFilter | None:
        flt = SearchFilter(tuple(self.sources), self.since.strip(), self.until.strip(), tuple(self.articles))
        return None if flt.empty else flt


class HistoryTurn(BaseModel):
    """An earlier question and the answer's text (`text` of its Answer), so that a follow-up ("Why?") is understood."""

    question: str
    answer: str = ""


class AskRequest(BaseModel):
    question: str = Field(description="the question, in at most 10,000 characters")
    history: list[HistoryTurn] = Field(default=[], description="the conversation so far, oldest first")
    filters: Filters = Filters()
    k: int = Field(default=config.K, ge=1, le=MAX_K, description="passages to read")
    mode: str = Field(default=config.MODE, description=f"retrieval mode: {', '.join(config.MODES)}")
    style: str = Field(default=config.STYLE, description="answer style: quoted, or written when the app has --llm")


class SearchRequest(BaseModel):
    query: str
    k: int = Field(default=config.K, ge=1, le=MAX_K, description="passages returned")
    mode: str = Field(default=config.MODE, description=f"retrieval mode: {', '.join(config.MODES)}")
    per_article: int = Field(default=config.PER_ARTICLE, description="at most this many passages of one article (0: no cap)")
    filters: Filters = Filters()


class AddRequest(BaseModel):
    """Either `text` (with an optional `title`) or `url` (an article page or an RSS/Atom feed)."""

    text: str = ""
    title: str = ""
    url: str = ""


# -- the app ----------------------------------------------------------------------------------
def build_api(
    service: Service, *, users: Users | Sequence[tuple[str, str]] = (), read_only: bool = False,
    allow_private_urls: bool = False, written: WrittenStyle | None = None, pool: AnswerPool | None = None,
) -> FastAPI:
    """The API over the app's service, as a FastAPI app to mount at `/api` (`api_lifespan`)."""
    users = users if isinstance(users, Users) else Users(users)
    pool = pool or AnswerPool()
    policy = ANY_ADDRESS if allow_private_urls else PUBLIC_ONLY
    basic, bearer = HTTPBasic(auto_error=False), HTTPBearer(auto_error=False)  # declared for the docs' "Authorize"

    async def login(request: Request, _b: Any = Depends(basic), _t: Any = Depends(bearer)) -> str:
        if not users:
            return ""
        user = users.check(request.headers.get("authorization", ""))
        if user is None:
            raise HTTPException(401, LOGIN, headers={"WWW-Authenticate": 'Basic realm="article QA"'})
        return user

    def writable() -> None:
        if read_only:
            raise HTTPException(403, READ_ONLY)

    api = FastAPI(title="Article QA", version=__version__, docs_url="/docs", redoc_url=None, openapi_url="/openapi.json",
                  description="Ask the indexed news articles. Answers are the `Answer` JSON of `qa ask --json`.")
    _errors(api)
    guarded = [Depends(login)]

    @api.post("/token", summary="A bearer token for the user of these Basic credentials")
    async def token(user: str = Depends(login)) -> dict[str, Any]:
        if not users:
            raise HTTPException(404, "this app has no --auth users: no token is needed")
        return {"token": users.issue(user), "token_type": "bearer", "expires_in": users.seconds}

    @api.post("/ask", dependencies=guarded, summary="Answer a question (the Answer JSON of `qa ask --json`)")
    async def ask(body: AskRequest) -> JSONResponse:
        answerer, question, turns, settings = _prepared(service, written, body)
        answer = await pool.run(answerer.ask, question, turns, **settings)
        return JSONResponse(answer.to_dict())

    @api.post("/ask/stream", dependencies=guarded, summary="Answer a question as server-sent events",
              description="`delta` events carry the answer's text as it is written (`{\"text\": ...}`), then one "
                          "`answer` event the Answer JSON; an `error` event (`{\"error\": ...}`) ends a failed stream.")
    async def ask_stream(body: AskRequest) -> StreamingResponse:
        answerer, question, turns, settings = _prepared(service, written, body)
        events = pool.stream(lambda: answerer.stream(question, turns, **settings))
        return StreamingResponse(_sse(events), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @api.post("/search", dependencies=guarded, summary="The best passages (the hits of `qa search --json`)")
    async def search(body: SearchRequest) -> JSONResponse:
        retriever = service.answerer().retriever
        hits = await pool.run(retriever.search, _text(body.query, "query"), body.k, filter=body.filters.search_filter(),
                              mode=body.mode, per_article=body.per_article)
        return JSONResponse([h.to_dict() for h in hits])

    @api.post("/articles", dependencies=[*guarded, Depends(writable)], summary="Add an article from text or a URL")
    async def add(body: AddRequest) -> JSONResponse:
        report = await run_in_threadpool(_add, service, body, policy)
        status = 200 if report.added or report.replaced or report.unchanged else 422
        failed = [{"source": f.source, "reason": f.reason} for f in report.failures]
        data = {"added": report.added, "replaced": report.replaced, "unchanged": report.unchanged, "failed": failed,
                "summary": report.summary(), "index": _size(service)}
        if status != 200:
            data = {"error": f"nothing was added: {failed[0]['reason'] if failed else 'no article'}", **data}
        return JSONResponse(data, status)

    @api.delete("/articles/{article_id:path}", dependencies=[*guarded, Depends(writable)], summary="Remove an article")
    async def delete(article_id: str) -> dict[str, Any]:
        missing = await run_in_threadpool(service.remove, [article_id])
        if missing:
            raise HTTPException(404, f"no article with the id or URL {article_id!r}")
        return {"removed": article_id, "index": _size(service)}

    @api.get("/stats", dependencies=guarded, summary="What the index holds")
    async def stats() -> dict[str, Any]:
        size = _size(service)
        if not size["articles"]:
            return size
        stats = await run_in_threadpool(service.state().answerer.retriever.stats)  # a Milvus index: round trips
        return {**stats, **size}

    return api


def _size(service: Service) -> dict[str, Any]:
    """The current state's articles, passages and content version (zeros before the first article)."""
    try:
        state = service.state()
    except QAError as exc:
        if str(exc) == NO_INDEX:
            return {"articles": 0, "chunks": 0, "version": 0, "index": str(service.index_dir)}
        raise
    return {"articles": state.articles, "chunks": state.chunks, "version": state.version, "index": str(service.index_dir)}


def _text(value: str, name: str) -> str:
    if not value.strip():
        raise ConfigError(f"the {name} is empty")
    return value.strip()


def _answerer(service: Service, written: WrittenStyle | None, style: str) -> Any:
    """The answerer of a style: the service's (quoted), or the written one over it."""
    if check_style(style, written) == "written":
        assert written is not None
        return written.over(service.answerer())
    return service.answerer()


def _prepared(service: Service, written: WrittenStyle | None, body: AskRequest) -> tuple[Any, str, list[Turn], dict[str, Any]]:
    """What an ask runs, checked before it is queued (a bad request is refused at once)."""
    question = check_question(body.question)
    turns = [Turn(t.question, t.answer) for t in body.history]
    settings = {"k": body.k, "mode": body.mode, "filter": body.filters.search_filter()}
    return _answerer(service, written, body.style), question, turns, settings


def _add(service: Service, body: AddRequest, policy: Any) -> Any:
    items: list[Article | Failure] = []
    if body.url.strip():
        items += read_sources([body.url.strip()], policy=policy)
    if body.text.strip():
        try:
            items.append(pasted_article(body.title, body.text))
        except SourceError as exc:
            items.append(Failure(exc.source, exc.reason))
    if not items:
        raise ConfigError("nothing to add: give `text` (and a `title`) or a `url`")
    return service.add_items(items)


async def _sse(events: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    """Answer events as server-sent events: `delta` pieces of text, then the `answer`; `error` if it fails."""
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                yield _event("delta", {"text": event.text})
            elif isinstance(event, Answer):
                yield _event("answer", event.to_dict())
    except (QAError, Busy) as exc:
        yield _event("error", {"error": str(exc)})
    except Exception as exc:  # never a traceback in the stream; the log has it
        log.exception("a streamed answer failed")
        yield _event("error", {"error": f"the answer failed ({exc.__class__.__name__}); the server log has the details"})


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


# -- errors -----------------------------------------------------------------------------------
def status_of(exc: QAError) -> int:
    """The HTTP status of an error meant for the user."""
    if str(exc) == NO_INDEX:
        return 409  # nothing to ask yet: add articles first
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, GenerationError):
        return 502
    return 400


def _errors(api: FastAPI) -> None:
    """Every error as `{"error": "..."}`: a plain message and its code, never a traceback."""

    def plain(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": message}, status, headers=headers)

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.method} {request.url.path} (the routes are listed at {PATH}/docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path} (see {PATH}/docs)"
        return plain(exc.status_code, message, getattr(exc, "headers", None))

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return plain(400, "the request body is not valid JSON")
        if request.method in ("POST", "PUT") and "json" not in request.headers.get("content-type", ""):
            return plain(415, "send the request body as JSON, with the header Content-Type: application/json")
        said = "; ".join(f"{'.'.join(str(x) for x in p.get('loc', ())[1:]) or 'body'}: {p.get('msg', 'invalid')}"
                         for p in problems[:5])
        return plain(422, said)

    @api.exception_handler(QAError)
    async def user_error(request: Request, exc: QAError) -> JSONResponse:
        return plain(status_of(exc), str(exc))

    @api.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> JSONResponse:
        return plain(503, str(exc), {"Retry-After": "1"})

    @api.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return plain(500, f"the server failed ({exc.__class__.__name__}); its log has the details")


def api_lifespan(api: FastAPI, after: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
    """A lifespan for the app's FastAPI app (Gradio's `app_kwargs`) that mounts `api` at /api ahead of the app's own
    routes, then runs `after` (another lifespan, such as the MCP tools') inside it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        app.router.routes.insert(0, Mount(PATH, app=api))
        if after is None:
            yield
        else:
            async with after(app):
                yield

    return lifespan
