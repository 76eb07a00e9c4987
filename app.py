"""Start the Article QA chat UI: builds the demo index on first run, then serves it on 127.0.0.1."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# gradio wraps every event in "switch matplotlib to agg and back": with no backend named, finding the default one
# imports pyplot, on the server's event loop, at the first event (seconds with every request waiting, and ~40 MB)
os.environ.setdefault("MPLBACKEND", "agg")

from qa import config  # noqa: E402 - after the environment above
from qa.reading.demo import CORPORA  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the indexed news articles.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    parser.add_argument("--index", type=Path, default=None, help="index directory (default: $QA_INDEX_DIR or embeddings/)")
    parser.add_argument("--threads", type=int, default=1,
                        help="encoder CPU threads for questions (default 1: lowest latency per question on small shared machines; 0: one per core)")
    parser.add_argument("--concurrency", type=int, default=None,
                        help=f"questions the chat answers at once; more wait in its queue (default {config.ASK_CONCURRENCY}: see docs/serving.md)")
    parser.add_argument("--api-workers", type=int, default=config.API_WORKERS,
                        help=f"threads answering the JSON API's questions at /api (default {config.API_WORKERS}: about one per core)")
    parser.add_argument("--demo", choices=[*CORPORA, "none"], default=config.DEMO_CORPUS,
                        help=f"demo corpus indexed when the index is empty (default {config.DEMO_CORPUS}; 'none' starts empty)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the MCP tools (search_articles, ask_articles, ...) at /mcp over streamable HTTP")
    parser.add_argument("--llm", default=None, metavar="PATH.gguf|URL",
                        help="a language model for written answers (adds the 'Answer style' setting): a local GGUF file or an "
                             "OpenAI-compatible server URL (default $QA_LLM; none: quoted answers only)")
    parser.add_argument("--llm-model", default=None, metavar="NAME",
                        help="the model's name on the --llm server (default $QA_LLM_MODEL)")
    parser.add_argument("--auth", default=None, metavar="USER:PASS",
                        help="who may use the UI, the APIs and uploads: USER:PASS[,USER:PASS…] or a file of USER:PASS lines (default $QA_AUTH; none: no login)")
    parser.add_argument("--read-only", action="store_true", help="hide the add-articles panel and refuse adds and removals through the APIs")
    parser.add_argument("--allow-private-urls", action="store_true",
                        help="let URL and feed adds reach loopback, private, link-local and metadata addresses (the server's own "
                             "network; default: public addresses only, since the URL comes from whoever uses the app)")
    args = parser.parse_args(argv)
    if args.concurrency is not None and args.concurrency < 1:
        parser.error(f"--concurrency must be at least 1, got {args.concurrency}")
    if args.api_workers < 1:
        parser.error(f"--api-workers must be at least 1, got {args.api_workers}")
    from qa.cli import configure_logging
    from qa.errors import QAError
    from qa.ingest import ingest
    from qa.stores import open_index
    from qa.app.ui import ASK_CONCURRENCY, launch
    from qa.app.ui_written import WrittenStyle

    configure_logging(logging.INFO)
    if args.mcp:
        try:
            import qa.integrations.mcp  # noqa: F401 - a missing extra fails before the index is built
        except ImportError as exc:
            print(f"app: error: {exc}", file=sys.stderr)
            return 1

    index = args.index or config.default_index_dir()
    spec = config.llm_spec(args.llm)
    try:
        written = WrittenStyle.load(spec, config.llm_model(args.llm_model)) if spec else None  # a bad --llm fails first
        if written is not None:
            print(f"written answers by {written.name}", file=sys.stderr)
        # an empty index gets the demo corpus; the full corpus is added to an existing one when asked for
        # (articles already stored are skipped by their content hash, so this is quick the second time)
        if args.demo != "none" and (not open_index(index).exists() or args.demo == "NewsArticles"):
            from qa.reading.demo import demo_articles

            print(f"indexing the {args.demo} demo corpus in {index}…", file=sys.stderr)
            print(ingest(demo_articles(args.demo), index, progress=True).summary(), file=sys.stderr)
        if args.threads:  # after the bulk encoding, which wants every core
            from qa.encoders import set_threads

            set_threads(args.threads)
        from qa.app.auth import parse_users

        launch(index, host=args.host, port=args.port, share=args.share, ask_concurrency=args.concurrency or ASK_CONCURRENCY,
               users=parse_users(args.auth), read_only=args.read_only, allow_private_urls=args.allow_private_urls,
               written=written, mcp=args.mcp, api_workers=args.api_workers)
    except QAError as exc:
        print(f"app: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
