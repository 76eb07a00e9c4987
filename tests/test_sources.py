"""Every kind of source becomes Articles, and every bad one a one-line Failure naming it."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading
from pathlib import Path

import pytest

from qa.errors import ConfigError
from qa.reading.sources import Cleaned, Failure, read_cleaned, read_sources
from qa.types import Article

BODY = (
    "The regional water board raised prices by four percent on Monday. "
    "Officials blamed the cost of repairing pipes damaged in last winter's frost. "
    "Households will see the change on their April bills."
)


def page(title: str, body: str) -> str:
    paras = "".join(f"<p>{s.strip()}.</p>" for s in body.split(".") if s.strip())
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='2024-02-01'></head>"
        f"<body><nav><a href='/'>Home</a> <a href='/x'>World</a></nav><article><h1>{title}</h1>{paras}</article>"
        "<footer>Copyright Example News</footer></body></html>"
    )


def ok(items):
    return [i for i in items if isinstance(i, Article)]


def failed(items):
    return [i for i in items if isinstance(i, Failure)]


def test_text_file_title_and_body(tmp_path: Path):
    f = tmp_path / "water.txt"
    f.write_text("Water prices rise\n" + BODY, encoding="utf-8")
    [article] = read_sources([str(f)])
    assert article.title == "Water prices rise"
    assert article.text == BODY
    assert article.source == str(f)


def test_short_title_of_a_longer_text_file_is_kept(tmp_path: Path):
    f = tmp_path / "notes.txt"
    lines = ["Glacier Loses Ice", "By Anna Keller", *(s.strip() + "." for s in BODY.split(".") if s.strip())]
    f.write_text("\n".join(lines), encoding="utf-8")
    [article] = read_sources([str(f)])
    assert (article.title, article.author) == ("Glacier Loses Ice", "Anna Keller")
    assert article.text.splitlines() == lines[2:]


def test_saved_page_keeps_its_canonical_url_and_site(tmp_path: Path):
    saved = tmp_path / "water.html"
    saved.write_text(page("Water prices rise", BODY).replace(
        "</head>", "<link rel='canonical' href='https://news.example.org/2024/water'></head>"))
    plain = tmp_path / "plain.html"
    plain.write_text(page("Water prices rise", BODY))
    [article, without] = read_sources([str(saved), str(plain)])
    assert article.url == "https://news.example.org/2024/water"
    assert article.source == "news.example.org"
    assert (without.url, without.source) == ("", str(plain))  # nothing on the page says where it came from


def test_same_file_keeps_its_id_and_files_differ(tmp_path: Path):
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_text(BODY)
    b.write_text(BODY)
    first, other, again = ok(read_sources([str(a), str(b), str(a)]))
    assert first.id == again.id != other.id


def test_latin1_file_is_decoded_and_binary_is_refused(tmp_path: Path):
    latin = tmp_path / "cafe.txt"
    latin.write_bytes(("Le café de la gare a fermé après trente ans de service. " * 3).encode("latin-1"))
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    items = list(read_sources([str(latin), str(binary)]))
    assert "café" in ok(items)[0].text
    [failure] = failed(items)
    assert failure.source == str(binary) and "cannot decode" in failure.reason


def test_missing_empty_and_clutter_only_sources_fail_alone(tmp_path: Path):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n\n")
    nav = tmp_path / "nav.html"
    nav.write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    good = tmp_path / "good.txt"
    good.write_text(BODY)
    items = list(read_sources([str(tmp_path / "missing.txt"), str(empty), str(nav), str(good)]))
    reasons = {Path(f.source).name: f.reason for f in failed(items)}
    assert reasons == {
        "missing.txt": "no such file, directory or http(s) URL",
        "empty.txt": "article is empty (the text is blank)",
        "nav.html": "no main text found in the HTML page",
    }
    assert [a.text for a in ok(items)] == [BODY]


def test_jsonl_and_csv_records_with_a_malformed_line(tmp_path: Path):
    jl = tmp_path / "export.jsonl"
    jl.write_text(
        json.dumps({"id": "n1", "title": "Prices", "text": BODY, "url": "https://www.example.com/n1", "published": "2024/3/5"})
        + "\n{not json\n"
        + json.dumps({"title": "no text"})
        + "\n\n"
        + json.dumps({"text": "Second article about the harbour and its new ferry service."})
        + "\n"
        + json.dumps({"id": 0, "text": "Numbered exports start at zero: this record keeps the id 0."})
        + "\n"
    )
    cs = tmp_path / "export.csv"
    cs.write_text('id,title,text,source\nc1,Ferry,"The ferry runs every hour from May.",Quay Times\n', encoding="utf-8")
    items = list(read_sources([str(jl), str(cs)]))
    articles = ok(items)
    assert [a.id for a in articles][:1] == ["n1"] and articles[-2].id == "0" and articles[-1].id == "c1"
    assert articles[0].published == "2024-03-05" and articles[0].source == "example.com"
    assert articles[-1].source == "Quay Times"
    assert [str(f) for f in failed(items)] == [
        f"{jl}:2: malformed JSON (Expecting property name enclosed in double quotes at column 2)",
        f"{jl}:3: record has no 'text'",
    ]


def test_csv_without_text_column(tmp_path: Path):
    cs = tmp_path / "bad.csv"
    cs.write_text("headline,body\nx,y\n")
    [failure] = list(read_sources([str(cs)]))
    assert "CSV needs a 'text' column (found: headline, body)" in failure.reason


def test_directory_is_read_recursively(tmp_path: Path, caplog):
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "one.txt").write_text(BODY)
    (tmp_path / "sub" / "two.html").write_text(page("Second", BODY.replace("water", "gas")))
    (tmp_path / "sub" / "deeper" / "three.md").write_text("# Third\n" + BODY.replace("water", "power"))
    (tmp_path / "sub" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "description.txt").write_text(BODY)  # a hidden folder is not the user's articles
    with caplog.at_level(logging.WARNING, logger="qa.reading.sources"):
        titles = sorted(a.title for a in ok(read_sources([str(tmp_path)])))
    assert titles == ["One", "Second", "Third"]
    assert "skipped 1 file(s) of other types (1 .png)" in caplog.text, "the user is told what was left out"


# -- over HTTP on 127.0.0.1 -----------------------------------------------------------------------
@pytest.fixture
def site():
    pages: dict[str, tuple[str, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path not in pages:
                self.send_error(404)
                return
            ctype, body = pages[self.path]
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, pages
    server.shutdown()
    server.server_close()


def test_url_page_is_fetched_and_extracted(site):
    base, pages = site
    pages["/news/water"] = ("text/html; charset=utf-8", page("Water prices rise", BODY).encode())
    [article] = read_sources([f"{base}/news/water"])
    assert article.title == "Water prices rise" and article.url == f"{base}/news/water"
    assert "four percent" in article.text and "Home" not in article.text and "Copyright" not in article.text
    assert article.published == "2024-02-01"


def test_rss_feed_fetches_item_links_and_atom_uses_content(site):
    base, pages = site
    pages["/a"] = ("text/html", page("Water prices rise", BODY).encode())
    pages["/b"] = ("text/html", page("Gas prices fall", BODY.replace("water", "gas").replace("raised", "cut")).encode())
    pages["/rss"] = (
        "application/rss+xml",
        f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Example News</title><link>{base}/</link>
        <item><title>Water prices rise</title><link>{base}/a</link><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate><description>Teaser.</description></item>
        <item><title>Gas prices fall</title><link>{base}/b</link></item>
        <item><title>Gone</title><link>{base}/missing</link></item>
        </channel></rss>""".encode(),
    )
    long_content = " ".join([BODY] * 3)
    atom = f"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Quay Times</title>
      <entry><title>Harbour news</title><id>urn:x:1</id><updated>2024-01-02T00:00:00Z</updated>
      <content type="html">&lt;p&gt;{long_content}&lt;/p&gt;</content></entry></feed>"""
    pages["/atom"] = ("application/atom+xml", atom.encode())
    items = list(read_sources([f"{base}/rss", f"{base}/atom"]))
    articles = ok(items)
    assert [a.title for a in articles] == ["Water prices rise", "Gas prices fall", "Harbour news"]
    assert articles[0].published == "2024-02-01"  # the page's own date wins over the feed's
    assert articles[0].source == "Example News" and "four percent" in articles[0].text
    assert articles[2].published == "2024-01-02" and articles[2].text.startswith("The regional water board")
    [failure] = failed(items)
    assert failure.source == f"{base}/rss item 3 ({base}/missing)" and failure.reason.startswith("cannot fetch")


def test_unreachable_url_is_a_failure():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [failure] = list(read_sources([f"http://127.0.0.1:{port}/x"], timeout=2))
    assert failure.source == f"http://127.0.0.1:{port}/x" and failure.reason.startswith("cannot fetch: ConnectError")


# -- cleaning choices ------------------------------------------------------------------------------
WIRE = (
    "The health ministry said on Friday it would send 300 nurses to the flooded northern provinces. "
    "Hospitals there have run short of staff since the rains began three weeks ago."
)
SHARE = "Send Facebook Twitter Google+ Whatsapp Tumblr linkedin Permalink http://p.example/2Xk9 lk/pm (AFP/Reuters)"


def test_export_records_lose_only_their_furniture(tmp_path: Path):
    jl = tmp_path / "export.jsonl"
    rows = [
        {"id": "a1", "text": f"{WIRE} {SHARE}"},
        {"id": "a2", "text": f"{WIRE} You can follow our health desk on Twitter and Facebook."},
        {"id": "a3", "text": f"Latest\n{WIRE}\nMore"},  # short lines a page's edges would lose
        {"id": "a4", "text": f"Latest\n{WIRE}\nMore", "clean": "page"},
        {"id": "a5", "text": "Advertisement\nShare this article"},
        {"id": "a6", "text": WIRE, "clean": "everything"},
    ]
    jl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = list(read_sources([str(jl)]))
    articles = {a.id: a.text for a in ok(items)}
    assert articles == {"a1": WIRE, "a2": WIRE, "a3": f"Latest\n{WIRE}\nMore", "a4": WIRE}
    empty, bad = failed(items)
    assert empty.reason.startswith("article is empty: the furniture cleaning rules removed all of it (2 boilerplate: 'Advertisement')")
    assert '--clean none, or give the record "clean": "none"' in empty.reason
    assert bad.reason == "record field 'clean' must be one of page, furniture, none, got 'everything'"
    kept = {a.id: a.text for a in ok(read_sources([str(jl)], clean="none"))}
    assert kept["a1"] == f"{WIRE} {SHARE}" and kept["a5"] == "Advertisement\nShare this article"


def test_clutter_only_text_says_what_was_removed_and_how_to_keep_it(tmp_path: Path):
    f = tmp_path / "menu.txt"
    f.write_text("Skip to content\nAdvertisement\nSend Facebook Twitter Whatsapp Email\nFollow us on Twitter\n")
    [failure] = list(read_sources([str(f)]))
    assert failure.reason == (
        "article is empty: the page cleaning rules removed all of it (3 boilerplate, 1 share-bar: 'Skip to content'); "
        "to keep it, ingest with --clean none; `qa clean` shows each removal"
    )
    assert [r.rule for r in failure.removed] == ["boilerplate", "boilerplate", "share-bar", "boilerplate"]
    [kept] = list(read_sources([str(f)], clean="none"))
    assert kept.text.startswith("Skip to content\nAdvertisement")
    nav = tmp_path / "nav.txt"
    nav.write_text("Home\nAdvertisement\nThe storm cut power to 40,000 homes.\nLatest news\nPorts reopen\n")
    items = list(read_sources([str(nav)]))
    assert ok(items)[0].text == "The storm cut power to 40,000 homes."


def test_read_cleaned_lists_removals_and_refuses_an_unknown_mode(tmp_path: Path):
    f = tmp_path / "nurses.txt"
    f.write_text(f"Nurses sent north\nAdvertisement\n{WIRE}\n{SHARE}\n")
    [item] = list(read_cleaned([str(f)]))
    assert isinstance(item, Cleaned) and item.clean == "page" and item.article.text == WIRE
    assert [(r.line, r.rule) for r in item.removed] == [(1, "title"), (2, "boilerplate"), (4, "share-bar+agency-code")]
    assert item.article.title == "Nurses sent north"
    with pytest.raises(ConfigError, match="choose one of auto, page, furniture, none"):
        list(read_sources([str(f)], clean="light"))
