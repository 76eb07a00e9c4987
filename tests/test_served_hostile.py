"""A served app under hostile use: URLs that point into the server's own network, uploads that are not what their
name says, and articles whose every field carries markup meant to run in the reader's browser."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import struct
import threading
import zlib
from pathlib import Path

import pytest
from serving import free_port
from test_faults import COMMITTED, _client, _start_app

from qa.errors import SourceError
from qa.ingest import ingest
from qa.reading.fetching import ANY_ADDRESS, PUBLIC_ONLY, FetchPolicy, blocked_kind, fetch
from qa.stores import open_index

CHROMIUM = "/usr/bin/chromium"
PAGE = ("<html><head><title>Lighthouse keeper retires</title></head><body><article><h1>Lighthouse keeper retires</h1>"
        + "".join(f"<p>The last keeper of the Cape Arden lighthouse retired on Friday after {n + 30} years, "
                  "and the light now runs by itself from a solar panel installed last spring.</p>" for n in range(6))
        + "</article></body></html>").encode()
HOSTILE = {
    "title": 'Evil <script>window.__pwned=1;alert("title")</script> <img src=x onerror="alert(\'title\')"> **bold** [x](javascript:alert(1))',
    "url": "javascript:alert('url')",
    "source": '<img src=x onerror=alert("source")><a href="javascript:alert(2)">site</a>',
    "published": '<script>alert("date")</script>',
    "text": ("The harbour drill tested the new storm barrier on Tuesday morning with 300 volunteers. "
             '<script>alert("text")</script> <img src=x onerror=alert("text")> <svg onload=alert(3)></svg> '
             "[click me](javascript:alert('md')) <a href=\"javascript:alert('a')\">a link</a> ![i](x \"onerror=alert(4)\") "
             "The storm barrier closed in eleven minutes, faster than engineers had planned."),
}


class LocalSite:
    """An HTTP server on 127.0.0.1: /page is an article, /redirect sends to it, /away sends to 127.0.0.2."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.hosts.append(self.headers.get("Host", ""))
                if self.path in ("/redirect", "/away"):
                    target = "/page" if self.path == "/redirect" else f"http://127.0.0.2:{owner.port}/page"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200 if self.path == "/page" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def site():
    server = LocalSite()
    yield server
    server.close()


def test_addresses_of_the_servers_own_network_are_told_apart_from_public_ones() -> None:
    for address, kind in [("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
                          ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("10.0.0.8", "private"),
                          ("192.168.1.1", "private"), ("172.16.0.1", "private"), ("fd00:ec2::254", "private"),
                          ("100.100.100.200", "private"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast")]:
        assert kind in blocked_kind(address), address
    assert blocked_kind("93.184.215.14") == blocked_kind("2606:4700::1111") == ""


def test_public_only_refuses_private_addresses_names_and_redirect_hops(site: LocalSite) -> None:
    for url in (site.url("/page"), site.url("/page", "localhost"), "http://169.254.169.254/latest/meta-data/",
                "http://[::ffff:7f00:1]:9/", "http://10.255.255.1/"):
        with pytest.raises(SourceError, match="refused: .*address; .*--allow-private-urls"):
            fetch(url, 5, 10_000_000, PUBLIC_ONLY)
    assert site.hosts == [], "nothing may be sent to a refused address"
    with pytest.raises(SourceError, match="only http and https"):
        fetch("file:///etc/passwd", 5, 1000, PUBLIC_ONLY)
    # a hop is checked like the first request: /away (allowed here) redirects to 127.0.0.2 (not)
    intranet = FetchPolicy(allow_private=False, trusted=("127.0.0.1/32",))
    with pytest.raises(SourceError, match=r"refused: 127\.0\.0\.2 is a loopback address.*redirected to http://127\.0\.0\.2"):
        fetch(site.url("/away"), 5, 10_000_000, intranet)
    body, kind = fetch(site.url("/redirect"), 5, 10_000_000, intranet)  # the checked address, the original Host header
    assert body == PAGE and kind.startswith("text/html") and site.hosts[-1] == f"127.0.0.1:{site.port}"
    assert fetch(site.url("/redirect", "localhost"), 5, 10_000_000, ANY_ADDRESS)[0] == PAGE  # the CLI's policy


def test_the_cli_still_ingests_a_page_from_the_local_network(site: LocalSite, tmp_path: Path, capsys) -> None:
    from qa.cli import main

    assert main(["ingest", site.url("/redirect"), "--index", str(tmp_path / "index")]) == 0
    reader = open_index(tmp_path / "index").reader()
    assert [a.title for a in reader.articles()] == ["Lighthouse keeper retires"]
    reader.close()


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def apps(tmp_path_factory, minilm):
    """Two apps started at once over copies of one small index: the default one, and one with --allow-private-urls."""
    root = tmp_path_factory.mktemp("served")
    ingest(COMMITTED, root / "index", encoder=minilm)
    shutil.copytree(root / "index", root / "open-index")
    started = []
    for name, flags in (("index", ()), ("open-index", ("--allow-private-urls",))):
        port = free_port()
        env = {"GRADIO_TEMP_DIR": str(root / f"uploads-{name}"), "QA_MAX_UPLOAD_BYTES": "200000"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            started.append((root / name, port, _start_app(root / name, port, *flags), root / f"uploads-{name}"))
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    try:
        yield [(index, f"http://127.0.0.1:{port}/", _client(f"http://127.0.0.1:{port}/", app), uploads)
               for index, port, app, uploads in started]
    finally:
        for _, _, app, _ in started:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait(30)


def _titles(index: Path) -> set[str]:
    reader = open_index(index).reader()
    try:
        return {a.title for a in reader.articles()}
    finally:
        reader.close()


@pytest.mark.slow
def test_the_app_refuses_urls_into_its_own_network_unless_allowed(apps, site: LocalSite) -> None:
    (index, _, client, _), (open_index_dir, _, open_client, _) = apps
    before = len(site.hosts)
    for url in (site.url("/page"), site.url("/redirect", "localhost")):
        status = client.predict(url, api_name="/add_url")["status"]
        assert "0 added" in status and "refused:" in status and "--allow-private-urls" in status, status
    assert "Lighthouse keeper retires" not in _titles(index) and len(site.hosts) == before
    status = open_client.predict(site.url("/redirect"), api_name="/add_url")["status"]
    assert status.startswith("1 added"), status
    assert "Lighthouse keeper retires" in _titles(open_index_dir)


@pytest.mark.slow
def test_uploads_are_checked_by_content_and_leave_no_temporary_files(apps, tmp_path: Path) -> None:
    from gradio_client import handle_file

    index, _, client, uploads = apps[0]
    before = {p for p in uploads.rglob("*") if p.is_file()}
    (tmp_path / "photo.txt").write_bytes(_png())
    (tmp_path / "page.html").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "tool.exe").write_bytes(b"MZ\x90\x00")
    good = tmp_path / "hostile.jsonl"
    good.write_text(json.dumps(HOSTILE) + "\n", encoding="utf-8")
    files = [handle_file(str(tmp_path / n)) for n in ("photo.txt", "page.html", "tool.exe")] + [handle_file(str(good))]
    status = client.predict(files, api_name="/add_files")["status"]
    assert status.startswith("1 added"), status
    assert "photo.txt: refused: the content is a PNG image, not a .txt article file" in status
    assert "page.html: refused: the content is binary" in status and "tool.exe: refused: .exe is not an article type" in status
    assert str(uploads) not in status, "the server's temporary paths are not shown"
    assert any(t.startswith("Evil <script>") for t in _titles(index))
    big = tmp_path / "big.txt"
    big.write_text("The council met again. " * 10_000, encoding="utf-8")  # 230 KB, over the 200 KB upload limit
    with pytest.raises(Exception, match="(?i)too large|exceed|size"):
        client.predict([handle_file(str(big))], api_name="/add_files")
    left = {p for p in uploads.rglob("*") if p.is_file()} - before  # (gradio keeps a few empty files of its own)
    assert left == set(), f"temporary uploads left behind: {left}"


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")
def test_markup_in_every_field_of_an_article_never_runs_in_the_browser(apps) -> None:
    from playwright.sync_api import expect, sync_playwright

    index, url, client, _ = apps[0]
    if not any(t.startswith("Evil") for t in _titles(index)):  # run alone: add the hostile article first
        status = client.predict(HOSTILE["title"], HOSTILE["text"], api_name="/add_text")["status"]
        assert "added" in status, status
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless", "--disable-gpu"])
        page = browser.new_page()
        dialogs: list[str] = []
        errors: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.locator("#question textarea").fill("How fast did the storm barrier close in the harbour drill?")
        page.locator("#question textarea").press("Enter")
        # the answer marked, or the nearest passages if it abstains: either way every field is shown as text
        expect(page.locator("#sources")).to_contain_text("eleven minutes", timeout=90_000)
        expect(page.locator("#sources")).to_contain_text('Evil <script>window.__pwned=1;alert("title")</script>')  # as text
        expect(page.locator("#sources")).to_contain_text("[x](javascript:alert(1))")
        page.wait_for_timeout(1500)  # an injected image's onerror would have fired by now
        for where in ("#sources", "#chat"):
            assert page.locator(f"{where} script, {where} img[onerror], {where} svg[onload]").count() == 0
            assert page.locator(f"{where} a[href^='javascript:' i]").count() == 0, "a javascript: URL is never a link"
        assert page.evaluate("window.__pwned") is None
        browser.close()
    assert dialogs == [], f"a script from an article ran: {dialogs}"
    assert errors == [], f"console errors: {errors}"
