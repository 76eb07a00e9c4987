"""Main-text extraction: trafilatura for HTML; for plain text, furniture cut (qa.furniture), page clutter trimmed."""

from __future__ import annotations

import html
import logging
import re
from collections import Counter
from dataclasses import dataclass

from qa.errors import ConfigError
from qa.furniture import TIMESTAMP_LINE, Removal, cut_furniture, has_words, whole_line_rule

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
_BYLINE = re.compile(r"^(?:by|published|updated|posted|photo|image)\b", re.I)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
# A date as bylines write it: "25 Nov 2026", "November 25, 2026", "Nov. 25, 2026", "2026-11-25".
_DATE = re.compile(rf"\b(?:\d{{1,2}} {_MONTH},? \d{{4}}|{_MONTH} \d{{1,2}},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})", re.I)
# What a date line says besides the date: "10:12 AM GMT Updated 3 hours ago"
_TIME_WORDS = re.compile(
    r"\b(?:\d{1,2}[:.]\d{2}|[ap]\.?m\.?|gmt|utc|bst|cet|cest|est|edt|pst|et|updated|published|posted|last|ago|"
    r"\d+|(?:hour|minute|min|day|week)s?|mon|tue|wed|thu|fri|sat|sun)\b|[^\w\s]",
    re.I,
)
_NAME_LINE = re.compile(r"^[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]*[\w'’-]){1,3}$")  # "Patrick Barkham", not "Blame John Oliver."
_BY_LINE = re.compile(r"^(?i:by)\s+([A-Z][^\d|]{2,60}?)\s*$")  # "By Jane Doe, Reuters", not "By the numbers"
# A sentence's end, allowing the stray dashes and quotes exports leave after it: 'fraud.-', 'said."?'
SENTENCE_END = re.compile(r"[.!?…\"'”’)\]][\s\"'”’?\-–—]*$")
_COLON_END = re.compile(r":[\s\-–—]*$")  # 'As she famously said:-' introduces a quote
_CUT_OFF = re.compile(r"\w \w+[,;]?[-–—]+$")  # 'When a Minister offers to give way-'
_SHORT_SENTENCE = re.compile(r"\w[.!?…]+[\"'”’]?$")  # 'Order.', 'Why?', 'Nobody knows.'

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
    headline: str = ""  # the headline found in the clutter above the article
    published: str = ""  # a date from the byline area, as written ("25 Nov 2026")
    author: str = ""
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
    title = _one_line(data.get("title"))
    if title and text.startswith(title):  # trafilatura sometimes repeats the headline
        text = text[len(title) :].lstrip()
        removed = (Removal(1, title, "title"), *removed)
    if len(text.split()) < MIN_PAGE_WORDS:  # a menu or a login link, not an article
        text = ""
    return Extracted(
        text=text,
        title=title,
        published=_one_line(data.get("date")),
        author=_one_line(data.get("author")),
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
    page, removed, above, front = _page_rules(lines)
    dates = [line for line in above + front if _date_line(line)]
    bylines = [m.group(1) for m in map(_BY_LINE.match, above + front) if m]
    bylines += [line for line in front if _NAME_LINE.match(line)]
    headlines = [line for line in above if _reads_like_headline(line) and not _date_line(line)]
    first = next((line for _, line in page if line), "")
    if not headlines and above and _reads_like_headline(above[0], min_words=2) and not _date_line(above[0]) \
            and not _reads_like_headline(first, min_words=1):  # (a title-like first line of the text is the title)
        headlines = above[:1]  # a text file's own short title on its first line: "Glacier shrinks"
    if headlines:  # a name alone below the headline: "Tom Jones" / "BBC News, Cardiff"
        bylines += [line for line in above[above.index(headlines[-1]) + 1 :] if _NAME_LINE.match(line)]
    found = dict(
        headline=headlines[-1] if headlines else "",  # the nearest to the article, above its byline
        published=_DATE.search(dates[0]).group() if dates else "",  # type: ignore[union-attr]
        author=bylines[0] if bylines else "",
    )
    removed = [_what_it_was(r, found["headline"], found["author"]) for r in removed]
    lost = prose_sentences([(r.line, r.text) for r in removed])  # page rules remove whole lines only
    before = prose_sentences(lines) if lost else 0
    if lost and lost > MAX_PAGE_LOSS * before:
        rules = ", ".join(f"{rule} ({n} line{'s' * (n > 1)})" for rule, n in Counter(r.rule for r in removed).most_common())
        fallback = f"the page rules would remove {lost} of its {before} sentences: {rules}"
        log.warning("cleaning kept the text with only furniture removed: %s", fallback)
        return Scraped(_join(lines), removed=tuple(furniture), mode=mode, fallback=fallback, **found)
    return Scraped(_join(page), removed=tuple(sorted(furniture + removed, key=lambda r: r.line)), mode=mode, **found)


def prose_sentences(lines: list[Line]) -> int:
    """How many sentences of these lines read as prose (the safety net's measure)."""
    from qa.chunking import split_sentences

    return sum(reads_as_prose(line[s:e]) for _, line in lines if line for s, e in split_sentences(line))


def reads_as_prose(text: str) -> bool:
    """A sentence, not furniture: three or more words ending like a sentence (or a colon, or a dash where a
    speaker was cut off); a short one ending in a full stop or a question ("Order.", "Why?"); or twelve or
    more words, mostly lower-case (a sentence that lost its full stop, not a title-cased headline)."""
    words = text.split()
    if len(words) >= 3 and (SENTENCE_END.search(text) or _COLON_END.search(text) or _CUT_OFF.search(text)):
        return True
    if _SHORT_SENTENCE.search(text) and re.search(r"[a-z]", text):
        return True
    return len(words) >= 12 and sum(w[:1].islower() for w in words) >= 0.4 * len(words)


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


def _page_rules(lines: list[Line]) -> tuple[list[Line], list[Removal], list[str], list[str]]:
    """Related-story lists, the page's edges and the byline area; returns (article, removals, lines above, front matter)."""
    lines, removed = _cut_related_list(lines)
    lines, trimmed = _trim_edges(lines)
    lines, front = _front_matter(lines)
    first = next((n for n, line in lines if line), 0)
    above = [line for n, line in trimmed if n < first or not first]
    removals = removed + [Removal(n, line, "page-edge") for n, line in trimmed]
    removals += [Removal(n, line, "date" if _date_line(line) else "byline") for n, line in front]
    return lines, removals, above, [line for _, line in front]


def _what_it_was(removal: Removal, headline: str, author: str) -> Removal:
    """A trimmed edge line that became metadata is named for it: the title, a byline, a date."""
    if removal.rule != "page-edge":
        return removal
    line = removal.text
    byline = _BY_LINE.match(line) or line == author
    rule = "title" if line == headline else "byline" if byline else "date" if _date_line(line) else ""
    return Removal(removal.line, line, rule) if rule else removal


def _front_matter(lines: list[Line]) -> tuple[list[Line], list[Line]]:
    """Split off byline and date lines ("Jane Doe", "Tue 25 Nov 2026 06.00 GMT") standing among the
    short lines before the article's first full sentence; returns (the article, those lines)."""
    kept: list[Line] = []
    front: list[Line] = []
    for i, (n, line) in enumerate(lines):
        if _reads_like_sentence(line) and len(line.split()) >= 8:
            return kept + lines[i:], front
        byline = _BY_LINE.match(line) or _BYLINE.match(line) and len(line.split()) <= 8 and not _reads_like_sentence(line)
        (front if byline or _date_line(line) or _NAME_LINE.match(line) else kept).append((n, line))
    return lines, []


def _date_line(line: str) -> bool:
    """A line that is a date and little else: not a sentence that mentions one."""
    match = _DATE.search(line)
    if not match or SENTENCE_END.search(line) and not line.endswith(("GMT", "UTC", "ET")):
        return False
    rest = _TIME_WORDS.sub(" ", line[: match.start()] + " " + line[match.end() :])
    return len(rest.split()) <= 4


def _normalise(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    return re.sub(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff\u200b]", "", text)


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


def _reads_like_sentence(line: str) -> bool:
    return bool(SENTENCE_END.search(line)) and len(line.split()) >= 3


def _reads_like_headline(line: str, min_words: int = 4) -> bool:
    return min_words <= len(line.split()) <= 20 and not SENTENCE_END.search(line) and not _BYLINE.match(line)


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
