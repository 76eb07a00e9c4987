"""Main-text extraction: trafilatura for HTML, jusText plus a few heuristics for scraped plain text."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Lines that are page furniture wherever they stand.
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"audio by [\w .&-]+|listen to (?:this )?(?:article|story)(?: \d+ min)?|advertisement|"
    r"(?:share|tweet|email|print)(?: this)?(?: (?:article|story|page))?(?: on \w+)?|"
    r"(?:sign up|subscribe)(?: (?:to|for) [\w ]+)?|skip to (?:main )?content|read more|"
    r"click here(?: to [\w ]+)?|cookie (?:policy|settings)|accept (?:all )?cookies|"
    r"image (?:source|caption)[:,]?.{0,80}|getty images|related:?|-+|[•|·]+"
    r")\s*[:.!]?\s*$",
    re.IGNORECASE,
)
# Headings under which sites list other stories: the rest of the page is not the article.
_RELATED_HEADING = re.compile(
    r"^\s*(?:latest|related|more|top|trending|recommended|popular|other|recent)"
    r"(?: \w+){0,2} (?:stories|articles|news|posts|reads|headlines|from [\w .]+)\s*:?\s*$"
    r"|^\s*(?:you (?:may|might) also like|most (?:read|popular|viewed)|read (?:next|also)|"
    r"also (?:read|on [\w .]+)|more on this (?:story|topic))\s*:?\s*$",
    re.IGNORECASE,
)
# "2 minutes -", "1 hour ago", "3 days -": timestamps of headline lists.
_TIMESTAMP_LINE = re.compile(r"^\s*\d+\s+(?:second|minute|min|hour|hr|day|week|month)s?(?:\s+ago)?\s*-?\s*$", re.I)
MIN_PAGE_WORDS = 5
_SENTENCE_END = re.compile(r"[.!?…\"'”’)\]]\s*$")


@dataclass(frozen=True)
class Extracted:
    """Main text of a page and the metadata found beside it."""

    text: str
    title: str = ""
    published: str = ""
    author: str = ""
    site: str = ""


def extract_html(page: str | bytes, url: str = "") -> Extracted:
    """Main text and metadata of an HTML page with trafilatura; empty text when none is found."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        page, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    if doc is None:
        return Extracted("")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = clean_text(str(data.get("text") or ""))
    title = _one_line(data.get("title"))
    if title and text.startswith(title):  # trafilatura sometimes repeats the headline
        text = text[len(title) :].lstrip()
    if len(text.split()) < MIN_PAGE_WORDS:  # a menu or a login link, not an article
        text = ""
    return Extracted(
        text=text,
        title=title,
        published=_one_line(data.get("date")),
        author=_one_line(data.get("author")),
        site=_one_line(data.get("sitename") or data.get("hostname")),
    )


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (a feed item's content), paragraphs on their own lines."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", fragment)
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return clean_text(text)


def clean_text(raw: str) -> str:
    """Remove page clutter from scraped plain text, keeping every line of the article itself."""
    lines = [_normalise_line(line) for line in _normalise(raw).split("\n")]
    lines = _cut_related_list(lines)
    lines = [line for line in lines if not _BOILERPLATE_LINE.match(line)]
    lines = _trim_edges(lines)
    return _join(lines)


def _normalise(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return re.sub(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff\u200b]", "", text)


def _normalise_line(line: str) -> str:
    return re.sub(r"[ \t]+", " ", line).strip()


def _cut_related_list(lines: list[str]) -> list[str]:
    """Drop a 'Latest Stories' style heading and the headline list after it."""
    for i, line in enumerate(lines):
        if i > 0 and _RELATED_HEADING.match(line) and _looks_like_list(lines[i + 1 :]):
            return lines[:i]
    return lines


def _looks_like_list(lines: list[str]) -> bool:
    """True when what follows is headlines, not prose: few lines end like sentences."""
    body = [line for line in lines if line and not _TIMESTAMP_LINE.match(line) and line != "-"]
    if not body:
        return True
    sentence_like = sum(1 for line in body if _SENTENCE_END.search(line) and len(line.split()) > 6)
    return sentence_like <= len(body) // 4


def _trim_edges(lines: list[str]) -> list[str]:
    """Trim leading and trailing page furniture that jusText judges boilerplate.

    Only the edges are trimmed: a short line inside the article stays, so no sentence of the
    article itself is ever lost.
    """
    content = [line for line in lines if line]
    if len(content) < 3:
        return lines
    verdicts = _justext_good(content)
    if not any(verdicts):
        return lines
    first = verdicts.index(True)
    last = len(verdicts) - 1 - verdicts[::-1].index(True)
    keep_from, keep_to = content[first], content[last]
    start = lines.index(keep_from)
    end = len(lines) - lines[::-1].index(keep_to)
    dropped = [line for line in lines[:start] + lines[end:] if line]
    # edges that end like sentences are prose, whatever jusText says
    if any(_SENTENCE_END.search(line) and len(line.split()) >= 8 for line in dropped):
        return lines
    return lines[start:end]


def _justext_good(paragraphs: list[str]) -> list[bool]:
    import justext

    page = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</body></html>"
    result = justext.justext(page.encode("utf-8"), justext.get_stoplist("English"), encoding="utf-8")
    verdicts = [p.class_type == "good" for p in result]
    return verdicts if len(verdicts) == len(paragraphs) else [True] * len(paragraphs)


def _join(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _one_line(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()
