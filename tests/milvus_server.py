"""Milvus servers on 127.0.0.1 for tests (`milvus-lite server`, the milvus-lite 2.5.1 binary), started and stopped by their PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiteServer:
    """`milvus-lite server --data-dir DIR --host 127.0.0.1 --port P`; `uri(name)` names a collection on it."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        exe = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or shutil.which("milvus-lite")
        command = [exe] if exe else [sys.executable, "-m", "milvus_lite"]
        self.process = subprocess.Popen([*command, "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                                         "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_listening("milvus-lite server")

    def _wait_listening(self, what: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited: {self.process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{what} did not listen within 60 s")

    def uri(self, collection: str) -> str:
        return f"milvus://127.0.0.1:{self.port}/{collection}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


ROOT = Path(__file__).resolve().parents[1]
LITE25_ENV = "QA_MILVUS_LITE25_PATH"  # a `pip install --no-deps --target DIR milvus-lite==2.5.1` folder


def lite25_folder() -> Path | None:
    """Where milvus-lite 2.5.1 is installed (`make install` puts it in .venv/milvus-lite-2.5.1), or None."""
    for folder in (os.environ.get(LITE25_ENV), ROOT / ".venv" / "milvus-lite-2.5.1", Path(sys.prefix) / "milvus-lite-2.5.1"):
        if folder and (Path(folder) / "milvus_lite" / "lib" / "milvus").is_file():
            return Path(folder)
    return None


class Lite25Server(LiteServer):
    """The milvus-lite 2.5.1 binary (the Milvus 2.5 C++ engine: BM25 with an english analyzer) on 127.0.0.1."""

    def __init__(self, data_dir: Path, folder: Path) -> None:
        lib = folder / "milvus_lite" / "lib"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {**os.environ, "LD_LIBRARY_PATH": os.pathsep.join(p for p in (str(lib), os.environ.get("LD_LIBRARY_PATH")) if p)}
        self.process = subprocess.Popen([str(lib / "milvus"), str(data_dir / "milvus.db"), f"127.0.0.1:{self.port}", "ERROR"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self._wait_listening("the milvus-lite 2.5.1 binary")
