"""HTML and chat-text rendering of answers: everything that came from an article is escaped."""

from __future__ import annotations

import html
import re
from urllib.parse import urlparse

from qa.types import Answer, Citation

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}#~|!$])")

SOURCES_CSS = """
#sources .qa-source { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
#sources .qa-meta { color: #57606a; font-size: 0.85em; margin-bottom: 4px; }
#sources .qa-excerpt { white-space: pre-wrap; line-height: 1.45; }
#sources mark { background: #fff1a8; padding: 0 1px; }
"""


def chat_text(text: str) -> str:
    """Text for a chat bubble (which renders Markdown): HTML escaped, Markdown syntax neutralised."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_message(answer: Answer) -> str:
    """The assistant's chat message for an answer: the answer (its short answer in bold), then how sure we are."""
    if answer.abstained:
        return chat_text(answer.text)
    text, short = answer.text, answer.short
    if short is not None and 0 <= short.start < short.end <= len(text):
        body = f"{chat_text(text[: short.start])}**{chat_text(text[short.start : short.end])}**{chat_text(text[short.end :])}"
    else:
        body = chat_text(text)
    return f"{body}\n\n*confidence {answer.confidence:.0%}*"


def sources_html(answer: Answer | None, note: str = "") -> str:
    """The sources panel: one card per citation, the answer span wrapped in <mark>."""
    if answer is None:
        body = f'<p class="qa-empty">{html.escape(note or "Sources of the answer appear here.")}</p>'
        return f'<div class="qa-sources">{body}</div>'
    if not answer.citations:
        return '<div class="qa-sources"><p class="qa-empty">No passages matched.</p></div>'
    heading = "Nearest passages (no answer found)" if answer.abstained else "Sources"
    short = None
    if not answer.abstained and answer.short is not None:
        first = answer.citations[0]
        short = (first.answer_start + answer.short.start, first.answer_start + answer.short.end)
    cards = "".join(citation_html(i, c, short if i == 1 else None) for i, c in enumerate(answer.citations, 1))
    return f'<div class="qa-sources"><h4>{heading}</h4>{cards}</div>'


def citation_html(rank: int, c: Citation, short: tuple[int, int] | None = None) -> str:
    """One source card: linked title, date, source and score, then the excerpt with the answer marked
    (<mark>) and the short answer inside it in bold (`short`: its span in the excerpt)."""
    title = html.escape(c.title or c.article_id)
    href = safe_url(c.url)
    title_html = f'<a href="{html.escape(href)}" target="_blank" rel="noopener noreferrer">{title}</a>' if href else title
    meta = " · ".join(html.escape(x) for x in (c.published, c.source) if x)
    meta = f"{meta} · score {c.score:.3f}" if meta else f"score {c.score:.3f}"
    ex = c.excerpt
    if c.answer_end > c.answer_start:
        a, b = c.answer_start, c.answer_end
        if short is not None and a <= short[0] < short[1] <= b:
            marked = html.escape(ex[a : short[0]]) + f"<b>{html.escape(ex[short[0] : short[1]])}</b>" + html.escape(ex[short[1] : b])
        else:
            marked = html.escape(ex[a:b])
        excerpt = html.escape(ex[:a]) + f"<mark>{marked}</mark>" + html.escape(ex[b:])
    else:
        excerpt = html.escape(ex)
    return (
        f'<div class="qa-source" data-article="{html.escape(c.article_id)}">'
        f"<div><b>{rank}. {title_html}</b></div><div class=\"qa-meta\">{meta}</div>"
        f'<div class="qa-excerpt">{excerpt}</div></div>'
    )


def safe_url(url: str) -> str:
    """The URL when it is http(s); '' otherwise (no javascript: or data: links from articles)."""
    try:
        scheme = urlparse(url).scheme.lower()
    except ValueError:
        return ""
    return url if scheme in ("http", "https") else ""
