"""Who may use a served app: users from `--auth USER:PASS`, `$QA_AUTH` or a file of USER:PASS lines, checked as
HTTP Basic credentials or as the bearer tokens issued to them, and the warning for an app open to a network
without them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any, Sequence

from qa import config
from qa.errors import ConfigError

log = logging.getLogger(__name__)


def parse_users(value: str | None = None) -> list[tuple[str, str]]:
    """(user, password) pairs from `value` (or `$QA_AUTH`): comma-separated USER:PASS, or the path of a file
    with one USER:PASS a line (# comments and blank lines skipped). An empty value: no users (no login)."""
    value = (value if value is not None else os.environ.get("QA_AUTH", "")).strip()
    if not value:
        return []
    path = Path(value).expanduser()
    if ":" not in value or path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"--auth {value!r} is neither USER:PASS nor a readable file of them ({exc.strerror or exc})") from None
        entries, where = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")], str(path)
    else:
        entries, where = [v.strip() for v in value.split(",") if v.strip()], "--auth"
    users = []
    for entry in entries:
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(f"{where}: each user is USER:PASS with a non-empty name and password, got {entry.split(':')[0]!r}:…")
        users.append((user.strip(), password))
    return users


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: nobody else can reach the app there."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, share: bool, users: list[tuple[str, str]]) -> str:
    """The warning to print on start when the app is reachable by others and nobody has to log in ('' otherwise)."""
    if users or (is_loopback(host) and not share):
        return ""
    where = "a public gradio.live link (--share)" if share else f"{host}, reachable from other machines"
    return (f"WARNING: the app is served on {where} without a login: anyone who reaches it can ask and add articles. "
            "Give --auth USER:PASS (or QA_AUTH, or a file of users), or --read-only to refuse uploads.")


class Users:
    """The app's users: HTTP Basic credentials checked in constant time, and bearer tokens issued to them.

    A token is `base64(user, expiry) . HMAC-SHA256` under a key made at start: nothing is stored, any thread
    may check one, and every token ends with the process (or after `hours`, or when its user is gone).
    """

    def __init__(self, users: Sequence[tuple[str, str]], *, hours: float = config.TOKEN_HOURS) -> None:
        self._allowed = [(user.encode(), password.encode()) for user, password in users]
        self._names = {user for user, _ in users}
        self._key = secrets.token_bytes(32)
        self.seconds = int(hours * 3600)

    def __bool__(self) -> bool:
        return bool(self._allowed)

    def check(self, authorization: str | bytes) -> str | None:
        """The user an `Authorization` header value (Basic or Bearer) names, or None when it names nobody."""
        value = authorization.encode() if isinstance(authorization, str) else authorization
        scheme, _, credentials = value.strip().partition(b" ")
        if scheme.lower() == b"basic":
            return self.basic(credentials.strip())
        if scheme.lower() == b"bearer":
            return self.bearer(credentials.strip().decode("ascii", "replace"))
        return None

    def basic(self, credentials: bytes) -> str | None:
        try:
            user, _, password = base64.b64decode(credentials, validate=True).partition(b":")
        except ValueError:
            return None
        # compare with every user, in constant time, so the reply's timing tells nothing
        found = [hmac.compare_digest(user, u) & hmac.compare_digest(password, p) for u, p in self._allowed]
        return user.decode("utf-8", "replace") if any(found) else None

    def issue(self, user: str) -> str:
        """A bearer token for `user`, valid for `self.seconds`."""
        payload = base64.urlsafe_b64encode(f"{user}\n{int(time.time()) + self.seconds}".encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def bearer(self, token: str) -> str | None:
        payload, _, signature = token.partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            return None
        try:
            user, _, expiry = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().rpartition("\n")
            alive = int(expiry) > time.time()
        except ValueError:
            return None
        return user if alive and user in self._names else None

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


def basic_auth(app: Any, users: Sequence[tuple[str, str]]) -> Any:
    """An ASGI app that lets a request through to `app` only with HTTP Basic credentials of one of `users`
    (for endpoints used by programs, such as /mcp, which cannot log in through the UI's page); 401 otherwise."""
    allowed = Users(users)

    def permitted(headers: list[tuple[bytes, bytes]]) -> bool:
        scheme, _, token = dict(headers).get(b"authorization", b"").partition(b" ")
        return scheme.lower() == b"basic" and allowed.basic(token.strip()) is not None

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or permitted(scope.get("headers", [])):
            await app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"www-authenticate", b'Basic realm="article QA"'), (b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"this app needs a login: HTTP Basic with one of its --auth users\n"})

    return guarded
