"""Start the Article QA chat UI: builds the demo index on first run, then serves it on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the indexed news articles.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    parser.add_argument("--index", type=Path, default=None, help="index directory (default: $QA_INDEX_DIR or embeddings/)")
    parser.add_argument("--threads", type=int, default=1,
                        help="encoder CPU threads for questions (default 1: lowest latency per question on small shared machines; 0: one per core)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help="questions answered at once; more wait in the queue (default 8: see the README's Serving section)")
    parser.add_argument("--demo", choices=["News100", "NewsArticles", "none"], default="News100",
                        help="demo corpus indexed when the index is empty (default News100; 'none' starts empty)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the MCP tools (search_articles, ask_articles, ...) at /mcp over streamable HTTP")
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error(f"--concurrency must be at least 1, got {args.concurrency}")
    from qa.cli import configure_logging
    from qa.errors import QAError
    from qa.ingest import default_index_dir, ingest
    from qa.store import MANIFEST
    from qa.ui import ASK_CONCURRENCY, launch

    configure_logging(logging.INFO)
    if args.mcp:
        try:
            import qa.integrations.mcp  # noqa: F401 - a missing extra fails before the index is built
        except ImportError as exc:
            print(f"app: error: {exc}", file=sys.stderr)
            return 1

    index = args.index or default_index_dir()
    try:
        # an empty index gets the demo corpus; the full corpus is added to an existing one when asked for
        # (articles already stored are skipped by their content hash, so this is quick the second time)
        if args.demo != "none" and (not (index / MANIFEST).exists() or args.demo == "NewsArticles"):
            from qa.demo import demo_articles

            print(f"indexing the {args.demo} demo corpus in {index}…", file=sys.stderr)
            print(ingest(demo_articles(args.demo), index, progress=True).summary(), file=sys.stderr)
        if args.threads:  # after the bulk encoding, which wants every core
            from qa.encoding import set_threads

            set_threads(args.threads)
        launch(index, host=args.host, port=args.port, share=args.share, ask_concurrency=args.concurrency or ASK_CONCURRENCY,
               mcp=args.mcp)
    except QAError as exc:
        print(f"app: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
