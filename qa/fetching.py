"""HTTP GET for URL and feed ingest: a size cap and a total deadline, so no server can hold a reader forever."""

from __future__ import annotations

import time

from qa.errors import SourceError
from qa.limits import too_big

USER_AGENT = "article-qa/0.1 (+https://pypi.org/project/article-qa)"


def fetch(url: str, timeout: float, max_bytes: int) -> tuple[bytes, str]:
    """GET a URL; returns the body and content type, or raises SourceError with the reason.

    `timeout` bounds each network wait and, times four, the whole download; a body over `max_bytes`
    is refused before it is read (by its Content-Length) or as soon as it passes the cap.
    """
    import httpx

    deadline = time.monotonic() + 4 * timeout
    body = bytearray()
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                raise SourceError(url, f"cannot fetch: HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise too_big(url, int(declared), max_bytes, "download")
            for piece in response.iter_bytes():
                body += piece
                if len(body) > max_bytes:
                    raise too_big(url, len(body), max_bytes, "download")
                if time.monotonic() > deadline:
                    raise SourceError(url, f"cannot fetch: the download took over {4 * timeout:g} s (--timeout {timeout:g})")
            content_type = response.headers.get("content-type", "")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, UnicodeError, ValueError) as exc:  # InvalidURL: '508.0.0.1'
        raise SourceError(url, f"cannot fetch: {exc.__class__.__name__}: {exc}") from None
    return bytes(body), content_type
