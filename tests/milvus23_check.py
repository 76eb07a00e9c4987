"""Run inside a loopback-only network namespace: start the Milvus 2.3 server (PyPI `milvus`), check the store on it, stop it.

`unshare -n python tests/milvus23_check.py DATA_DIR` (the 2.3 server binds every interface, so it
runs only where loopback is the only interface). Prints "OK" when every check passed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def main(data: str) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    code = "import sys; sys.argv = ['milvus-server', '--data', sys.argv[1]]; from milvus import main; main()"
    server = subprocess.Popen([sys.executable, "-c", code, data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 120
        while socket.socket().connect_ex(("127.0.0.1", 19530)) != 0:
            assert server.poll() is None and time.monotonic() < deadline, "the Milvus 2.3 server did not start"
            time.sleep(0.5)
        listening = time.monotonic()
        time.sleep(2)
        check()
        checked = time.monotonic()
    finally:
        os.kill(server.pid, signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
    print(f"listening after {listening - started:.1f} s, checked in {checked - listening:.1f} s, "
          f"stopped in {time.monotonic() - checked:.1f} s")
    print("OK")
    return 0


def check() -> None:
    import test_store_contract as contract

    from qa.errors import StoreError
    from qa.stores import open_index
    from qa.types import SearchFilter

    store = contract.filled(lambda: open_index("milvus://127.0.0.1:19530/qa23"))
    reader = store.reader()
    assert reader.stats()["articles"] == 4 and reader.count() == 7
    ferry = reader.article_chunks(["ferry"])["ferry"]
    [[(best, score), *_]] = reader.search_dense(reader.vectors(ferry[:1]), 3)
    assert best == ferry[0] and abs(score - 1) < 1e-5
    only = reader.search_dense(reader.vectors(ferry[:1]), 10, SearchFilter(sources=("sport.example",)))[0]
    assert set(reader.chunk_articles([c for c, _ in only]).values()) == {"cup"}
    for search in (reader.search_keywords, reader.search_articles):
        try:
            search("ferry", 3)
            raise AssertionError("BM25 ran on a 2.3 server")
        except StoreError as exc:
            assert "no BM25" in str(exc) and "dense" in str(exc)
    with store.writer() as w:
        w.remove("cup")
    newer = reader.reopen()
    assert newer is not None and newer.count() == 6 and {a.id for a in newer.articles()} == {"ferry", "budget", "flood"}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
