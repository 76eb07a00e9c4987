"""Dates as pages write them ("Thu., Oct. 8, 2026 at 6:45 p.m.", "25 Nov 2026 06.00 GMT", "2026-11-25"), read to ISO."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?![a-z])\.?"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d:.]\d)"
_YEAR = r"(?:19|20)\d\d"  # no end boundary: pages glue the time on ("November 25, 20263:41 PM")
_WRITTEN = re.compile(
    rf"(?<![\w/.])(?:(?P<d1>{_DAY})\s+(?:of\s+)?(?P<m1>{MONTH}),?\s+(?P<y1>{_YEAR})"  # 25 Nov 2026, 25th of November, 2026
    rf"|(?P<m2>{MONTH})\s+(?P<d2>{_DAY}),?\s+(?P<y2>{_YEAR}))",  # November 25, 2026; Nov. 25 2026; Oct. 8th, 2026
    re.I,
)
_ISO = re.compile(
    r"(?<![\d/.])(?P<y>(?:19|20)\d\d)-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)(?![\d])"
    r"(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?"  # 2026-11-25T10:00:00Z
)
_NUMERIC = re.compile(r"(?<![\d/.])(?P<a>[0-3]?\d)(?P<sep>[/.])(?P<b>[0-3]?\d)(?P=sep)(?P<y>(?:19|20)\d\d)(?!\d)")
_US_TIME = re.compile(r"\b(?:[ap]\.?m\.?|e[sd]t|c[sd]t|m[sd]t|p[sd]t|et|ct|pt)\b", re.I)  # numeric dates read month first
_UPDATED = re.compile(r"\b(?:updated|last (?:updated|modified)|modified|edited|revised|amended)\b", re.I)
_PUBLISHED = re.compile(r"\b(?:published|posted|first published|created|released|issued|dated?|filed)\b", re.I)
# What a date line says besides its date: weekdays, times, zones, labels, relative times, separators.
STAMP_WORDS = re.compile(
    r"\b(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|rsday|urday)?\.?"
    r"|\d{1,2}(?:[:.]\d{2}){1,2}\s*(?:[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?|noon|midnight"
    r"|(?:gmt|utc)(?:\s*[+-]\s*\d{1,2}(?::?\d{2})?)?|bst|cet|cest|eet|eest|[ecmp][sd]t|et|ct|pt|ist|jst|aest|aedt|acst|awst|nzst|nzdt|sast|msk"
    r"|(?:just )?now|today|yesterday|\d+\s*(?:second|sec|minute|min|hour|hr|day|week|month|year)s?(?: ago)?|\d+\s*[smhdw] ago|ago"
    r"|updated|last|modified|edited|revised|published|posted|first|created|released|issued|dated?|filed|on|at|of"
    r")(?![\w])|[^\w\s]",
    re.I,
)

_STAMP_CORE = re.compile(
    r"\b(?:\d{1,2}[:.]\d{2}|\d{1,2}\s*[ap]\.?m\b|updated|modified|published|posted|ago|today|yesterday)\b", re.I
)


@dataclass(frozen=True)
class FoundDate:
    """A date found in a line: the ISO day, how the line labels it (published, updated or plain), and where."""

    iso: str
    kind: str
    start: int
    end: int


def find_dates(line: str) -> list[FoundDate]:
    """Every full date (day, month and year) in a line, in order, each with its label."""
    spans: list[tuple[int, int, date]] = []
    us_order = bool(_US_TIME.search(line))
    for m in _WRITTEN.finditer(line):
        day, month, year = (m["d1"], m["m1"], m["y1"]) if m["d1"] else (m["d2"], m["m2"], m["y2"])
        _add(spans, m, int(year), _MONTHS[month[:3].lower()], int(re.sub(r"\D", "", day)))
    for m in _ISO.finditer(line):
        _add(spans, m, int(m["y"]), int(m["m"]), int(m["d"]))
    clock_24h = not us_order and bool(re.search(r"\b\d{1,2}[:h]\d\d\b", line))  # "03/10/2026 - 10:42": not American
    for m in _NUMERIC.finditer(line):
        a, b = int(m["a"]), int(m["b"])
        if m["sep"] == "/" and a <= 12 and b <= 12 and not us_order and not clock_24h:
            continue  # "03/04/2026" with no time beside it: which is the month is unknown
        # "14.10.2026", "25/11/2026", "03/10/2026 - 10:42" are day first; "03/14/2026", "03/04/2026 6:45 PM EST" month first
        day_first = m["sep"] == "." or a > 12 or clock_24h and b <= 12
        _add(spans, m, int(m["y"]), *((b, a) if day_first else (a, b)))
    spans.sort()
    found, at = [], 0
    for start, end, day in spans:
        before = line[at:start]
        labels = [(m.start(), "updated") for m in _UPDATED.finditer(before)]
        labels += [(m.start(), "published") for m in _PUBLISHED.finditer(before)]
        found.append(FoundDate(day.isoformat(), max(labels)[1] if labels else "plain", start, end))
        at = end
    return found


def _add(spans: list[tuple[int, int, date]], m: re.Match[str], year: int, month: int, day: int) -> None:
    if any(s < m.end() and m.start() < e for s, e, _ in spans):
        return
    try:
        spans.append((m.start(), m.end(), date(year, month, day)))
    except ValueError:
        pass


_PARTIAL = re.compile(rf"(?<![\w/.])(?:(?P<m1>{MONTH})\s+(?P<d1>{_DAY})|(?P<d2>{_DAY})\s+(?P<m2>{MONTH}))(?![\w])(?!,?\s+\d)", re.I)
_URL_DATE = re.compile(r"https?://\S*?/((?:19|20)\d\d)[/-](0?[1-9]|1[0-2])[/-]([0-3]?\d)(?=[/-]|\.html|$)")


def leftover_words(line: str) -> list[str]:
    """The words of a line besides its dates (a month and day without the year too), times, zones and labels."""
    for d in reversed(find_dates(line)):
        line = line[: d.start] + " " + line[d.end :]
    return STAMP_WORDS.sub(" ", _PARTIAL.sub(" ", _NUMERIC.sub(" ", line))).split()


def partial_date(line: str, years: list[int]) -> FoundDate | None:
    """A month and day with no year ("Updated March 12 at 6:45 p.m."), dated with the page's year (`years`)."""
    m = _PARTIAL.search(line)
    if not m or not years:
        return None
    month, day = (m["m1"], m["d1"]) if m["m1"] else (m["m2"], m["d2"])
    try:
        iso = date(years[0], _MONTHS[month[:3].lower()], int(re.sub(r"\D", "", day))).isoformat()
    except ValueError:
        return None
    kind = "updated" if _UPDATED.search(line[: m.start()]) else "plain"
    return FoundDate(iso, kind, m.start(), m.end())


def url_date(text: str) -> str:
    """The day in a page address ("https://example.com/2026/03/12/story"), ISO; '' when it has none."""
    m = _URL_DATE.search(text)
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat() if m else ""
    except ValueError:
        return ""


def is_date_line(line: str) -> bool:
    """A line that is a date, a time or a date label and little else ("Updated 9:41 p.m. ET", "Published"),
    not a sentence that mentions one."""
    if len(line.split()) > 16 or re.search(r"[^\W\d_]{2,}[.!?][\"'”’]?$", line) and len(line.split()) > 4:
        return False
    words = leftover_words(line)
    if find_dates(line):
        return len(words) <= 1
    return not words and bool(_STAMP_CORE.search(line) or _PARTIAL.search(line) or _NUMERIC.search(line))  # "Updated 9:41 p.m. ET", "Published", "2 hours ago"


def best_date(lines: list[str]) -> str:
    """The published day among date lines: the first labelled published or plain, else the first updated one."""
    found = [d for line in lines for d in find_dates(line)]
    first = next((d for d in found if d.kind != "updated"), None) or next(iter(found), None)
    return first.iso if first else ""


_DATELINE = re.compile(
    rf"^(?-i:[A-Z][A-Z.'’ -]{{1,40}})(?:,\s*[A-Z][\w.'’ -]{{1,30}})?,?\s+"
    rf"(?:(?P<m1>{MONTH})\s+(?P<d1>{_DAY})|(?P<d2>{_DAY})\s+(?P<m2>{MONTH}))(?:,?\s+(?P<y>{_YEAR}))?(?=[\s.,(/—–-])",
    re.I,
)


def dateline_date(line: str, years: list[int]) -> str:
    """The day of a dateline opening an article ("OSLO, Aug 14 (Reuters) -"), its year written or the one the
    page's head or copyright line gives (`years`, most telling first); '' when neither gives one. The dates in an
    article's own sentences do not: anniversaries and histories name other years."""
    m = _DATELINE.match(line)
    if not m or not line[:3].isupper():
        return ""
    month, day = _MONTHS[(m["m1"] or m["m2"])[:3].lower()], int(re.sub(r"\D", "", m["d1"] or m["d2"]))
    year = int(m["y"]) if m["y"] else (years[0] if years else 0)
    try:
        return date(year, month, day).isoformat() if year else ""
    except ValueError:
        return ""


_COPYRIGHT_YEAR = re.compile(r"(?:©|\(c\)|copyright)\s*©?\s*((?:19|20)\d\d)\b", re.I)


def context_years(head: list[str], page: list[str]) -> list[int]:
    """Years a page gives for a date without one, most telling first: the latest full date above the article
    (a caption's, a date line's), then a copyright year."""
    years = sorted((int(d.iso[:4]) for line in head for d in find_dates(line)), reverse=True)
    return years + [int(m.group(1)) for line in page for m in _COPYRIGHT_YEAR.finditer(line)]
