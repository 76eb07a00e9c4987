"""Main-text extraction: trafilatura for HTML; for plain text, furniture cut (qa.reading.furniture), page clutter trimmed."""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from dataclasses import dataclass

from qa.errors import ConfigError
from qa.reading.furniture import TIMESTAMP_LINE, Removal, cut_furniture, has_words, whole_line_rule
from qa.reading.metadata import Metadata, find_metadata
from qa.reading.prose import SENTENCE_END, reads_as_prose  # SENTENCE_END is also sources.py's (kept importable here)

log = logging.getLogger(__name__)

# page: furniture rules, then the page-level rules (related lists, jusText edges, bylines) for scraped pages;
# furniture: only the furniture rules, for text that is already extracted (JSONL/CSV exports, feeds); none: as is.
CLEAN_MODES = ("page", "furniture", "none")
CLEAN_CHOICES = ("auto", *CLEAN_MODES)  # auto: page for scraped text and HTML, furniture for records and feeds
MAX_PAGE_LOSS = 0.6  # page rules that would remove more of the prose sentences than this are overruled

# Headings under which sites list other stories: the rest of the page is not the article.
_RELATED_HEADING = re.compile(
    r"^\s*(?:latest|related|more|top|trending|recommended|popular|other|recent)"
    r"(?: \w+){0,2} (?:stories|articles|news|posts|reads|headlines|topics|coverage|videos|links|from [\w .]+)\s*:?\s*$"
    r"|^\s*(?:you (?:may|might) also like|most (?:read|popular|viewed)|read (?:next|also)|"
    r"also (?:read|on [\w .]+)|more on this (?:story|topic)|explore more(?: on these topics)?)\s*:?\s*$",
    re.IGNORECASE,
)
MIN_PAGE_WORDS = 5

Line = tuple[int, str]  # (1-based line number in the input, the line's text)


@dataclass(frozen=True)
class Extracted:
    """Main text of a page and the metadata found beside it."""

    text: str
    title: str = ""
    published: str = ""
    author: str = ""
    site: str = ""
    url: str = ""  # the page's own address (canonical link or og:url), when it gives an http(s) one
    removed: tuple[Removal, ...] = ()  # what cleaning removed from trafilatura's text (lines numbered in it)


@dataclass(frozen=True)
class Scraped:
    """Scraped plain text split into the article and what its page said about it."""

    text: str
    headline: str = ""  # the headline found above the article's byline block or first sentence
    published: str = ""  # the published date (ISO) of the byline block, a date line, or the dateline
    author: str = ""  # the byline's names ("Lucy Craymer and Praveen Menon"), without "By", roles or emails
    removed: tuple[Removal, ...] = ()  # every line or piece of a line taken out of the text, with its rule
    mode: str = "page"
    fallback: str = ""  # when the page rules were overruled (they would have removed too much): why


def check_mode(mode: str) -> str:
    """`mode` when it is one of CLEAN_MODES; a ConfigError naming the choices otherwise."""
    if mode not in CLEAN_MODES:
        raise ConfigError(f"unknown cleaning mode {mode!r}; choose one of {', '.join(CLEAN_MODES)}")
    return mode


def extract_html(page: str | bytes, url: str = "", mode: str = "page") -> Extracted:
    """Main text and metadata of an HTML page with trafilatura; empty text when none is found."""
    import trafilatura

    check_mode(mode)
    doc = trafilatura.bare_extraction(
        page, url=url or None, with_metadata=True, include_comments=False, include_tables=False
    )
    if doc is None:
        return Extracted("")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    scraped = clean_scraped(str(data.get("text") or ""), mode)
    text, removed = scraped.text, scraped.removed
    title = _one_line(data.get("title")) or scraped.headline  # the page's own metadata first, then its text's
    if title and text.startswith(title):  # trafilatura sometimes repeats the headline
        text = text[len(title) :].lstrip()
        removed = (Removal(1, title, "title"), *removed)
    if len(text.split()) < MIN_PAGE_WORDS:  # a menu or a login link, not an article
        text = ""
    return Extracted(
        text=text,
        title=title,
        published=_one_line(data.get("date")) or scraped.published,
        author=_one_line(data.get("author")) or scraped.author,
        site=_one_line(data.get("sitename") or data.get("hostname")),
        url=_web_url(data.get("url")),
        removed=removed,
    )


def _web_url(value: object) -> str:
    url = _one_line(value)
    return url if re.match(r"https?://[^\s/]+", url) else ""


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (a feed item's content), paragraphs on their own lines; not cleaned."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", fragment)
    text = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h\d)\s*/?>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return clean_text(text, "none")


def clean_text(raw: str, mode: str = "page") -> str:
    """Remove page clutter from scraped plain text, keeping every sentence of the article itself."""
    return clean_scraped(raw, mode).text


def clean_scraped(raw: str, mode: str = "page") -> Scraped:
    """The article in scraped text, with the headline, date and byline found around it and every removal named.

    `mode` "furniture" applies only the furniture rules (text already extracted); "none" only tidies whitespace.
    """
    check_mode(mode)
    lines: list[Line] = [(n, _normalise_line(line)) for n, line in enumerate(_normalise(raw).split("\n"), 1)]
    if mode == "none":
        return Scraped(_join(lines), mode=mode)
    lines, furniture = _strip_furniture(lines)
    if mode == "furniture":
        return Scraped(_join(lines), removed=tuple(furniture), mode=mode)
    page, removed, meta = _page_rules(lines, furniture)
    found = dict(headline=meta.title, published=meta.published, author=meta.author)
    # page rules remove whole lines only; the headline is not lost, it is the title
    lost = prose_sentences([(r.line, r.text) for r in removed if r.rule != "title"])
    before = prose_sentences(lines) if lost else 0
    if lost and lost > MAX_PAGE_LOSS * before:
        rules = ", ".join(f"{rule} ({n} line{'s' * (n > 1)})" for rule, n in Counter(r.rule for r in removed).most_common())
        fallback = f"the page rules would remove {lost} of its {before} sentences: {rules}"
        log.warning("cleaning kept the text with only furniture removed: %s", fallback)
        return Scraped(_join(lines), removed=tuple(furniture), mode=mode, fallback=fallback, **found)
    return Scraped(_join(page), removed=tuple(sorted(furniture + removed, key=lambda r: r.line)), mode=mode, **found)


def prose_sentences(lines: list[Line]) -> int:
    """How many sentences of these lines read as prose (the safety net's measure)."""
    from qa.reading.chunking import split_sentences

    return sum(reads_as_prose(line[s:e]) for _, line in lines if line for s, e in split_sentences(line))


def _strip_furniture(lines: list[Line]) -> tuple[list[Line], list[Removal]]:
    """Drop the lines that are furniture as a whole and cut furniture out of the others."""
    kept: list[Line] = []
    removed: list[Removal] = []
    for n, line in lines:
        rule = whole_line_rule(line) if line else ""
        if rule:
            removed.append(Removal(n, line, rule))
            continue
        rest, cuts = cut_furniture(line) if line else (line, [])
        if cuts and not has_words(rest):
            removed.append(Removal(n, line, "+".join(dict.fromkeys(rule for rule, _ in cuts))))
            continue
        removed.extend(Removal(n, piece, rule, whole_line=False) for rule, piece in cuts)
        kept.append((n, rest))
    return kept, removed


def _page_rules(lines: list[Line], furniture: list[Removal]) -> tuple[list[Line], list[Removal], Metadata]:
    """Related-story lists, the headline, byline and date lines, and the page's edges; returns (article,
    removals, the metadata found)."""
    lines, removed = _cut_related_list(lines)
    meta = find_metadata(lines, furniture)
    removed += [Removal(lines[i][0], lines[i][1], rule) for i, rule in meta.used.items()]
    lines = [line for i, line in enumerate(lines) if i not in meta.used]
    lines, trimmed = _trim_edges(lines)
    removed += [Removal(n, line, "page-edge") for n, line in trimmed]
    return lines, sorted(removed, key=lambda r: r.line), meta


def _normalise(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff\u200b]", "", text)
    return without_surrogates(text)


def without_surrogates(text: str) -> str:
    """`text` with lone surrogates (a JSON "\\ud800" escape) as U+FFFD: they cannot be written as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _normalise_line(line: str) -> str:
    return re.sub(r"[ \t]+", " ", line).strip()


def _cut_related_list(lines: list[Line]) -> tuple[list[Line], list[Removal]]:
    """Drop a 'Latest Stories' style heading and the headline list after it."""
    for i, (_, line) in enumerate(lines):
        if i > 0 and _related_heading(line) and _looks_like_list([text for _, text in lines[i + 1 :]]):
            return lines[:i], [Removal(n, text, "related-list") for n, text in lines[i:] if text]
    return lines, []


def _related_heading(line: str) -> bool:
    """'Latest Stories', 'More from BBC News': short, and no sentence ("Other complaints from … court.")."""
    return len(line.split()) <= 7 and not SENTENCE_END.search(line) and bool(_RELATED_HEADING.match(line))


def _looks_like_list(lines: list[str]) -> bool:
    """True when what follows is headlines, not prose: few lines end like sentences."""
    body = [line for line in lines if line and not TIMESTAMP_LINE.match(line) and line != "-"]
    if not body:
        return True
    sentence_like = sum(1 for line in body if SENTENCE_END.search(line) and len(line.split()) > 6)
    return sentence_like <= len(body) // 4


def _trim_edges(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Trim page furniture above and below the article; returns (the kept lines, the trimmed ones).

    Above the first and below the last line that jusText judges good, the lines that do not read as
    prose are trimmed; a line that reads as prose stays wherever it stands, so no sentence is lost.
    Below the article only short lines go (tags, "Explore more", "Privacy Policy"): headlines stand above it.
    """
    content = [i for i, (_, line) in enumerate(lines) if line]
    if len(content) < 3:
        return lines, []
    verdicts = _justext_good([lines[i][1] for i in content])
    if not any(verdicts):
        return lines, []
    first = verdicts.index(True)
    last = len(verdicts) - 1 - verdicts[::-1].index(True)
    edges = {i for i in content[:first] if not reads_as_prose(lines[i][1])}
    edges |= {i for i in content[last + 1 :] if len(lines[i][1].split()) < 8 and not reads_as_prose(lines[i][1])}
    return [x for i, x in enumerate(lines) if i not in edges], [lines[i] for i in sorted(edges)]


def _justext_good(paragraphs: list[str]) -> list[bool]:
    import justext

    page = "<html><body>" + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs) + "</body></html>"
    # one sentence per line is common in scraped text, so a 120-character line counts as long
    result = justext.justext(
        page.encode("utf-8"), justext.get_stoplist("English"), encoding="utf-8", length_low=50, length_high=120
    )
    verdicts = [p.class_type == "good" or p.cf_class in ("good", "neargood") for p in result]
    return verdicts if len(verdicts) == len(paragraphs) else [True] * len(paragraphs)


def _join(lines: list[Line]) -> str:
    text = "\n".join(line for _, line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _one_line(value: object) -> str:
    return re.sub(r"\s+", " ", str(value or "")).strip()
