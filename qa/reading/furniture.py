"""Certain page furniture: whole furniture lines, and furniture inside a line cut out with the line's prose kept."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

# What each rule removes; `qa clean` and docs/CLEANING.md name removals by these keys.
RULES: dict[str, str] = {
    "boilerplate": "page furniture: lines such as 'Audio By …', 'Share this article', 'Tags: …', cookie and copyright lines, "
    "button lines ('Save', 'Link Copied!', 'Follow'); 'Advertisement' or 'Story continues below advertisement' between "
    "two sentences",
    "timestamp": "a line that is only a headline-list time: '2 minutes -', '3 hours ago'",
    "caption": "a photo caption line: 'Item 1 of 2 …', '[1/2]…', or a short line ending in a photo, illustration or "
    "image credit ('Credit: …')",
    "share-bar": "share buttons: 'Send Facebook Twitter Google+ … Permalink http://…' in a line, 'Share this slide:', "
    "a line of buttons only ('Facebook', 'Copy this link')",
    "agency-code": "editors' initials and agencies closing a line: 'jbh/rt (AFP/Reuters)', 'afp/ke -', '(dpa, AFP)'",
    "credit": "credits closing or opening a line: 'Source:-News agencies', 'Author: …', '(Reporting by …)', "
    "'(China Daily … page12)', a lone e-mail, photo credits, 'Copyright 2024 … All rights reserved.'",
    "follow-us": "a follow-us sentence: 'You can follow BBC Monitoring on Twitter and Facebook.', 'Twitter: @handle'",
    "sign-up": "newsletter prompts: 'Sign up for … alerts delivered straight to your inbox.', a trailing 'Learn more'",
    "link": "a bare link between sentences: 'By @handle http://nyti.ms/…', 'Read more: https://t.co/…'",
    "teaser": "a link to another story at a line's end: 'Read: Looking inside …', 'WATCH: …', 'RELATED: …'",
    "related-list": "a 'Latest Stories'-style heading and the headline list after it (scraped pages only)",
    "page-edge": "short non-sentence lines above and below the article that jusText judges boilerplate (scraped pages only)",
    "byline": "the byline block's byline, name, outlet and role lines above the article (or after a standfirst), "
    "moved into the author field (scraped pages only)",
    "date": "a date line in the page's head ('Updated Thu., Oct. 8, 2026 at 6:45 p.m.'), moved into the published "
    "field as an ISO date (scraped pages only)",
    "title": "the headline above the byline block or the first sentence (or a copy of it, or the text's first line), "
    "moved into the title field",
}

PAGE_RULES = frozenset({"related-list", "page-edge", "byline", "date", "title"})  # the rules of the page mode alone


@dataclass(frozen=True)
class Removal:
    """A piece of the input that cleaning removed (a whole line, or a cut from one) and the rule that removed it."""

    line: int  # 1-based line number in the text that was cleaned
    text: str
    rule: str
    whole_line: bool = True

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "rule": self.rule, "text": self.text, "whole_line": self.whole_line}


# -- whole lines ----------------------------------------------------------------------------
_BOILERPLATE_LINE = re.compile(
    r"^\s*(?:"
    r"audio by [\w .&-]+|listen to (?:this )?(?:article|story)(?: \d+ min)?|advertisement|"
    r"(?:share|tweet|email|print)(?: this)?(?: (?:article|story|page))?(?: on \w+)?|"
    r"(?:sign up|subscribe)(?: (?:to|for) [\w ]+)?|skip to (?:main )?content|read more|"
    r"click here(?: to [\w ]+)?|cookie (?:policy|settings)|accept (?:all )?cookies|"
    r"image (?:source|caption|copyright)[:,]?.{0,80}|getty images|related:?|[-_]+|[•|·]+|"
    r"follow us(?: on [\w ]+)?|privacy policy|terms of (?:use|service)|comments? \(\d+\)|view comments|"
    r"(?:©|\(c\)|copyright)\s*\d{4}.{0,100}|.{0,80}all rights reserved|"
    r"advertisement(?: - scroll to continue)?|scroll to continue(?: with content)?|story continues below(?: advertisement)?|"
    r"continue reading(?: the main story)?|supported by|\d+ min(?:ute)?s? read|reading time:? \d+ min(?:ute)?s?|"
    r"tags?: .{0,150}|this material may not be published, broadcast, rewritten,? or redistributed|"
    r"save(?: (?:article|story|for later))?|link copied|copy link|gift (?:this )?article|leave a (?:comment|reply)|"
    r"listen(?: to (?:this )?(?:article|story))?(?: \(?\d+ min(?:ute)?s?\)?)?|follow|comments?"
    r")\s*[:.!]?\s*$",
    re.IGNORECASE,
)
TIMESTAMP_LINE = re.compile(
    r"^\s*(?:\d+\s+(?:second|minute|min|hour|hr|day|week|month)s?(?:\s+ago)?|\d+\s*[smhdw]\s+ago)\s*-?\s*$", re.I
)
_NAME = r"(?-i:[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+){0,3})"  # capitalised even inside a case-blind pattern
# A credited photographer or outlet, where prose may follow: two words, so "Photo by Ann Lee Along with …" keeps "Along"
_PERSON = r"(?-i:[A-Z][\w'’.-]+(?: [A-Z][\w'’.-]+)?)"
_AGENCY = r"(?:reuters|afp|ap|epa|epa-efe|dpa|anp|xinhua|bloomberg|getty|getty images|pa|tass|ria novosti|anadolu)"
# Photo credits: "REUTERS/Fabian Bimmer/File Photo", "(AP Photo/Evan Vucci)", "Drew Angerer / Getty Images",
# "Photograph: Fabian Bimmer/Reuters", "Photos by Wang Kaihao / China Daily", "Purchase Licensing Rights",
# "(AP Photo/Marco di Marco, File)", "Illustration by Ben Kothe / The Atlantic", "Credit: Pixabay/CC0 Public Domain".
_PHOTO_CREDIT = (
    r"(?:\((?:AP|AFP|EPA|Reuters) Photo/[^()\n]{2,60}\)"
    rf"|\(?(?:REUTERS|AP Photo|AFP(?: Photo)?|EPA(?:-EFE)?|ANP)/(?!(?i:{_AGENCY})\b){_NAME}"
    r"(?:/(?:File Photo|File|Pool|Handout))*\)?"
    r"|(?:Photo |Image )?Credits?:\s*(?-i:[A-Z])[\w./&'’ -]{1,60}?(?=\s*$)"
    r"|(?:(?:Photo|Image|Picture)s? courtesy of|Photo(?:graph)?s?(?: by|:)|Pictures?(?: by|:)|Images?:|"
    r"Illustrations? by|Graphics? by)"
    rf"\s*{_PERSON}(?:\s*/\s*(?:For )?{_PERSON})?"
    rf"|{_NAME}\s+/\s+(?:AFP|Reuters|AP|EPA|Bloomberg)|{_NAME}\s*/\s*(?:Getty Images|(?:For )?China Daily)"
    r"|\((?:Photo|Image|Picture)?\s*(?:credit|courtesy)s?:?[^()\n]{1,80}\)|(?:via |for )?Getty Images"
    r"|Purchase Licensing Rights(?:, opens new tab)?)"
)
_CAPTION_START = re.compile(r"^(?:item \d+ of \d+\b|\[\d+/\d+\])", re.I)
_CAPTION_END = re.compile(rf"(?:^|[\s.!?;,|-]){_PHOTO_CREDIT}[.\s]*$")
MAX_CAPTION_WORDS = 45  # a longer line ending in a credit holds prose: only the credit is cut


def whole_line_rule(line: str) -> str:
    """The rule that makes `line` furniture as a whole, or '' when it is not."""
    if _BOILERPLATE_LINE.match(line):
        return "boilerplate"
    if TIMESTAMP_LINE.match(line):
        return "timestamp"
    if _SHARE_LINE.match(line):
        return "share-bar"
    if _HANDLE_LINE.match(line):
        return "follow-us"
    words = len(line.split())
    if _CAPTION_START.match(line) and words <= 60 or _CAPTION_END.search(line) and words <= MAX_CAPTION_WORDS:
        return "caption"
    return ""


# -- inside a line --------------------------------------------------------------------------
# Most cuts start where a sentence may: at the line's start, or after a sentence's (or a cut's) end and a space.
_BOUNDARY = re.compile(r"[.!?…\"'”’)\]:;\-–—]\s+")
_DEBRIS = re.compile(r"[-–—\"“”?~_\ufffd]+\s*")  # what exports leave where a dash was: '"?Follow Julie Pace at …'
_URL = r"(?:https?://|www\.|pic\.twitter\.com/)\S+"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_NETWORKS = (
    "facebook|twitter|google\\+|google|whatsapp|tumblr|linkedin|stumble|stumbleupon|digg|reddit|newsvine|pinterest|"
    "messenger|telegram|vk|xing|flipboard|pocket|weibo|wechat|viber|threads|bluesky|mastodon|instagram"
)
_SHARE_WORDS = f"{_NETWORKS}|e-?mail|print|sms|copy link|permalink|share|tweet"
# A line of share buttons only: "Share this with", "Facebook", "Copy this link", "Email | Print"
_SHARE_LINE = re.compile(
    rf"^(?:(?:share(?: this)?(?: (?:with|on|via|article|story|page))?|send|copy (?:this )?link|{_SHARE_WORDS})"
    r"(?:[\s|·•,:/]+|$))+$",
    re.I,
)
_HANDLE_LINE = re.compile(rf"^(?:{_NETWORKS}|x)\s*:\s*@\w+\s*$", re.I)  # "Twitter: @portnews"
_SHARE_RUN = re.compile(
    rf"\b(?P<cut>(?:(?:send|share(?: this(?: \w+)?)?:?)\s+)?(?:(?:{_SHARE_WORDS})(?:\s*[|·•/]\s*|\s+)){{2,}}"
    rf"(?:{_SHARE_WORDS})(?:\s+permalink)?(?:\s+{_URL})?)(?=\s|$)",
    re.I,
)
_SHARE_LABEL = re.compile(
    rf"(?P<cut>(?:share|send) (?:this(?: (?:slide|article|story|page|post|video|gallery))?|on (?:{_NETWORKS}))\s*:)"
    r"(?=\s+(?-i:[A-Z\"“])|\s*$)",
    re.I,
)
_PROMO = re.compile(  # "Share this slide: How will … impact you? Learn more": a newsletter box closing the line
    rf"(?P<cut>share this(?: \w+)?:(?:\s+\S+){{0,60}}?\s+learn more\.?)\s*$", re.I
)
_CTA_END = re.compile(
    rf"(?P<cut>(?:learn more|read more|view comments|show comments|continue reading|see more|click here|sign up here|subscribe now)"
    r"[.!)>»]*)[\s\-–]*$",
    re.I,
)
_SIGN_UP = re.compile(
    rf"(?P<cut>(?:never miss a thing\.\s+)?(?:sign up|subscribe)\b[^.!?\n]{{0,120}}?"
    r"\b(?:newsletters?|inbox|e-?mails?|alerts|updates)\b[^.!?\n]{0,80}(?:[.!]\)?|$)|sign up here\.\)?)",
    re.I,
)
_AG_TOKEN = r"[A-Za-z][\w.'&-]{0,24}"
_AG_LIST = rf"\(\s*(?:with\s+)?{_AG_TOKEN}(?:\s*[,/&;]\s*-?\s*(?:and\s+)?{_AG_TOKEN}){{0,6}}\s*\)"
_INITIALS = r"[a-z]{2,5}(?:,\s?[a-z]{2,5})*(?:\s?/\s?[a-z]{2,5}(?:,[a-z]{2,5})*){1,3}"  # jbh/rt, dm, ipj/jm, aw,ls/bw,rc
_AG_PHRASE = r"[A-Za-z][\w.'&-]*(?: [A-Za-z][\w.'&-]*){0,7}"  # "(AFP, Federal Ministry of Transport)"
_KNOWN_AGENCY = rf"(?:{_AGENCY}|kna|epd|efe|ansa|interfax|lusa|ians|pti|upi|yonhap|kyodo|aa|sid|belga|apa|news agencies)"
_AGENCY_CODE = re.compile(
    rf"(?P<cut>{_INITIALS}(?:[\s\-–]*{_AG_LIST})?"  # jbh/rt (AFP/Reuters), afp/ke
    rf"|[a-z]{{2,5}}[\s\-–]*{_AG_LIST}"  # kbm (with dpa)
    rf"|\(\s*(?:with\s+)?(?i:{_KNOWN_AGENCY})(?:\s*[,/&;]\s*-?\s*(?:and\s+)?(?i:{_KNOWN_AGENCY})){{0,6}}\s*\))"  # (Reuters, AP)
    r"[\s\-–]*$"
)
_AGENCY_TAIL = re.compile(  # the same codes after a credit or a figure, with no sentence end before them
    rf"(?<![\w/@.-])(?P<cut>{_INITIALS}[\s\-–]*\(\s*(?:with\s+)?{_AG_PHRASE}(?:\s*[,/&;]\s*-?\s*{_AG_PHRASE}){{0,6}}\s*\)"
    rf"|(?<=[.!?\"'”’)])[a-z]{{2,5}}(?:/[a-z]{{2,5}}){{1,3}})[\s\-–]*$"
)
_STAFF = r"(?:author|(?:additional )?reporting|editing|writing|compiled|produced|video journalist|video producer)"  # … by NAME
_CREDIT_END = re.compile(
    rf"(?P<cut>source\s*:\s*-?\s*[A-Z][\w.&'-]*(?:\s+[\w.&'-]+){{0,5}}"  # Source:-Al Jazeera and news agencies
    rf"|(?:(?:contact|e-?mail|write to) (?:the )?(?:writer|author|reporter|us)s? at\s+)?{_EMAIL}"  # andrewmoody@chinadaily.com.cn
    r"|(?:provided (?:to|by)|courtesy of)\s+[A-Z][\w.&' ]{2,40}"
    rf"|{_STAFF}\s*(?:by\s+|:\s*){_NAME}(?:\s*(?:[;,]|and)\s*(?:{_STAFF}\s*(?:by\s+|:\s*))?{_NAME})*(?:\s*/\s*[a-z]{{2,5}})?"
    rf"|\({_STAFF} by [^()\n]{{3,120}}\))[.\s]*$",  # (Reporting by Jane Doe; Editing by Tom Hale)
    re.I,
)
_INLINE_BOILERPLATE = re.compile(  # "… said. Advertisement The minister added …"
    r"(?P<cut>advertisement(?: - scroll to continue)?|story continues below(?: advertisement)?|continue reading the main story|"
    r"scroll to continue with content|listen to (?:this )?(?:article|story)(?: \d+ min(?:utes?)?)?|\d+ min(?:ute)? read)"
    r"(?=\s+(?-i:[A-Z\"“‘'])|\s*$)",
    re.I,
)
_COPYRIGHT = re.compile(  # "Copyright 2024 The Associated Press. All rights reserved. This material may not be …"
    r"(?P<cut>(?:(?:©|\(c\)|copyright)\s*©?\s*\d{4}\b[^.!?\n]{0,80}\.?\s*)?(?:all rights reserved\.?\s*)?"
    r"(?:this material may not be published, broadcast, rewritten,? or redistributed(?: without (?:prior )?permission)?\.?)?)\s*$",
    re.I,
)
_PRINT_EDITION = re.compile(  # (China Daily European Weekly 12/16/2016 page12)
    r"(?<!\S)(?P<cut>\(\s*[A-Z][\w .&'-]{2,60}?\s+\d{1,2}/\d{1,2}/\d{2,4}\s+page\s?\d+\s*\))\s*$"
)
_PHOTO_CREDIT_AT = re.compile(rf"(?P<cut>{_PHOTO_CREDIT})(?=\s|$)")
_LINK = re.compile(
    rf"(?P<cut>(?:(?:by|via|permalink|more|read more|source|watch|photo|video|link|see)\s*:?\s+)?(?:@\w+\s+)?"
    rf"{_URL}(?:\s+{_URL})*)(?=\s|$)",
    re.I,
)
_TEASER = re.compile(
    rf"(?P<cut>(?:read|read more|read also|also read|see also|watch|related|in pictures|interactive|photos|video|listen)"
    r"\s*:\s*-?\s*[^.!?\n]{3,160}?[?!]?)(?:\s*$|(?=\s+(?:read|read more|watch|related|in pictures)\s*:))",
    re.I,
)
MAX_TEASER_WORDS = 16  # a longer "Read: …" run has run into the next sentence: kept
_FOLLOW = re.compile(
    rf"(?P<cut>(?:(?:or|and|you can|or you can) )?(?:follow|like us|find us|join us|connect with us)\b[^!?\n]{{0,160}}?"
    r"(?:(?<=[a-z0-9)]{2})[.!](?=\s|$)|(?=\s+[-–—]\s)|$))",
    re.I,
)
_FOLLOW_WORDS = re.compile(
    rf"{_URL}|@\w+|\b(?:\w*(?:{_NETWORKS})|you|can|follow|or|us|me|him|her|them|our|my|his|their|on|at|and|"
    r"find|like|join|connect|with|the|via|"
    r"for|latest|news|updates|also|page|account)\b|(?-i:\b[A-Z][\w'’.-]*)|[^\w\s]",
    re.I,
)
_NETWORK_NAMED = re.compile(rf"(?:{_NETWORKS})|twitter\.com|facebook\.com|@\w", re.I)

# Tried in order, each as often as it matches: at a sentence boundary, in the line's last characters, or anywhere.
_CUTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("sign-up", _PROMO, "boundary"),
    ("share-bar", _SHARE_RUN, "anywhere"),
    ("share-bar", _SHARE_LABEL, "boundary"),
    ("agency-code", _AGENCY_CODE, "boundary"),
    ("agency-code", _AGENCY_TAIL, "tail"),
    ("boilerplate", _INLINE_BOILERPLATE, "boundary"),
    ("credit", _COPYRIGHT, "boundary"),
    ("credit", _PRINT_EDITION, "tail"),
    ("credit", _CREDIT_END, "boundary"),
    ("credit", _PHOTO_CREDIT_AT, "boundary"),
    ("sign-up", _CTA_END, "boundary"),
    ("sign-up", _SIGN_UP, "boundary"),
    ("link", _LINK, "boundary"),
    ("teaser", _TEASER, "boundary"),
    ("follow-us", _FOLLOW, "boundary"),
)
_SHARE_NETWORK = re.compile(rf"\b(?:{_NETWORKS})(?!\w)", re.I)
_NETWORK_NAMES = ("facebook", "twitter", "google", "whatsapp", "tumblr", "linkedin", "stumble", "digg", "reddit",
                  "newsvine", "pinterest", "telegram", "xing", "flipboard", "weibo", "wechat", "instagram", "messenger")


def cut_furniture(line: str) -> tuple[str, list[tuple[str, str]]]:
    """Cut the furniture out of one line; returns the line left and the (rule, piece) cuts made."""
    cuts: list[tuple[str, str]] = []
    for _ in range(4):  # again while anything was cut: cutting a share bar exposes the agency code before it
        before = len(cuts)
        for rule, pattern, where in _CUTS:
            if pattern is _SHARE_RUN and sum(name in line.lower() for name in _NETWORK_NAMES) < 2:
                continue  # the costly pattern only runs where two networks are named
            while found := next(((s, m) for s, m in _matches(pattern, where, line) if _accept(rule, m.group("cut"))), None):
                start, match = found
                end = match.end()  # the trailing dashes go too
                cuts.append((rule, match.group("cut").strip()))
                line = _join(line[:start], line[end:])
        if len(cuts) == before:
            break
    return line, cuts


def _matches(pattern: re.Pattern[str], where: str, line: str) -> Iterator[tuple[int, re.Match[str]]]:
    """(where the cut starts, the match): a boundary cut takes the dashes and quotes before it ('"?Follow …')."""
    if where != "boundary":
        for match in pattern.finditer(line, 0 if where == "anywhere" else max(0, len(line) - 200)):
            yield match.start("cut"), match
        return
    for start in (0, *(m.end() for m in _BOUNDARY.finditer(line))):
        if match := pattern.match(line, start):
            yield start, match
        elif (debris := _DEBRIS.match(line, start)) and (match := pattern.match(line, debris.end())):
            yield start, match


def _accept(rule: str, piece: str) -> bool:
    """Checks a regular expression cannot say: enough networks in a share bar, a short teaser, a pure follow-us line."""
    if not piece.strip():
        return False
    if rule == "share-bar" and not piece.rstrip().endswith(":"):
        return len(set(m.group().lower() for m in _SHARE_NETWORK.finditer(piece))) >= 2
    if rule == "teaser":
        return len(piece.split()) <= MAX_TEASER_WORDS
    if rule == "follow-us":
        return bool(_NETWORK_NAMED.search(piece)) and len(_FOLLOW_WORDS.sub(" ", piece).split()) <= 2
    return True


def _join(before: str, after: str) -> str:
    before, after = before.rstrip(), after.strip()
    if not re.search(r"\w", after):  # only dashes and brackets were left behind
        after = ""
    if not before:  # a cut at the start leaves no dash in front: "- Pregnant women …" reads "Pregnant women …"
        after = re.sub(r"^[-–—\s]+", "", after)
    if not after:  # a cut at the end leaves no dangling dash: "… tensions. -" reads "… tensions."
        before = re.sub(r"(?:\s+[-–—]+)+$", "", before)
    return f"{before} {after}".strip() if before and after else before or after


def has_words(text: str) -> bool:
    """True when some letters are left: a line of dashes and brackets is empty."""
    return bool(re.search(r"[^\W\d_]{2}", text))
