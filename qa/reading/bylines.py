"""Bylines as pages write them ("By A, B and C", "A and B, Reuters", "Posted on … by A"), read to the author's name."""

from __future__ import annotations

import re

from qa.reading.dates import STAMP_WORDS, find_dates

# Words that make a line an outlet, not a person: "The Spokesman-Review", "BBC News, Cardiff", "Associated Press".
ORG_WORDS = frozenset(
    "news times post review herald journal tribune gazette press media daily chronicle observer telegraph independent "
    "standard mail mirror express guardian reuters bloomberg associated agency network radio tv television broadcasting "
    "corporation magazine online wire bureau service newspaper weekly monitor courier dispatch bulletin examiner inquirer "
    "register globe insider cnn bbc abc nbc cbs npr pbs afp ap ledger newsroom desk staff group institute foundation "
    "university ministry department council committee association party government club company inc ltd corp llc".split()
)
# Words no person's name is made of: sections, labels, places' compass points, days and months.
_NOT_NAMES = ORG_WORDS | frozenset(
    "world top stories story most read live watch latest breaking just related topics more home sport sports business "
    "politics opinion analysis features culture health science tech technology climate crisis environment weather travel "
    "money markets market economy video videos audio podcast podcasts photos gallery east west north south middle league "
    "cup premier super election elections war new menu search share save comments subscribe login log sign the of and "
    "monday tuesday wednesday thursday friday saturday sunday january february march april june july august september "
    "october november december today yesterday update updated published posted editorial edition by".split()
)
ROLE_WORDS = frozenset(
    "writer writers reporter reporters correspondent correspondents editor editors columnist contributor contributors "
    "journalist producer critic analyst chief intern presenter anchor host".split()
)
# Words of a desk before the role: "Environment reporter", "Chief political correspondent", "Social Affairs Editor".
_DESKS = frozenset(
    "senior chief deputy associate assistant staff special contributing managing executive investigative national "
    "international local foreign diplomatic political politics policy economics economic business finance financial "
    "markets money technology tech science health medical environment environmental climate energy transport education "
    "social affairs home security defence defense legal crime arts culture sport sports football media data digital "
    "features food travel fashion music film books property consumer royal weather world news city community europe "
    "european africa asia america americas middle east eastern west western north northern south southern central us uk "
    "white house washington london brussels beijing moscow bureau and of the".split()
)
_PARTICLES = frozenset("de da di du del della der den van von le la bin ibn al el ten ter y st.".split())
_CREDIT_BEFORE_BY = re.compile(
    r"\b(?:photo(?:graph)?s?|pictures?|images?|illustrations?|graphics?|videos?|edited|produced|reporting|compiled|"
    r"designed|translated|narrated|read|supported|sponsored|powered|presented|hosted|caused|followed|led)\W*$",
    re.I,
)
_BY_PREFIX_WORDS = frozenset("written words story reported posted text article report blog post and".split())
_LABEL_PREFIX = re.compile(r"^\s*(?:authors?|byline|words|written by|reporter|reporters)\s*:\s*", re.I)
_CUT = re.compile(
    r"\s+[|·•]\s*|\s+[-–—]\s+|\s*\(|\s*[,;]?\s+(?:published|updated|posted|on|at)\b\s*|"
    r"\s+(?:for|special to|reporting from|in collaboration with)\s+.*$|\s+\d+\s*min(?:ute)?s?\s+read\b.*$",
    re.I,
)
_IN_PLACE = re.compile(r"\s+in\s+[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*){0,2}(?=\s+and\s|\s*,|\s*$)")
_JUNK = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+|https?://\S+|\bemail\b|\bfollow\b|\btwitter\b", re.I)
_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+")


def byline_author(line: str) -> str:
    """The author a byline names ("By Jane Doe | March 3, 2026" -> "Jane Doe"); '' when the line is not a byline.

    A line is a byline when it opens with "By" (after a date label: "Posted on … by …"), "Author:" or
    "Words:", or when it is only people's names with an outlet or a role ("A and B, Reuters",
    "Helena Horton Environment reporter", "Shaun Walker in Kyiv"); a single bare name is not enough.
    """
    if len(line.split()) > 24:
        return ""
    text = re.sub(r"^(By)(?=[A-Z][a-z])", r"\1 ", _JUNK.sub(" ", line).strip(" *_"))  # "ByJessica Lane", "**By …**"
    labelled = _LABEL_PREFIX.match(text)
    if labelled:
        return _names(text[labelled.end() :], by=True)
    by = re.search(r"\bby\b\s*:?\s*", text, re.I)
    if by and _prefix_ok(text[: by.start()]):
        return _names(text[by.end() :], by=True)
    bare = text.strip(" |·•-–—,")
    head = _CUT.split(bare, maxsplit=1)[0]
    names = _names(head, by=False)
    rest = bare[len(head) :]
    stamped = bool(rest.strip()) and not re.sub(r"\b(?:min(?:ute)?s?|read)\b", " ", " ".join(_stamp_free(rest))).split()
    outlet = _outlet(rest.strip(" |·•-–—,"), known=True)  # "Jane Doe | Reuters"
    if names and (_SPLIT.search(names) or _IN_PLACE.search(head) or _role_tail(head)[1] or "," in head or stamped or outlet):
        return names
    return ""


def _stamp_free(text: str) -> list[str]:
    """The words of `text` besides dates, times and date labels."""
    for d in reversed(find_dates(text)):
        text = text[: d.start] + " " + text[d.end :]
    return STAMP_WORDS.sub(" ", text).split()


def bare_name(line: str) -> str:
    """A line that is only a person's name ("Patrick Barkham"): the name; '' otherwise."""
    text = line.strip()
    names = _names(text, by=False)
    return names if names and not _SPLIT.search(text) else ""


def role_line(line: str) -> bool:
    """A journalist's role or place on its own line: "Arts reporter", "Staff Writer", "Reporting from Washington"."""
    line = _JUNK.sub(" ", line).strip()
    words = line.split()
    if re.match(r"^(?i:reporting|reported|writing) from\s+[A-Z]", line) and len(words) <= 6:
        return True
    if not 1 <= len(words) <= 6 or words[-1].lower().strip(".,") not in ROLE_WORDS or re.search(r"[.!?:]$", line):
        return False
    return all(w.lower() in _DESKS or w.lower() in ROLE_WORDS for w in words[:-1])


def org_line(line: str) -> bool:
    """A line naming an outlet: "The Spokesman-Review", "BBC News, Cardiff", "Reuters"; not a sentence."""
    words = re.sub(r"[,|]", " ", line).split()
    if not 1 <= len(words) <= 6 or re.search(r"[.!?:]$", line):
        return False
    capitalised = all(w[:1].isupper() or w.lower() in ("of", "the", "and", "for", "&") for w in words)
    if not capitalised:
        return False
    return any(_word(w) in ORG_WORDS for w in words) or words[0] == "The" and len(words) <= 4


def _word(word: str) -> str:
    """A word lower-cased, without its possessive and punctuation: "Reuters'" -> "reuters"."""
    return re.sub(r"['’]s?$", "", word.lower().strip(".,:;|()"))


def _prefix_ok(prefix: str) -> bool:
    """What comes before 'by' in a byline: nothing, a date label and date ("Posted on July 22, 2026"), "Written"."""
    if _CREDIT_BEFORE_BY.search(prefix):
        return False
    return all(w.lower() in _BY_PREFIX_WORDS for w in _stamp_free(prefix))


def _names(text: str, *, by: bool) -> str:
    """`text` as an author: names joined by commas and "and", an outlet allowed after them; '' when it is not."""
    text = text.strip()
    for d in find_dates(text)[:1]:  # "Jane Doe March 3, 2026"
        text = text[: d.start]
    text = _CUT.split(text, maxsplit=1)[0] if by else text
    text = _IN_PLACE.sub("", text).strip(" ,;|·•-–—")
    text, had_role = _role_tail(text)
    if not text or re.search(r"\d", text) or len(text.split()) > 14:
        return ""
    if re.search(r"[^\W\d_]{2}[.!?]$", text) and not text.endswith((" Jr.", " Sr.")):  # "By Friday." ends a sentence
        return ""
    parts = [p for p in _SPLIT.split(text) if p]
    people = [_person(p, caps=by) for p in parts]
    if not all(people[:-1]) or not parts:
        return ""
    if not people[-1]:
        if not (len(parts) > 1 or by) or not _outlet(parts[-1], known=not by):
            return ""  # the last part may be an outlet ("…, Reuters"), or, after "By", the author itself
        if not by and not any(people):
            return ""
    for part, person in zip(parts, people):
        if person:
            text = text.replace(part, _recase(part), 1)
    return text if by or had_role or any(people) else ""


def _person(part: str, *, caps: bool) -> bool:
    """Two to four capitalised name words (particles such as "van" or "de" between): "Maria Martinez", "J. R. Smith"."""
    tokens = part.split()
    names = [t for t in tokens if t.lower() not in _PARTICLES]
    if not 2 <= len(names) <= 4 or len(tokens) - len(names) > 2 or tokens[0].lower() in _PARTICLES:
        return False
    for t in names:
        core = t.rstrip(".").replace("'", "").replace("’", "").replace("-", "")
        if not core.isalpha() or not t[0].isupper() or t.lower().strip(".") in _NOT_NAMES:
            return False
        if t.isupper() and len(core) > 1 and not caps:
            return False  # "LOCAL NEWS" is a label; an upper-case name needs its "By"
    return True


def _outlet(part: str, *, known: bool) -> bool:
    """A capitalised name of an outlet ("Reuters", "The Associated Press"); `known`: it must say so (an outlet's
    word, or letters such as "CNN"), so that "Hong Kong, China" is no byline."""
    words = part.split()
    if not 1 <= len(words) <= 5 or not all(w[:1].isupper() or w in ("of", "the", "and") for w in words):
        return False
    return not known or any(_word(w) in ORG_WORDS or w.isupper() and 2 <= len(w) <= 5 for w in words)


def _role_tail(text: str) -> tuple[str, bool]:
    """Strip a role after the name: "Jane Doe, Staff Writer", "Helena Horton Environment reporter"; a role
    with no name before it ("Social Affairs Correspondent") leaves nothing."""
    words = text.split()
    if len(words) < 2 or words[-1].lower().strip(".,") not in ROLE_WORDS:
        return text, False
    if (comma := text.rfind(",")) > 0:  # "Oliver Wright, Policy Editor"; not ", a Shenzhen-based analyst"
        role = text[comma + 1 :].split()
        if len(role) <= 5 and all(w.lower() in _DESKS | ROLE_WORDS for w in role):
            return text[:comma].strip(), True
        return text, False
    keep = len(words) - 1
    while keep and words[keep - 1].lower().strip(",") in _DESKS | ROLE_WORDS:
        keep -= 1
    return " ".join(words[:keep]), True


def _recase(name: str) -> str:
    """An upper-case name as a name is written: "EGILL BJARNASON" -> "Egill Bjarnason"; others as written."""
    return " ".join(w.title() if w.isupper() and len(w) > 1 else w for w in name.split())
