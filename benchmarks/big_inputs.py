"""Big inputs: ingest time against article size (one line of 'The quick brown fox jumps. ' repeated), and hostile files.

For each size it times, in one process: reading and cleaning the file, sentence splitting and chunking
with the real tokenizer's counts, and (for sizes up to --encode-up-to MB) the whole `qa ingest` with the
real MiniLM encoder, so the table shows whether time stays linear and what share encoding takes.
Then the hostile files of issue #14: deeply nested HTML, a feed with 100k items, a JSONL with invalid
UTF-8 and a CSV with a huge field, each read in a child process whose peak RSS is reported.
Prints Markdown tables and writes benchmarks/results/big-inputs.json.

    python -m benchmarks.big_inputs [--sizes 0.27,1.08,2.7,10.8] [--encode-up-to 1.1] [--huge-field-mb 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent

SENTENCE = "The quick brown fox jumps. "
ARTICLE = "The council approved the harbour budget on Monday after a long debate about the ferry. " * 3


def stages(path: Path, encoder: object, encode: bool, workdir: Path) -> dict[str, float]:
    """Seconds for read+clean, split+chunk, and the whole ingest (when `encode`), for one file."""
    from qa.reading.chunking import ChunkSettings, chunk_article
    from qa.ingest import ingest
    from qa.reading.sources import read_sources

    limit = path.stat().st_size * 2
    t0 = time.perf_counter()
    (article,) = list(read_sources([str(path)], max_article_bytes=limit))
    t1 = time.perf_counter()
    chunks = chunk_article(article, encoder.count_tokens, ChunkSettings())  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    row = {"read_clean_s": t1 - t0, "chunk_s": t2 - t1, "chunks": len(chunks)}
    if encode:
        index = workdir / f"index-{path.stem}"
        t3 = time.perf_counter()
        report = ingest(read_sources([str(path)], max_article_bytes=limit), index, encoder=encoder)  # type: ignore[arg-type]
        row["ingest_s"] = time.perf_counter() - t3
        row["encoded_chunks"] = report.chunks
        shutil.rmtree(index, ignore_errors=True)
    return row


READ_ONE = """
import json, re, sys, time
from benchmarks.common import machine  # noqa: E402
from qa.reading.sources import Cleaned, read_cleaned
t = time.perf_counter()
items = list(read_cleaned([sys.argv[1]]))
ok = sum(isinstance(i, Cleaned) for i in items)
reasons = sorted({getattr(i, "reason", "")[:160] for i in items if not isinstance(i, Cleaned)})
peak = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) / 1024  # this process's own peak
print(json.dumps({"seconds": time.perf_counter() - t, "peak_rss_mb": peak,
                  "articles": ok, "failures": len(items) - ok, "messages": reasons[:3]}))
"""


def hostile_files(workdir: Path, huge_field_mb: int) -> dict[str, Path]:
    files = {}
    nested = workdir / "nested.html"
    nested.write_text("<html><body>" + "<div>" * 100_000 + f"<p>{ARTICLE}</p>" + "</div>" * 100_000 + "</body></html>")
    files["HTML nested 100,000 deep"] = nested
    feed = workdir / "feed100k.rss"
    with feed.open("w") as f:
        f.write("<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>")
        for i in range(100_000):
            f.write(f"<item><title>Story {i}</title><guid>s{i}</guid><description>{ARTICLE} {i}</description></item>")
        f.write("</channel></rss>")
    files[f"feed with 100,000 items ({feed.stat().st_size / 1e6:.0f} MB)"] = feed
    jsonl = workdir / "bad-utf8.jsonl"
    with jsonl.open("wb") as f:
        for i in range(1000):
            f.write(json.dumps({"id": f"r{i}", "text": ARTICLE}).encode() + b"\n")
            f.write(b'{"id": "bad%d", "text": "caf\xe9 \xff"}\n' % i)
    files["JSONL, 1,000 lines of invalid UTF-8 among 1,000 good"] = jsonl
    csv = workdir / "huge-field.csv"
    with csv.open("wb") as f:
        f.write(b"id,text\n" + f'a,"{ARTICLE}"\n'.encode() + b'b,"')
        piece = b"word " * 200_000
        for _ in range(huge_field_mb):
            f.write(piece)
        f.write(b'"\n' + f'c,"{ARTICLE}"\n'.encode())
    files[f"CSV with a {huge_field_mb:,} MB field"] = csv
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0.27,1.08,2.7,10.8", help="article sizes in MB")
    parser.add_argument("--encode-up-to", type=float, default=1.1, help="run the whole ingest (encoding) up to this size in MB")
    parser.add_argument("--huge-field-mb", type=int, default=1000)
    parser.add_argument("--skip-hostile", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "big-inputs.json")
    args = parser.parse_args()

    from qa.encoders import load_encoder

    encoder = load_encoder()
    encoder.encode(["warm up the model"])
    workdir = Path(tempfile.mkdtemp(prefix="qa-big-"))
    rows = []
    try:
        for mb in (float(s) for s in args.sizes.split(",") if s.strip()):
            path = workdir / f"big-{mb}.txt"
            path.write_text(SENTENCE * round(mb * 1e6 / len(SENTENCE)) + "\n")
            row = {"mb": path.stat().st_size / 1e6, **stages(path, encoder, mb <= args.encode_up_to, workdir)}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
        hostile = []
        if not args.skip_hostile:
            for label, path in hostile_files(workdir, args.huge_field_mb).items():
                done = subprocess.run([sys.executable, "-c", READ_ONE, str(path)], capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(ROOT.parent)}, timeout=1800)
                result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {"error": done.stderr[-500:]}
                hostile.append({"input": label, "file_mb": path.stat().st_size / 1e6, **result})
                print(json.dumps(hostile[-1]), file=sys.stderr)
                path.unlink()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    if not rows and args.out.exists():  # --sizes "": the hostile files only, the sizes kept from the last run
        rows = json.loads(args.out.read_text()).get("sizes", [])
    base = rows[0] if rows else {"read_clean_s": 1, "chunk_s": 0, "mb": 1}
    print("| article | read + clean | split + chunk | whole ingest | encoding share | s per MB (before encoding) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        pre = r["read_clean_s"] + r["chunk_s"]
        ingest_s = r.get("ingest_s")
        share = f"{1 - pre / ingest_s:.0%}" if ingest_s else "-"
        print(f"| {r['mb']:.2f} MB | {r['read_clean_s']:.1f} s | {r['chunk_s']:.1f} s | "
              f"{f'{ingest_s:.1f} s' if ingest_s else '-'} | {share} | {pre / r['mb']:.2f} "
              f"({pre / r['mb'] / ((base['read_clean_s'] + base['chunk_s']) / base['mb']):.2f}x the smallest) |")
    if hostile:
        print("\n| hostile input | file | time | peak RSS | articles | failures | message |")
        print("|---|---|---|---|---|---|---|")
        for h in hostile:
            message = (h.get("messages") or [h.get("error", "")])[0].replace("|", "\\|")
            print(f"| {h['input']} | {h['file_mb']:.0f} MB | {h.get('seconds', 0):.1f} s | {h.get('peak_rss_mb', 0):.0f} MB | "
                  f"{h.get('articles', '-')} | {h.get('failures', '-')} | {message} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine(), "sizes": rows, "hostile": hostile}, indent=1))


if __name__ == "__main__":
    main()
