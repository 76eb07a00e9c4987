"""Read articles from files, directories, URLs, feeds and JSONL/CSV exports, one result per item, cleaned."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import urlparse

from qa import config
from qa.errors import ConfigError, SourceError
from qa.reading.clean import (
    CLEAN_CHOICES, CLEAN_MODES, SENTENCE_END, Scraped, clean_scraped, extract_html, html_to_text, without_surrogates,
)
from qa.reading.fetching import ANY_ADDRESS, USER_AGENT, FetchPolicy, fetch  # noqa: F401 - USER_AGENT is importable here too
from qa.reading.furniture import PAGE_RULES, Removal
from qa.reading.limits import MAX_FEED_BYTES, check_size, max_article_bytes, too_big
from qa.reading.records import csv_records, jsonl_records
from qa.types import Article

log = logging.getLogger(__name__)

TEXT_SUFFIXES = {".txt", ".md", ".text", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
FEED_SUFFIXES = {".rss", ".atom", ".xml"}
RECORD_SUFFIXES = {".jsonl", ".csv"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | FEED_SUFFIXES | RECORD_SUFFIXES
RECORD_FIELDS = ("id", "title", "url", "published", "source", "author")
PAGE_BYTES_PER_TEXT_BYTE = 4  # an HTML file may hold this much markup per byte of the article limit


@dataclass(frozen=True)
class Failure:
    """A source, or one item inside it, that yielded no article, and why."""

    source: str
    reason: str
    removed: tuple[Removal, ...] = ()  # what cleaning took out, when it left nothing

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Cleaned:
    """An article as ingest would store it, with what cleaning removed from its text on the way."""

    article: Article
    label: str  # the source, or the item inside it ("export.jsonl:3")
    clean: str  # the cleaning mode applied: page, furniture or none
    removed: tuple[Removal, ...] = ()
    fallback: str = ""  # why the page rules were overruled, when they were


class EmptyArticle(SourceError):
    """Cleaning left no text: the message says what was removed and how to keep it."""

    def __init__(self, source: str, reason: str, removed: tuple[Removal, ...]) -> None:
        super().__init__(source, reason)
        self.removed = removed


Item = Article | Failure


def read_sources(
    sources: Iterable[str], *, timeout: float = config.URL_TIMEOUT, clean: str = config.CLEAN, max_article_bytes: int | None = None,
    policy: FetchPolicy = ANY_ADDRESS,
) -> Iterator[Item]:
    """Yield an Article or a Failure for every item of every source, in order.

    `clean`: auto (page rules for scraped text and HTML, furniture rules for JSONL/CSV records and
    feeds; a record's own "clean" field chooses for it), or page, furniture or none for every item.
    `max_article_bytes`: the size limit of one article's text (default `$QA_MAX_ARTICLE_BYTES` or 4 MB);
    an article over it is a Failure that says how to raise it. JSONL and CSV files are read as streams.
    `policy`: which addresses URLs, feeds and their item links may reach (a served app: PUBLIC_ONLY).
    """
    for item in read_cleaned(sources, timeout=timeout, clean=clean, max_article_bytes=max_article_bytes, policy=policy):
        yield item.article if isinstance(item, Cleaned) else item


def read_cleaned(
    sources: Iterable[str], *, timeout: float = config.URL_TIMEOUT, clean: str = config.CLEAN, max_article_bytes: int | None = None,
    policy: FetchPolicy = ANY_ADDRESS,
) -> Iterator[Cleaned | Failure]:
    """Like read_sources, with each article's removals: what `qa clean` shows."""
    if clean not in CLEAN_CHOICES:
        raise ConfigError(f"unknown cleaning mode {clean!r}; choose one of {', '.join(CLEAN_CHOICES)}")
    limit = _limit(max_article_bytes)
    for source in sources:
        try:
            yield from _read_one(source, timeout, clean, limit, policy)
        except SourceError as exc:
            yield _failure(exc)


def _failure(exc: SourceError) -> Failure:
    return Failure(exc.source, exc.reason, exc.removed if isinstance(exc, EmptyArticle) else ())


def _limit(value: int | None) -> int:
    return max_article_bytes(value)


def _read_one(source: str, timeout: float, clean: str, limit: int, policy: FetchPolicy) -> Iterator[Cleaned | Failure]:
    if re.match(r"^https?://", source, re.I):
        yield from _read_url(source, timeout, clean, limit, policy)
        return
    path = Path(source).expanduser()
    if path.is_dir():
        found = [p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)]
        files = sorted(p for p in found if p.suffix.lower() in SUPPORTED)
        other = Counter(p.suffix.lower() or "(no extension)" for p in found if p.suffix.lower() not in SUPPORTED)
        if other:
            log.warning("%s: skipped %d file(s) of other types (%s); articles are read from %s", source, sum(other.values()),
                        ", ".join(f"{n} {suffix}" for suffix, n in other.most_common()), ", ".join(sorted(SUPPORTED)))
        if not files:
            raise SourceError(source, f"no article files in directory (looked for {', '.join(sorted(SUPPORTED))})")
        for file in files:
            try:
                yield from _read_file(file, timeout, clean, limit, policy)
            except SourceError as exc:
                yield _failure(exc)
        return
    if not path.exists():
        raise SourceError(source, "no such file, directory or http(s) URL")
    yield from _read_file(path, timeout, clean, limit, policy)


def _read_file(path: Path, timeout: float, clean: str, limit: int, policy: FetchPolicy = ANY_ADDRESS) -> Iterator[Cleaned | Failure]:
    suffix, name = path.suffix.lower(), str(path)
    try:
        if suffix in RECORD_SUFFIXES:  # streamed, a line at a time: memory stays bounded whatever the size
            with path.open("rb") as file:
                yield from (_read_jsonl if suffix == ".jsonl" else _read_csv)(name, file, clean, limit)
            return
        size = path.stat().st_size
        with path.open("rb") as file:
            head = file.read(2048)
        feed = suffix in FEED_SUFFIXES or (suffix not in HTML_SUFFIXES and _looks_like_feed(head))
        if not feed and suffix not in SUPPORTED:
            raise SourceError(name, f"unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(SUPPORTED))}")
        cap = MAX_FEED_BYTES if feed else limit * PAGE_BYTES_PER_TEXT_BYTE if suffix in HTML_SUFFIXES else limit
        if size > cap:
            raise _feed_too_big(name, size) if feed else too_big(name, size, cap, "page" if cap != limit else "file")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(name, f"cannot read file: {exc.strerror or exc}") from None
    key = str(path.resolve())
    if suffix in HTML_SUFFIXES:  # a saved page: its canonical URL and site, when it names them
        yield _article_from_page(name, data, clean, key=key, fallback_source=name)
    elif feed:
        yield from _read_feed(name, data, timeout, clean, limit, policy)
    elif suffix in TEXT_SUFFIXES:
        yield cleaned_from_text(name, decode(name, data), key=key, fallback_title=path.stem, clean=clean)
    else:
        raise SourceError(name, f"unsupported file type {suffix or '(none)'}; use one of {', '.join(sorted(SUPPORTED))}")


def decode(name: str, data: bytes) -> str:
    """Text of a file: UTF-8, or a confidently detected encoding; binary data is an error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or b"\x00" in data[:4096]:
        raise SourceError(name, "cannot decode as text (not UTF-8 and no other encoding fits; is it binary?)")
    log.info("%s: decoded as %s", name, best.encoding)
    return str(best)


def _feed_too_big(name: str, size: int) -> SourceError:
    return SourceError(
        name, f"feed is {size / 1e6:.1f} MB, over the {MAX_FEED_BYTES / 1e6:.0f} MB limit for one feed; "
        "split it, or export its items as JSONL (read as a stream)",
    )


def _download_cap(limit: int) -> int:
    return max(MAX_FEED_BYTES, limit * PAGE_BYTES_PER_TEXT_BYTE)


def _read_url(url: str, timeout: float, clean: str, limit: int, policy: FetchPolicy) -> Iterator[Cleaned | Failure]:
    data, content_type = fetch(url, timeout, _download_cap(limit), policy)
    if any(t in content_type for t in ("rss", "atom", "/xml")) or _looks_like_feed(data):
        if len(data) > MAX_FEED_BYTES:
            raise _feed_too_big(url, len(data))
        yield from _read_feed(url, data, timeout, clean, limit, policy)
    elif "text/plain" in content_type:
        if len(data) > limit:
            raise too_big(url, len(data), limit)
        yield cleaned_from_text(url, decode(url, data), key=url, url=url, clean=clean)
    else:
        yield _article_from_page(url, data, clean, key=url, url=url)


def _looks_like_feed(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head) or head.startswith((b"<rss", b"<feed"))


def _read_feed(name: str, data: bytes, timeout: float, clean: str, limit: int, policy: FetchPolicy = ANY_ADDRESS) -> Iterator[Cleaned | Failure]:
    import feedparser

    try:
        feed = feedparser.parse(data)
    except Exception as exc:  # noqa: BLE001 - feedparser's own bugs on hostile bytes (a non-UTF-8 encoding name), found by fuzzing
        raise SourceError(name, f"not a readable RSS/Atom feed ({exc.__class__.__name__}: {exc})") from None
    if not feed.entries:
        reason = f"not a readable RSS/Atom feed ({feed.bozo_exception})" if feed.bozo else "feed has no items"
        raise SourceError(name, reason)
    site = str(feed.feed.get("title", "")) or _domain(str(feed.feed.get("link", "")))
    for n, entry in enumerate(feed.entries, 1):
        link = str(entry.get("link", ""))
        label = f"{name} item {n}" + (f" ({link})" if link else "")
        content = entry.get("content") or []
        body = html_to_text(content[0].get("value", "")) if content else ""
        if len(body.split()) < 40:  # a teaser only: fetch the page when there is one
            summary = html_to_text(str(entry.get("summary", "")))
            body = body if len(body) >= len(summary) else summary
        try:
            check_size(label, body, limit)
            if link and len(body.split()) < 40:
                page, _ = fetch(link, timeout, _download_cap(limit), policy)
                item = _article_from_page(label, page, clean, key=link, url=link)
            else:  # the feed's own content is extracted text already: furniture rules only, unless told
                scraped = clean_scraped(body, "furniture" if clean == "auto" else clean)
                item = _make_article(label, scraped, key=str(entry.get("id") or link or body), url=link)
        except SourceError as exc:
            yield replace(_failure(exc), source=label)
            continue
        article = _with_defaults(item.article, title=str(entry.get("title", "")), published=_feed_date(entry))
        yield replace(item, article=replace(article, source=site) if site else article)


def _feed_date(entry: object) -> str:
    parsed = getattr(entry, "published_parsed", None) or getattr(entry, "updated_parsed", None)
    return f"{parsed.tm_year:04d}-{parsed.tm_mon:02d}-{parsed.tm_mday:02d}" if parsed else ""


def _read_jsonl(name: str, file: BinaryIO, clean: str, limit: int) -> Iterator[Cleaned | Failure]:
    for label, record in jsonl_records(name, file, limit):
        yield Failure(label, record) if isinstance(record, str) else _from_record(label, record, clean, limit)


def _read_csv(name: str, file: BinaryIO, clean: str, limit: int) -> Iterator[Cleaned | Failure]:
    for label, record in csv_records(name, file, limit):
        yield _from_record(label, record, clean, limit)


def _from_record(label: str, record: dict[str, object], clean: str, limit: int) -> Cleaned | Failure:
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        return Failure(label, "record has no 'text'")
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:
        return Failure(label, too_big(label, len(text.encode("utf-8", "surrogatepass")), limit).reason)
    fields = {k: "" if record.get(k) is None else str(record.get(k)).strip() for k in RECORD_FIELDS}  # id 0 is an id
    own = str(record.get("clean") or "").strip()  # a record may choose its own cleaning when the flag is auto
    if own and own not in CLEAN_MODES:
        return Failure(label, f"record field 'clean' must be one of {', '.join(CLEAN_MODES)}, got {own!r}")
    mode = clean if clean != "auto" else own or "furniture"  # an export is extracted text: no page rules
    try:
        return _make_article(
            label,
            clean_scraped(text, mode),
            key=without_surrogates(fields["id"] or fields["url"] or text),
            article_id=without_surrogates(fields["id"]),
            title=fields["title"],
            url=fields["url"],
            published=fields["published"],
            source=fields["source"] or _domain(fields["url"]),
            author=fields["author"],
            record=True,
        )
    except SourceError as exc:
        return _failure(exc)


def _article_from_page(
    name: str, data: bytes | str, clean: str, *, key: str, url: str = "", fallback_source: str = ""
) -> Cleaned:
    mode = "page" if clean == "auto" else clean
    ex = extract_html(data, url=url, mode=mode)
    if not ex.text:
        raise SourceError(name, "no main text found in the HTML page")
    url = url or ex.url
    scraped = Scraped(ex.text, removed=ex.removed, mode=mode)
    return _make_article(
        name, scraped, key=key, title=ex.title, url=url, published=ex.published,
        source=ex.site or _domain(url) or fallback_source, author=ex.author,
    )


def article_from_text(
    name: str, raw: str, *, key: str, url: str = "", fallback_title: str = "", clean: str = "page"
) -> Article:
    """An Article from plain or scraped text: clutter removed; title, date and byline taken from the text when it has them.

    `name` labels errors (SourceError when nothing is left); `key` makes the id stable across runs.
    """
    return cleaned_from_text(name, raw, key=key, url=url, fallback_title=fallback_title, clean=clean).article


def cleaned_from_text(
    name: str, raw: str, *, key: str, url: str = "", fallback_title: str = "", clean: str = "page"
) -> Cleaned:
    """Like article_from_text, with what cleaning removed."""
    scraped = clean_scraped(raw, "page" if clean == "auto" else clean)
    keep_first = scraped.headline or scraped.mode == "none"  # a headline was found, or the text stays as it is
    title, body = ("", scraped.text) if keep_first else _split_title(scraped.text)
    removed = scraped.removed
    if title:
        removed = tuple(sorted((*removed, Removal(_first_line(raw, title), title, "title")), key=lambda r: r.line))
    title = title or scraped.headline
    if not title and fallback_title:
        title = re.sub(r"[-_]+", " ", fallback_title.split(".")[0]).strip().capitalize()
    source = _domain(url) or (name if not url else "")
    return _make_article(
        name, replace(scraped, text=body, removed=removed), key=key, title=title, url=url, source=source,
        published=scraped.published, author=scraped.author,
    )


def _split_title(text: str) -> tuple[str, str]:
    """A short first line that does not end like a sentence, followed by more text, is the title."""
    first, _, rest = text.partition("\n")
    first = first.strip().lstrip("#").strip()
    if rest.strip() and len(first.split()) <= 20 and not SENTENCE_END.search(first) and not first.endswith(":"):
        return first, rest.strip()
    return "", text


def _first_line(raw: str, line: str) -> int:
    """The 1-based number of the input line that holds `line`."""
    return next((n for n, text in enumerate(raw.splitlines(), 1) if line in " ".join(text.split())), 1)


def _make_article(
    name: str, scraped: Scraped, *, key: str, article_id: str = "", title: str = "", url: str = "",
    published: str = "", source: str = "", author: str = "", record: bool = False,
) -> Cleaned:
    if not scraped.text.strip():
        raise EmptyArticle(name, empty_reason(scraped, record=record), scraped.removed)
    article = Article(
        id=article_id or _stable_id(key),
        text=scraped.text,
        title=without_surrogates(title.strip()),
        url=without_surrogates(url),
        published=normalise_date(published, name),
        source=without_surrogates(source),
        author=without_surrogates(author),
    )
    return Cleaned(article, name, scraped.mode, scraped.removed, scraped.fallback)


def empty_reason(scraped: Scraped, *, record: bool = False) -> str:
    """Why an article came out empty: what cleaning removed and how to keep it."""
    if not scraped.removed:
        return "article is empty (the text is blank)"
    rules = ", ".join(f"{n} {rule}" for rule, n in Counter(r.rule for r in scraped.removed).most_common())
    first = scraped.removed[0].text
    first = first if len(first) <= 60 else first[:57] + "..."
    page_rules = {r.rule for r in scraped.removed} & PAGE_RULES  # without them --clean furniture would keep some
    keep = "--clean furniture (only certain furniture goes) or --clean none" if page_rules else "--clean none"
    if record:
        keep += ', or give the record "clean": "none"'
    return (
        f"article is empty: the {scraped.mode} cleaning rules removed all of it ({rules}: {first!r}); "
        f"to keep it, ingest with {keep}; `qa clean` shows each removal"
    )


def _with_defaults(article: Article, **defaults: str) -> Article:
    return replace(article, **{k: without_surrogates(v) for k, v in defaults.items() if v and not getattr(article, k)})


def normalise_date(value: str, name: str = "") -> str:
    """An ISO date (YYYY-MM-DD) from common date spellings; '' when absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return ""
    from dateutil import parser

    try:
        return parser.parse(value, fuzzy=False, default=None).date().isoformat()  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):
        log.warning("%s: ignoring unreadable date %r", name, value)
        return ""


def _stable_id(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _domain(url: str) -> str:
    host = urlparse(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host
