"""Take docs/screenshot.png: the chat UI over the News100 demo index answering a question, in headless Chromium."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, default=ROOT / "benchmarks" / ".cache" / "news100-index")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--question", action="append", default=None, help="question(s) to ask, in order")
    args = parser.parse_args()
    questions = args.question or ["What did Putin and Merkel call for?", "Which monitoring mission did they support?"]

    from playwright.sync_api import expect, sync_playwright

    from qa.ingest import ingest
    from qa.app.render import SOURCES_CSS
    from qa.app.ui import Service, build_ui

    if not (args.index / "manifest.json").exists():
        from qa.reading.demo import demo_articles

        ingest(demo_articles("News100"), args.index, progress=True)
    demo = build_ui(Service(args.index))
    demo.queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=SOURCES_CSS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            for n, question in enumerate(questions, 1):
                page.locator("#question textarea").fill(question)
                page.locator("#question textarea").press("Enter")
                expect(page.locator("#chat .message-row, #chat [data-testid='bot']")).not_to_have_count(0, timeout=60_000)
                expect(page.locator("#sources h4")).to_be_visible(timeout=60_000)
                page.wait_for_timeout(1500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=False)
            browser.close()
    finally:
        demo.close()
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
