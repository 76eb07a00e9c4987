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
    r"image (?:source|caption)[:,]?.{0,80}|getty images|related:?|-+|[•|·]+|"
    r"follow us(?: on [\w ]+)?|privacy policy|terms of (?:use|service)|comments? \(\d+\)|"
    r"(?:©|\(c\)|copyright)\s*\d{4}.{0,100}|.{0,80}all rights reserved"
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
_BYLINE = re.compile(r"^(?:by|published|updated|posted|photo|image)\b", re.I)
# Photo captions and credits: "Item 1 of 2 ...", "[1/2]...", "... REUTERS/Jane Doe/File Photo", "Photograph: X/AP".
_CAPTION_LINE = re.compile(
    r"^(?:item \d+ of \d+\b|\[\d+/\d+\])|\b(?:reuters|ap photo|afp|epa|bloomberg|getty images|shutterstock)/\S"
    r"|purchase licensing rights|, opens new tab$|^(?:photograph|photo|image|picture|illustration)s?(?:\s*:|\s+by\s)"
    r"|(?:/|\bvia |\bfor )getty images\.?$",
    re.I,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# A date as bylines write it: "25 Nov 2026", "November 25, 2026", "Nov. 25, 2026", "2026-11-25".
_DATE = re.compile(rf"\b(?:\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})", re.I)
_NAME_LINE = re.compile(r"^[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){1,3}$")  # "Patrick Barkham" alone on its line
_BY_LINE = re.compile(r"^(?i:by)\s+([A-Z][^\d|]{2,60}?)\s*$")  # "By Jane Doe, Reuters", not "By the numbers"
_SENTENCE_END = re.compile(r"[.!?…\"'”’)\]]\s*$")


@dataclass(frozen=True)
class Extracted:
    """Main text of a page and the metadata found beside it."""

    text: str
    title: str = ""
    published: str = ""
    author: str = ""
    site: str = ""
    url: str = ""  # the page's own address (canonical link or og:url), when it gives an http(s) one


@dataclass(frozen=True)
class Scraped:
    """Scraped plain text split into the article and what its page said about it."""

    text: str
    headline: str = ""  # the headline found in the clutter above the article
    published: str = ""  # a date from the byline area, as written ("25 Nov 2026")
    author: str = ""


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
        url=_web_url(data.get("url")),
    )


def _web_url(value: object) -> str:
    url = _one_line(value)
    return url if re.match(r"https?://[^\s/]+", url) else ""


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (a feed item's content), paragraphs on their own lines."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", fragment)
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return clean_text(text)


def clean_text(raw: str) -> str:
    """Remove page clutter from scraped plain text, keeping every line of the article itself."""
    return clean_scraped(raw).text


def clean_scraped(raw: str) -> Scraped:
    """The article in scraped text, with the headline, date and byline found around it."""
    lines = [_normalise_line(line) for line in _normalise(raw).split("\n")]
    lines = _cut_related_list(lines)
    lines = [line for line in lines if not _BOILERPLATE_LINE.match(line) and not _CAPTION_LINE.search(line)]
    above, lines = _trim_edges(lines)
    lines, front = _front_matter(lines)
    dates = [line for line in above + front if _date_line(line)]
    bylines = [m.group(1) for m in map(_BY_LINE.match, above + front) if m]
    bylines += [line for line in front if _NAME_LINE.match(line)]
    headlines = [line for line in above if _reads_like_headline(line) and not _date_line(line)]
    if not headlines and above and _reads_like_headline(above[0], min_words=2) and not _date_line(above[0]):
        headlines = above[:1]  # a text file's own short title on its first line: "Glacier shrinks"
    return Scraped(
        _join(lines),
        headline=headlines[-1] if headlines else "",  # the nearest to the article, above its byline
        published=_DATE.search(dates[0]).group() if dates else "",  # type: ignore[union-attr]
        author=bylines[0] if bylines else "",
    )


def _front_matter(lines: list[str]) -> tuple[list[str], list[str]]:
    """Split off byline and date lines ("Jane Doe", "Tue 25 Nov 2026 06.00 GMT") standing among the
    short lines before the article's first full sentence; returns (the article, those lines)."""
    kept, front = [], []
    for i, line in enumerate(lines):
        if _reads_like_sentence(line) and len(line.split()) >= 8:
            return kept + lines[i:], front
        byline = _BY_LINE.match(line) or _BYLINE.match(line) and len(line.split()) <= 8 and not _reads_like_sentence(line)
        (front if byline or _date_line(line) or _NAME_LINE.match(line) else kept).append(line)
    return lines, []


def _date_line(line: str) -> bool:
    """A line that is a date and little else: not a sentence that mentions one."""
    match = _DATE.search(line)
    if not match or _SENTENCE_END.search(line) and not line.endswith(("GMT", "UTC", "ET")):
        return False
    return len((line[: match.start()] + line[match.end() :]).split()) <= 6


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


def _trim_edges(lines: list[str]) -> tuple[list[str], list[str]]:
    """Trim leading and trailing page furniture; returns the lines trimmed above and the kept lines.

    Only runs of lines at the edges that jusText judges boilerplate and that do not read like
    sentences are trimmed: a line inside the article, or one ending like a sentence next to it,
    always stays, so no sentence of the article itself is lost.
    """
    content = [i for i, line in enumerate(lines) if line]
    if len(content) < 3:
        return [], lines
    verdicts = _justext_good([lines[i] for i in content])
    if not any(verdicts):
        return [], lines
    first = verdicts.index(True)
    last = len(verdicts) - 1 - verdicts[::-1].index(True)
    while first > 0 and _reads_like_sentence(lines[content[first - 1]]):
        first -= 1
    while last < len(content) - 1 and _reads_like_sentence(lines[content[last + 1]]):
        last += 1
    return [lines[i] for i in content[:first]], lines[content[first] : content[last] + 1]


def _reads_like_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line)) and len(line.split()) >= 3


def _reads_like_headline(line: str, min_words: int = 4) -> bool:
    return min_words <= len(line.split()) <= 20 and not _SENTENCE_END.search(line) and not _BYLINE.match(line)


def _justext_good(paragraphs: list[str]) -> list[bool]:
    import justext

    page = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</body></html>"
    # one sentence per line is common in scraped text, so a 120-character line counts as long
    result = justext.justext(
        page.encode("utf-8"), justext.get_stoplist("English"), encoding="utf-8", length_low=50, length_high=120
    )
    verdicts = [p.class_type == "good" or p.cf_class in ("good", "neargood") for p in result]
    return verdicts if len(verdicts) == len(paragraphs) else [True] * len(paragraphs)


def _join(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _one_line(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()
