"""Title, date and author of scraped text: the headline just above the byline and date block, read from its lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qa.reading.bylines import bare_name, byline_author, org_line, role_line
from qa.reading.dates import (
    best_date, context_years, dateline_date, find_dates, is_date_line, leftover_words, partial_date, url_date,
)
from qa.reading.furniture import Removal
from qa.reading.prose import SENTENCE_END, reads_as_prose, reads_like_sentence

Line = tuple[int, str]  # (1-based line number in the input, the line's text)

# Navigation that is no headline: promotions, sign-ups, account links, "Skip to", support appeals.
_PROMO = re.compile(
    r"^subscribe\b|\bsubscribe (?:now|today|for|to)\b|\b(?:already|become) a subscriber\b|\bsubscribers? only\b|"
    r"\bsign (?:up|in|out)\b|\blog ?(?:in|out)\b|^register\b|\bregister now\b|\bnewsletters?$|\bour newsletters?\b|"
    r"\bdownload (?:the|our) app\b|\bget the app\b|\bopen in app\b|\blearn more\b|\bfree trial\b|\bunlimited access\b|"
    r"\balready have an account\b|\bcreate (?:a|an|your) (?:free )?account\b|"
    r"\bsupport (?:us|the [A-Z]\w+|our journalism|independent journalism)\b|\bfund independent journalism\b|"
    r"^donate\b|\bdonate now\b|^advertisement\b|\badvertise with us\b|^sponsored\b|\bskip to\b|\bwe use cookies\b|"
    r"\bcookie (?:policy|settings|preferences)\b|\bprivacy (?:policy|settings|notice)\b|\bterms of (?:use|service)\b|"
    r"^watch live\b|^live tv\b|^listen live\b|\be-?edition\b|\bprint subscriptions\b|^search jobs\b|\bfollow us\b|"
    r"\bshare (?:this|on)\b|\bleave a (?:comment|reply)\b|^\d+ comments?\b|\bview comments\b|"
    r"\$\d+(?:\.\d\d)?(?: for| a | per|/)|\bper month\b",
    re.I,
)
_BREADCRUMB = re.compile(r"\s(?:>|›|»|\||/|•|·)\s")
_DATELINE_MARK = re.compile(r"\((?:Reuters|AP|AFP|dpa|Bloomberg|UPI|CNN)\)|^[A-Z]{3,}[A-Z ,.'’-]*\s(?:\(|—|–|-\s)")
_FUNCTION_WORDS = frozenset(
    "the a an of to and or but in on at for with by from that as is are was were his her their its our this into "
    "than then who which whose".split()
)
_CAPTION_CUE = re.compile(
    r"\((?:left|right|centre|center|l|r|pictured|file)\)|\bpictured\b|\bfile (?:photo|picture|image)\b|"
    r"\b(?:is|are) (?:seen|pictured|shown)\b|^(?:file|photo|image|caption)\b",
    re.I,
)
# What photo captions say and headlines seldom do: a pose, a reaction, a scene.
_CAPTION_VERB = re.compile(
    r"\b(?:celebrates?|celebrating|poses?|posing|looks on|gestures?|gesturing|reacts?|reacting|waves?|waving|smiles?|"
    r"smiling|is seen|are seen|pictured|in this (?:photo|picture|image)|during (?:a|an|the) (?:news|press) conference|"
    r"speaks during|speaks at|arrives (?:at|for)|shakes hands)\b",
    re.I,
)
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.){2,}$|\b(?:Inc|Jr|Sr|Co|Ltd|St|Corp|Bros)\.$|\.\.\.$|…$")
_BY_ALONE = re.compile(r"^\W*(?:by|written by|words by|authors?|byline)\W*$", re.I)
_SITE_SUFFIX = re.compile(r"\s+(?:\||[-–—]|::)\s+([^|]{2,50})$")
META = frozenset({"date", "byline", "name", "org", "role", "credit"})
STRONG = frozenset({"date", "byline"})
MAX_HEADLINE_WORDS = 25


@dataclass(frozen=True)
class Metadata:
    """What the lines above an article said about it, and which lines (by index) said it, with the rule."""

    title: str = ""
    published: str = ""  # ISO date
    author: str = ""
    used: dict[int, str] = field(default_factory=dict)  # index into the lines -> "title", "byline" or "date"


def find_metadata(lines: list[Line], removed: list[Removal] = ()) -> Metadata:  # type: ignore[assignment]
    """Title, published date and author of a scraped page, from its lines (furniture already cut).

    The article starts at its first full sentence. The byline and date block is the run of byline,
    date, name, outlet and role lines nearest above it (or just after a standfirst). The headline is
    the best headline-shaped line just above that block (or above the article's first sentence):
    not navigation, a promotion, a section label, a caption or a credit. `removed` is what the
    furniture rules took out (its captions mark the lines beside them; its dates give a dateline's year).
    """
    texts = [text for _, text in lines]
    start = next((i for i, t in enumerate(texts) if _opens_article(t) and not _strong(t) and not _nav_sentence(texts, i)),
                 len(texts))
    window = _window_end(texts, start)
    kinds = _kinds(lines, removed, head=min(len(texts), window + 5))
    cluster = _last_cluster(kinds, window)
    anchor = cluster[0] if cluster else start
    first_is_first = not any(r.line < next((n for n, t in lines if t), 0) for r in removed)
    # no title is taken from a text with no sentence of its own: it would leave nothing of the article
    title_at = _choose_title(lines, kinds, anchor, cluster, start, first_is_first) if start < len(texts) else None
    used: dict[int, str] = {}
    for i in cluster + [i for i in range(window) if kinds[i] in STRONG]:
        if kinds[i] in META:
            used[i] = "date" if kinds[i] == "date" else "byline"
    author = _author(texts, kinds, cluster, window, title_at, start, used)
    if not author:
        head_credits = [r.text for r in removed if r.rule == "credit" and r.line < _number(lines, start)]
        author = next((a for a in map(byline_author, head_credits) if a), "")
    title = ""
    if title_at is not None:
        title = _clean_title(texts[title_at])
        used[title_at] = "title"
        for i in range(anchor):  # the page's <title> line above the headline: "Headline | Site"
            if i not in used and _same_title(texts[i], title):
                used[i] = "title"
    published = _published(texts, kinds, cluster, window, start, lines, removed)
    if start == len(texts):
        used = {}  # no sentence of its own: every line stays, whatever it looks like ("March 20")
    return Metadata(title=title, published=published, author=author, used=used)


def _kinds(lines: list[Line], removed: list[Removal], head: int) -> list[str]:
    """The kind of each line of the head (the first `head` lines); the article's body below is all "sentence"."""
    texts = [t for _, t in lines]
    # a credit line alone ("Photograph: Ben Birchall/PA") marks the line above it as its caption
    captions = {r.line - 1 for r in removed if r.whole_line and r.rule in ("caption", "credit") and len(r.text.split()) <= 6}
    kinds = [_kind(t, nxt, n in captions) for (n, t), nxt in zip(lines[:head], [*texts[1 : head + 1], ""])]
    for i, kind in enumerate(kinds):
        j = next((j for j in range(i + 1, head) if kinds[j] != "blank"), None)
        if j is None:
            continue
        if kind == "name" and kinds[j] == "byline" and _headline_shaped(texts[i], ""):
            kinds[i] = "headline"  # a title-cased headline over a byline looks like a name: "Glacier Loses Ice"
        elif _BY_ALONE.match(texts[i]) and kinds[j] == "name":
            kinds[i], kinds[j] = "credit", "byline"  # "By" on a line of its own, the name below
    return kinds + ["sentence"] * (len(lines) - head)


def _kind(line: str, next_line: str, before_caption: bool) -> str:
    """What a line is in a page's head: blank, promo, date, byline, role, credit, name, org, label, caption,
    headline (headline-shaped), sentence, or other."""
    line = line.strip("*_ ")  # markdown emphasis: "**By Jane Doe**"
    if not line:
        return "blank"
    words = line.split()
    if len(words) > MAX_HEADLINE_WORDS + 5:  # article prose: no byline, date or headline is this long
        return "sentence" if reads_like_sentence(line) else "other"
    if _PROMO.search(line) and len(words) <= 14:
        return "promo"
    if is_date_line(line) or find_dates(line) and org_line(" ".join(leftover_words(line))):
        return "date"  # "Thursday March 12 2026, 6.00pm GMT, The Times"
    if byline_author(line):
        return "byline"
    if role_line(line):
        return "role"
    if re.match(r"^(?:illustrations?|graphics?|photo(?:graph)?s?|images?|video|animation|design|credits?)\s*(?:by|:)\s+\S", line, re.I):
        return "credit"
    if bare_name(line):
        return "name"
    if before_caption or _CAPTION_CUE.search(line) and not reads_like_sentence(line):
        return "caption"
    if org_line(line) and len(words) <= 4:
        return "org"
    if (len(words) <= 2 or line.isupper() and len(words) <= 4 or _breadcrumb(line)) and not re.search(r"[.!?]$", line):
        return "label"
    if _headline_shaped(line, next_line):
        return "headline"
    return "sentence" if reads_like_sentence(line) else "other"


def _breadcrumb(line: str) -> bool:
    """"Home > World > Europe", "News | Local": short parts between separators."""
    parts = _BREADCRUMB.split(line)
    return len(parts) >= 2 and all(len(p.split()) <= 3 for p in parts)


def _headline_shaped(line: str, next_line: str) -> bool:
    """3 to 25 words, opening with a capital, a digit or a quote, and ending like a headline: no full stop
    (a question, an exclamation or a quote may end it), no comma, colon or dash; not a fragment of a
    sentence that runs on (ending in "the" or "of", or continued in lower case on the next line)."""
    words = line.split()
    if not 3 <= len(words) <= MAX_HEADLINE_WORDS or _DATELINE_MARK.search(line):
        return False
    first = next((c for c in line if c.isalnum()), "")
    if not (first.isupper() or first.isdigit()) or line[0].islower():
        return False
    bare = line.rstrip("\"'”’“)]»« ")
    if re.search(r"[,;:(\-–—]$", bare) or bare.endswith(".") and not _ABBREVIATION.search(bare):
        return False
    if words[-1].lower().strip("\"'”’") in _FUNCTION_WORDS or re.search(r"[^\W\d_]{2}[.!?] +[A-Z]", line):
        return False  # a fragment ("… as the"), or two sentences run together
    return not next_line[:1].islower() or bool(re.match(r"(?:by|updated|posted|published)\b", next_line))


def _opens_article(line: str) -> bool:
    """The article's first sentence: eight or more words ending like a sentence, or twenty or more of prose."""
    words = len(line.split())
    return reads_like_sentence(line) and words >= 8 or reads_as_prose(line) and words >= 20


def _nav_sentence(texts: list[str], i: int) -> bool:
    """A sentence in the navigation, not the article's: a promotion ("We use cookies to …"), or one with
    more navigation right below it ("Exclusive news, data and analytics for professionals." / "Learn more")."""
    if len(texts[i].split()) > 16:
        return False
    if _PROMO.search(texts[i]):
        return True
    below = next((t for t in texts[i + 1 :] if t), "")
    return bool(below) and (len(below.split()) <= 14 and bool(_PROMO.search(below)) or len(below.split()) <= 2
                            and not re.search(r"[.!?]$", below) and not bare_name(below))


def _strong(line: str) -> bool:
    """A byline or a date line: "Posted on July 22, 2026 by Margaret Ellis" is no sentence of the article."""
    return is_date_line(line) or bool(byline_author(line))


def _window_end(texts: list[str], start: int) -> int:
    """Where the head ends: the article's second sentence (a byline may follow a standfirst sentence)."""
    for i in range(start + 1, min(len(texts), start + 9)):
        if _opens_article(texts[i]) and not _strong(texts[i]):
            return i
    return min(len(texts), start + 9)


def _last_cluster(kinds: list[str], end: int) -> list[int]:
    """The byline and date block nearest the article: a run of meta lines with a byline or date among them
    (a label or a button line between two of them is allowed); [] when the head has none."""
    runs: list[list[int]] = []
    run: list[int] = []
    gaps = 0  # label or button lines since the run's last meta line
    for i in range(end):
        kind = kinds[i]
        if kind in META:
            run.append(i)
            gaps = 0
        elif kind == "blank":
            continue
        elif run and kind in ("label", "promo", "caption") and not gaps:
            gaps = 1
        else:
            runs, run, gaps = runs + [run] if run else runs, [], 0
    runs = [r for r in [*runs, run] if any(kinds[i] in STRONG for i in r)]
    return runs[-1] if runs else []


def _choose_title(
    lines: list[Line], kinds: list[str], anchor: int, cluster: list[int], start: int, first_is_first: bool
) -> int | None:
    """The headline's index: the headline lines right above the block (or the article) win; then those right
    below the block; then ones a label or two above; then the text's first line; None when nothing fits."""
    texts = [t for _, t in lines]
    block, gap, nav_above = _block_above(texts, kinds, anchor)
    prose_ok = bool(cluster) and gap == 0 or nav_above >= 2  # a headline that reads as prose needs the layout's word
    pick = _pick(texts, block, prose_ok)
    if pick is not None and gap == 0:
        return pick
    if cluster:
        below = _block_below(texts, kinds, cluster[-1], start)
        if (pick_below := _pick(texts, below, True)) is not None:
            return pick_below
    if pick is not None and gap <= 2:
        return pick
    first = next((i for i, (n, t) in enumerate(lines) if t), None)
    if first is not None and first_is_first and first < anchor:  # the text file's own first line
        text = texts[first]
        two_words = len(text.split()) == 2 and all(re.match(r"[^\W\d_]", w) for w in text.split())  # "Glacier shrinks"
        if kinds[first] in ("headline", "label", "org") and not reads_as_prose(text):
            return first if _headline_shaped(text, "") or two_words and not SENTENCE_END.search(text) else None
    return None


def _block_above(texts: list[str], kinds: list[str], anchor: int) -> tuple[list[int], int, int]:
    """The run of headline lines nearest above `anchor`, how many navigation lines stand between (standfirsts,
    captions and meta lines do not count), and how many navigation lines stand right above the run."""
    block: list[int] = []
    gap = 0
    for i in range(anchor - 1, -1, -1):
        kind = kinds[i]
        if kind == "blank":
            continue
        if kind == "headline":
            block.insert(0, i)
            continue
        if block:
            above = [k for k in kinds[:i + 1] if k != "blank"][::-1]
            return block, gap, next((n for n, k in enumerate(above) if k not in ("label", "promo", "org")), len(above))
        if not (kind in META or kind == "caption" or kind == "sentence" and len(texts[i].split()) >= 6):
            gap += 1
    return block, gap, 0


def _block_below(texts: list[str], kinds: list[str], after: int, start: int) -> list[int]:
    """Headline lines between the byline block and the article (the byline above the headline)."""
    block: list[int] = []
    for i in range(after + 1, len(texts)):
        if kinds[i] == "headline" and i < max(start, after + 1) + 4 and not _opens_article(texts[i]):
            block.append(i)
        elif kinds[i] not in ("blank", "caption", "credit") and (block or kinds[i] not in META):
            break
    return block


def _pick(texts: list[str], block: list[int], prose_ok: bool) -> int | None:
    """The headline in a run of headline lines: the first, unless it is a short kicker over a longer headline;
    a line that reads as prose only where the page's layout vouches for it (`prose_ok`)."""
    fit = [i for i in block if prose_ok or not reads_as_prose(texts[i])]
    if not fit:
        return None
    first = next((t for t in texts if t), "")
    if len(fit) > 1 and (same := [i for i in fit if i > 0 and _same_title(first, _clean_title(texts[i]))]):
        return same[0]  # the one the page's title line (its first line) repeats
    top = fit[0]
    if len(fit) > 1:
        nxt = fit[1]
        if _CAPTION_VERB.search(texts[top]) and not _CAPTION_VERB.search(texts[nxt]):
            return nxt  # "Maisie Holt celebrates her winner at Wembley" above the headline
        if len(texts[top].split()) <= 3 and len(texts[nxt].split()) >= 2 * len(texts[top].split()) and not reads_as_prose(texts[nxt]):
            return nxt  # "Women's Super League" above "Lionesses reach the final …"
    return top


def _author(texts: list[str], kinds: list[str], cluster: list[int], window: int, title_at: int | None,
            start: int, used: dict[int, str]) -> str:
    """The block's byline; else a bare name in the block; else any byline in the head; else a name below the title."""
    for pool, kind in ((cluster, "byline"), (cluster, "name"), (range(window), "byline")):
        for i in pool:
            if kinds[i] == kind:
                return byline_author(texts[i]) or bare_name(texts[i])
    if title_at is not None:
        above = next((i for i in range(title_at - 1, -1, -1) if kinds[i] != "blank"), None)
        if above is not None and kinds[above] == "name" and not any(k in STRONG for k in kinds[:title_at]):
            used[above] = "byline"  # a columnist's name over the headline
            return bare_name(texts[above])
        for i in range(title_at + 1, start):
            if kinds[i] == "name":
                used[i] = "byline"
                for j in (i + 1, i + 2):  # "BBC News, Cardiff", "Arts reporter" under the name
                    if j < start and kinds[j] in ("org", "role"):
                        used[j] = "byline"
                    else:
                        break
                return bare_name(texts[i])
    return ""


def _published(texts: list[str], kinds: list[str], cluster: list[int], window: int, start: int,
               lines: list[Line], removed: list[Removal]) -> str:
    """The block's date; else a date line in the head; else one below the article; else the dateline's."""
    block = [texts[i] for i in cluster]
    head = [texts[i] for i in range(window) if kinds[i] in STRONG]
    tail = [t for t in texts[-8:] if is_date_line(t)] if len(texts) > window + 8 else []
    first = _number(lines, start)
    links = [r.text for r in removed if r.line < first] + texts[:start]  # a saved page's address: ".../2026/03/12/..."
    found = best_date(block) or best_date(head) or best_date(tail) or next(filter(None, map(url_date, links)), "")
    if found:
        return found
    years = context_years(texts[:start] + [r.text for r in removed if r.line < first], texts + [r.text for r in removed])
    partial = [d for t in block + head if (d := partial_date(t, years))]
    if partial:
        return next((d.iso for d in partial if d.kind != "updated"), partial[0].iso)
    return next((d for t in texts[start : start + 2] if (d := dateline_date(t, years))), "")


def _number(lines: list[Line], index: int) -> int:
    return lines[index][0] if index < len(lines) else (lines[-1][0] + 1 if lines else 1)


def _clean_title(line: str) -> str:
    """The headline without markdown hashes or the site's name after it ("… | Evening Standard")."""
    title = re.sub(r"\s+", " ", line.lstrip("#").strip().strip("*_").strip())
    site = _SITE_SUFFIX.search(title)
    if site and (org_line(site.group(1)) or len(site.group(1).split()) <= 3 and site.group(1).istitle()):
        title = title[: site.start()].strip()
    return title


def _same_title(line: str, title: str) -> bool:
    def key(text: str) -> str:
        return re.sub(r"\W+", " ", text).strip().casefold()

    return bool(title) and (key(_clean_title(line)) == key(title))
