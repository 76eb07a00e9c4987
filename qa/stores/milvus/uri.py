"""Milvus index URIs (`milvus:PATH.db`, `milvus://[user:pass@]HOST:PORT/COLLECTION`), connecting, and error lines."""

from __future__ import annotations

import logging
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

from qa.errors import ConfigError, StoreError

log = logging.getLogger(__name__)

LITE_COLLECTION = "articleqa"  # the collections' name prefix in a milvus-lite file
TOKEN_ENV = "QA_MILVUS_TOKEN"
CONNECT_TIMEOUT = float(os.environ.get("QA_MILVUS_TIMEOUT", 10))
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,200}")


@dataclass(frozen=True)
class MilvusTarget:
    """Where an index lives: a milvus-lite file or a server, and the collection name prefix."""

    display: str  # the URI as the user gave it, password hidden
    collection: str
    path: Path | None = None  # a milvus-lite file
    address: str = ""  # "http://host:port" of a server
    token: str = ""

    @property
    def lite(self) -> bool:
        return self.path is not None


def parse_uri(uri: str) -> MilvusTarget:
    """Parse a milvus URI; ConfigError with an example when it is malformed.

    `milvus:PATH.db` (also `milvus:///abs/path.db`) is a milvus-lite file; `milvus://HOST:PORT/NAME`
    a server. A folder path given to argparse as a Path loses one slash ("milvus:/HOST:PORT/NAME"): that
    form is read as a server URI too.
    """
    text = str(uri).strip()
    scheme, _, rest = text.partition(":")
    if scheme.lower() != "milvus":
        raise ConfigError(f"{text}: not a milvus URI")
    example = "milvus:PATH.db or milvus://HOST:19530/COLLECTION"
    if rest.endswith(".db"):
        path = rest[2:] if rest.startswith("//") else rest  # milvus:///abs/x.db is /abs/x.db
        if not path.strip("/"):
            raise ConfigError(f"{text}: no milvus-lite file named; use {example}")
        return MilvusTarget(text, LITE_COLLECTION, path=Path(path))
    body = rest.lstrip("/")
    if not body:
        raise ConfigError(f"{text}: no server or file named; use {example}")
    netloc, _, collection = body.partition("/")
    collection = collection.strip("/")
    if not collection or not _NAME.fullmatch(collection):
        raise ConfigError(f"milvus://{body}: the collection name {collection!r} must be letters, digits and _ "
                          f"(starting with a letter or _); use {example}")
    creds, at, hostport = netloc.rpartition("@")
    host, _, port = hostport.partition(":")
    if not host or (port and not port.isdigit()):
        raise ConfigError(f"{text}: bad server address {hostport!r}; use {example}")
    token = os.environ.get(TOKEN_ENV, "")
    shown = f"milvus://{body}"  # as the user typed it (a Path made of it kept one slash)
    if at:
        user, _, password = creds.partition(":")
        token = f"{unquote(user)}:{unquote(password)}"
        shown = shown.replace(f"{creds}@", f"{unquote(user)}:***@")
    return MilvusTarget(shown, collection, address=f"http://{host}:{port or 19530}", token=token)


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def connect(target: MilvusTarget) -> Any:
    """The process's MilvusClient for the target (one per file or server and token, shared: it is thread-safe)."""
    key = (str(target.path.resolve()) if target.path is not None else target.address, target.token)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = _connect(target)
        return client


def _connect(target: MilvusTarget) -> Any:
    """A new MilvusClient for the target; StoreError (one line naming the URI) when it cannot connect."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise ConfigError(f"{target.display}: Milvus indexes need pymilvus and milvus-lite: "
                          "pip install 'article-qa[milvus]'") from None
    for name in ("grpc._server", "pymilvus"):  # milvus-lite's in-process server logs unimplemented calls it survives
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with calling(target, "connect"):
        if target.lite:
            assert target.path is not None
            if target.path.parent and not target.path.parent.exists():
                raise StoreError(f"{target.display}: the folder {target.path.parent} does not exist")
            return MilvusClient(str(target.path))
        return MilvusClient(uri=target.address, token=target.token, timeout=CONNECT_TIMEOUT)


def _errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Milvus said no" or "Milvus is not there"."""
    found: list[type[BaseException]] = [OSError, TimeoutError, ConnectionError]
    try:
        from pymilvus.exceptions import MilvusException

        found.append(MilvusException)
    except ImportError:
        pass
    try:
        import grpc

        found.append(grpc.RpcError)
    except ImportError:
        pass
    return tuple(found)


@contextmanager
def calling(target: MilvusTarget, what: str) -> Iterator[None]:
    """Turn Milvus and connection errors into one plain StoreError line naming the URI."""
    try:
        yield
    except StoreError:
        raise
    except _errors() as exc:  # pymilvus's MilvusException family, gRPC and socket errors; bugs propagate
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        message = " ".join(str(message).split())
        low = message.lower()
        if "auth" in low or "credential" in low or "permission" in low or "denied" in low:
            message = f"authentication failed ({message}); check {TOKEN_ENV} or user:pass in the URI"
        elif "fail connecting" in low or "unavailable" in low or "timeout" in low or "connect" in low:
            message = f"cannot reach the Milvus server ({message})"
        raise StoreError(f"{target.display}: cannot {what}: {message}") from None
