"""HTML and chat-text rendering of answers (quoted, written, streamed drafts): everything from an article is escaped."""

from __future__ import annotations

import html
import re
from urllib.parse import urlparse

from typing import TYPE_CHECKING, Sequence

from qa.types import Answer, Citation

if TYPE_CHECKING:
    from qa.answerers.prompt import Passage

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}#~|!$])")

SOURCES_CSS = """
#sources .qa-source { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
#sources .qa-meta { color: #57606a; font-size: 0.85em; margin-bottom: 4px; }
#sources .qa-excerpt { white-space: pre-wrap; line-height: 1.45; }
#sources mark { background: #fff1a8; padding: 0 1px; }
#sources mark.qa-second { background: #eef2f6; border-bottom: 1px dashed #8c959f; }
#sources .qa-source:target, #sources .qa-source.qa-focus { outline: 2px solid #0969da; }
#sources .qa-number { display: inline-block; min-width: 1.6em; color: #0969da; }
.qa-marker { font-size: 0.8em; vertical-align: super; text-decoration: none; margin-left: 1px; }
.qa-unsupported { color: #6e7781; text-decoration: line-through; }
.qa-flag { background: #fff8c5; color: #7d4e00; border-radius: 4px; padding: 0 4px; font-size: 0.75em; margin-left: 2px; }
.qa-pending { color: #6e7781; }
"""
# A click on a [n] marker in the chat scrolls its source card into view and outlines it (the chat renders links
# inside a sandboxed component, so an ordinary #anchor would not move the page's other panel).
MARKER_JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.qa-marker');
    if (!link) return;
    // the chat's sanitiser may drop data- attributes: the number is also the link's text, [n]
    const number = link.dataset.marker || (link.textContent.match(/\d+/) || [''])[0];
    const card = document.getElementById('qa-source-' + number);
    if (!card) return;
    event.preventDefault();
    event.stopPropagation();
    document.querySelectorAll('.qa-source.qa-focus').forEach((c) => c.classList.remove('qa-focus'));
    card.classList.add('qa-focus');
    card.scrollIntoView({behavior: 'smooth', block: 'nearest'});
  }, true);
}
"""
_MARKER_GROUP = re.compile(r"((?:\[\d{1,3}\])+|\[unsupported\])")


def chat_text(text: str) -> str:
    """Text for a chat bubble (which renders Markdown): HTML escaped, Markdown syntax neutralised."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def marker_link(number: int) -> str:
    """A [n] marker as a link to source card n."""
    return f'<a class="qa-marker" href="#qa-source-{number}" data-marker="{number}">[{number}]</a>'


UNSUPPORTED_HTML = '<span class="qa-flag" title="No passage supports this sentence">unsupported</span>'


def _checked_sentence(text: str, markers: Sequence[int]) -> str:
    if markers:
        return chat_text(text) + "".join(marker_link(n) for n in markers)
    return f'<span class="qa-unsupported">{chat_text(text)}</span>{UNSUPPORTED_HTML}'


def draft_message(text: str) -> str:
    """A written answer as it streams: checked sentences with their [n] links (or flagged unsupported), and the
    sentence still being written in grey: nothing is shown as fact before its check."""
    parts = _MARKER_GROUP.split(text)
    out = []
    for i in range(0, len(parts) - 1, 2):
        markers = [int(n) for n in re.findall(r"\d+", parts[i + 1])] if parts[i + 1] != "[unsupported]" else []
        lead = parts[i][: len(parts[i]) - len(parts[i].lstrip())]
        out.append(chat_text(lead) + _checked_sentence(parts[i].strip(), markers))
    pending = parts[-1]
    if pending.strip():
        out.append(f'<span class="qa-pending">{chat_text(pending)}</span>')
    return "".join(out) or "…"


def answer_message(answer: Answer) -> str:
    """The assistant's chat message for an answer: the answer (a quote's short answer in bold, a written
    answer's sentences with their [n] links), how sure we are, and why a written answer fell back."""
    if answer.abstained:
        return chat_text(answer.text)
    if answer.style == "written" and answer.claims:
        body, at = [], 0
        for claim in answer.claims:
            body.append(chat_text(answer.text[at : claim.start]))
            body.append(_checked_sentence(claim.text, claim.markers))
            at = claim.end
            while at < len(answer.text) and answer.text[at] == "[":  # the markers that follow it
                close = answer.text.find("]", at)
                at = close + 1 if close > 0 else len(answer.text)
        return f"{''.join(body)}\n\n*written from the sources, each sentence checked · confidence {answer.confidence:.0%}*"
    message = _quoted_message(answer)
    if answer.fallback:
        message += f"\n\n*{chat_text(answer.note[:1].upper() + answer.note[1:])}.*"
        draft = [_checked_sentence(c.text, c.markers) for c in answer.claims]
        if draft:
            message += ("\n\n<details><summary>The model's draft, as checked</summary>" + " ".join(draft) + "</details>")
    return message


def _quoted_message(answer: Answer) -> str:
    text, short = answer.text, answer.short
    if short is not None and 0 <= short.start < short.end <= len(text):
        body = f"{chat_text(text[: short.start])}**{chat_text(text[short.start : short.end])}**{chat_text(text[short.end :])}"
    else:
        body = chat_text(text)
    second = ""
    if answer.runner_up is not None:
        second = f" · a close second ({answer.runner_up.confidence:.0%}) is marked lighter in the sources"
    return f"{body}\n\n*confidence {answer.confidence:.0%}{second}*"


def sources_html(answer: Answer | None, note: str = "") -> str:
    """The sources panel: one card per citation, the answer span wrapped in <mark>."""
    if answer is None:
        body = f'<p class="qa-empty">{html.escape(note or "Sources of the answer appear here.")}</p>'
        return f'<div class="qa-sources">{body}</div>'
    if not answer.citations:
        return '<div class="qa-sources"><p class="qa-empty">No passages matched.</p></div>'
    if answer.style == "written" and not answer.abstained:
        return written_sources_html(answer.citations)
    heading = "Nearest passages (no answer found)" if answer.abstained else "Sources"
    short = None
    if not answer.abstained and answer.short is not None:
        first = answer.citations[0]
        short = (first.answer_start + answer.short.start, first.answer_start + answer.short.end)
    cards = "".join(citation_html(i, c, short if i == 1 else None) for i, c in enumerate(answer.citations, 1))
    return f'<div class="qa-sources"><h4>{heading}</h4>{cards}</div>'


def written_sources_html(citations: Sequence[Citation]) -> str:
    """A written answer's sources: one card per passage it cites, numbered by its marker, with every sentence
    that supports the answer marked."""
    by_marker: dict[int, list[Citation]] = {}
    for c in citations:
        by_marker.setdefault(c.marker, []).append(c)
    cards = "".join(citation_html(n, cs[0], spans=[(c.answer_start, c.answer_end) for c in cs]) for n, cs in sorted(by_marker.items()))
    return f'<div class="qa-sources"><h4>Sources (the [n] in the answer)</h4>{cards}</div>'


def passages_html(passages: Sequence[Passage], heading: str = "Passages the model is reading") -> str:
    """The numbered passages of a written answer's prompt, shown while the model writes (its [n] link to them)."""
    cards = "".join(
        citation_html(p.number, Citation(**p.ref_fields(), excerpt=p.text, excerpt_start=p.start, answer_start=0, answer_end=0, score=p.score))
        for p in passages
    )
    return f'<div class="qa-sources"><h4>{html.escape(heading)}</h4>{cards}</div>'


def citation_html(rank: int, c: Citation, short: tuple[int, int] | None = None, spans: Sequence[tuple[int, int]] = ()) -> str:
    """One source card (id qa-source-<rank>): linked title, date, source and score, then the excerpt with the
    answer marked (<mark>), the short answer inside it in bold (`short`: its span in the excerpt), and a close
    runner-up marked lighter (<mark class="qa-second">); `spans` marks several sentences instead (a written
    answer's supporting sentences in one passage)."""
    if spans:
        return _card(rank, c, _marked(c.excerpt, spans))
    ex = c.excerpt
    marks = [(a, b, kind) for a, b, kind in ((c.answer_start, c.answer_end, "answer"), (c.runner_up_start, c.runner_up_end, "second"))
             if b > a]
    out, at = [], 0
    for a, b, kind in sorted(marks):
        if a < at:
            continue  # overlapping marks: the answer's wins
        if kind == "answer" and short is not None and a <= short[0] < short[1] <= b:
            inner = html.escape(ex[a : short[0]]) + f"<b>{html.escape(ex[short[0] : short[1]])}</b>" + html.escape(ex[short[1] : b])
        else:
            inner = html.escape(ex[a:b])
        tag = "<mark>" if kind == "answer" else '<mark class="qa-second" title="a close second answer">'
        out.append(html.escape(ex[at:a]) + tag + inner + "</mark>")
        at = b
    return _card(rank, c, "".join(out) + html.escape(ex[at:]))


def _marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """The text escaped, with each (non-overlapping, merged) span in <mark>."""
    merged: list[list[int]] = []
    for a, b in sorted((a, b) for a, b in spans if b > a):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, at = [], 0
    for a, b in merged:
        out.append(html.escape(text[at:a]) + f"<mark>{html.escape(text[a:b])}</mark>")
        at = b
    return "".join(out) + html.escape(text[at:])


def _card(rank: int, c: Citation, excerpt: str) -> str:
    title = html.escape(c.title or c.article_id)
    href = safe_url(c.url)
    title_html = f'<a href="{html.escape(href)}" target="_blank" rel="noopener noreferrer">{title}</a>' if href else title
    meta = " · ".join(html.escape(x) for x in (c.published, c.source) if x)
    meta = f"{meta} · score {c.score:.3f}" if meta else f"score {c.score:.3f}"
    return (
        f'<div class="qa-source" id="qa-source-{rank}" data-article="{html.escape(c.article_id)}">'
        f'<div><b><span class="qa-number">{rank}.</span> {title_html}</b></div><div class="qa-meta">{meta}</div>'
        f'<div class="qa-excerpt">{excerpt}</div></div>'
    )


def safe_url(url: str) -> str:
    """The URL when it is http(s); '' otherwise (no javascript: or data: links from articles)."""
    try:
        scheme = urlparse(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""
