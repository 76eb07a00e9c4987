"""Size limits on what is read: one article, one feed, one download; each with a message naming how to raise it."""

from __future__ import annotations

import os
from typing import BinaryIO, Iterator

from qa.errors import ConfigError, SourceError

DEFAULT_MAX_ARTICLE_BYTES = 4_000_000  # ~650,000 words: far past any news article, short of a runaway scrape
DEFAULT_MAX_UPLOAD_BYTES = 64_000_000  # one file uploaded in the app (a JSONL export holds many articles)
MAX_FEED_BYTES = 32_000_000  # feedparser holds ~15x a feed's size in memory while it parses


def max_article_bytes(value: int | None = None) -> int:
    """`value`, or `$QA_MAX_ARTICLE_BYTES`, or the default; a ConfigError when it is not a positive number."""
    if value is None:
        return _env_bytes("QA_MAX_ARTICLE_BYTES", DEFAULT_MAX_ARTICLE_BYTES)
    if value < 1:
        raise ConfigError(f"the article size limit must be at least 1 byte, got {value}")
    return value


def max_upload_bytes() -> int:
    """The largest file the app accepts as an upload: `$QA_MAX_UPLOAD_BYTES`, or 64 MB."""
    return _env_bytes("QA_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)


def _env_bytes(name: str, default: int) -> int:
    """A positive byte count from the environment variable `name` (`default` when unset or blank)."""
    raw = os.environ.get(name, "")
    try:
        value = int(raw) if raw.strip() else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of bytes, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def too_big(source: str, size: int, limit: int, what: str = "article") -> SourceError:
    """The error for an article (or a record, or a download) over the limit."""
    return SourceError(
        source,
        f"{what} is {_size(size)}, over the {_size(limit)} limit per article; "
        f"raise it with --max-article-bytes (or QA_MAX_ARTICLE_BYTES), or split the {what}",
    )


def check_size(source: str, text: str, limit: int) -> None:
    """Raise `too_big` when `text` is over `limit` bytes as UTF-8 (cheap: it counts characters first)."""
    if len(text) > limit // 4 and len(text.encode("utf-8", "surrogatepass")) > limit:
        raise too_big(source, len(text.encode("utf-8", "surrogatepass")), limit)


def bounded_lines(file: BinaryIO, limit: int) -> Iterator[tuple[bytes, int]]:
    """Lines of a binary file as (line, size), never holding more than `limit` bytes of one:
    a longer line is read through and yielded as (b"", its size)."""
    while True:
        line = file.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line, len(line)
            continue
        size = len(line)
        while line and not line.endswith(b"\n"):  # skip the rest of the overlong line in bounded pieces
            line = file.readline(1 << 18)
            size += len(line)
        yield b"", size


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"
