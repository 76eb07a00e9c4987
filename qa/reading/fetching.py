"""HTTP GET for URL and feed ingest: a size cap, a total deadline and, for a served app, public addresses only."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any

from qa.errors import SourceError
from qa.reading.limits import too_big

USER_AGENT = "article-qa/0.1 (+https://pypi.org/project/article-qa)"
MAX_REDIRECTS = 10
PRIVATE_HINT = ("the app fetches public addresses only (not loopback, private, link-local or cloud-metadata ones); "
                "start it with --allow-private-urls to allow them, or add the article with `qa ingest`")


@dataclass(frozen=True)
class FetchPolicy:
    """Which addresses a download may connect to: any (the CLI, run by the machine's own user) or public only
    (a served app, where the URL comes from someone else and must not reach the server's own network)."""

    allow_private: bool = True
    trusted: tuple[str, ...] = ()  # networks allowed even when private ("10.1.2.0/24": a newsroom's intranet)

    def address(self, host: str, port: int) -> str:
        """The checked address to connect to for `host`: every address it resolves to must be public (a name
        that resolves to one private address among public ones is refused too); raises SourceError."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise SourceError(host, f"cannot fetch: cannot resolve the host name ({exc})") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for address in addresses:
            kind = blocked_kind(address)
            if kind and not self._trusts(address):
                shown = host if host == address else f"{host} ({address})"
                raise SourceError(host, f"refused: {shown} is a {kind} address; {PRIVATE_HINT}")
        return addresses[0]

    def _trusts(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip in ipaddress.ip_network(net, strict=False) for net in self.trusted)


ANY_ADDRESS = FetchPolicy(allow_private=True)
PUBLIC_ONLY = FetchPolicy(allow_private=False)


def blocked_kind(address: str) -> str:
    """'' for a public (globally routable unicast) address, else what it is: loopback, private, link-local…"""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ('fe80::1%eth0') names a link
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:  # 169.254.169.254 and fe80::/10: where cloud metadata services answer
        return "link-local (cloud metadata)"
    if ip.is_unspecified:
        return "unspecified (this host)"
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global:  # 10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10 (carrier NAT), reserved ranges
        return "private or reserved"
    return ""


def fetch(url: str, timeout: float, max_bytes: int, policy: FetchPolicy = ANY_ADDRESS) -> tuple[bytes, str]:
    """GET a URL; returns the body and content type, or raises SourceError with the reason.

    `timeout` bounds each network wait and, times four, the whole download; a body over `max_bytes`
    is refused before it is read (by its Content-Length) or as soon as it passes the cap. Redirects are
    followed one hop at a time (at most 10); under PUBLIC_ONLY every hop's host is resolved, all of its
    addresses checked, and the connection made to the checked address (so a second lookup cannot change it).
    """
    import httpx

    deadline = time.monotonic() + 4 * timeout
    current = url
    try:
        # under PUBLIC_ONLY no proxy from the environment: a proxy would resolve the names itself, unchecked
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=policy.allow_private,
                          headers={"User-Agent": USER_AGENT}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                response = client.send(_request(client, current, policy), stream=True)
                try:
                    if not response.is_redirect:
                        return _read_body(url, response, max_bytes, deadline, timeout)
                    current = str(httpx.URL(current).join(response.headers["location"]))
                finally:
                    response.close()
    except SourceError as exc:
        if current != url and exc.source != url:  # a refused redirect: say where it went
            raise SourceError(url, f"{exc.reason} (redirected to {current})") from None
        raise SourceError(url, exc.reason) from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, UnicodeError, ValueError, KeyError) as exc:
        raise SourceError(url, f"cannot fetch: {exc.__class__.__name__}: {exc}") from None  # InvalidURL: '508.0.0.1'
    raise SourceError(url, f"cannot fetch: more than {MAX_REDIRECTS} redirects (last: {current})")


def _request(client: Any, url: str, policy: FetchPolicy) -> Any:
    """The GET for one hop: to the URL as it is, or (public only) to its host's checked address, with the
    original Host header and TLS server name, so virtual hosts and certificates work as before."""
    import httpx

    target = httpx.URL(url)
    if target.scheme not in ("http", "https"):
        raise SourceError(url, f"cannot fetch: only http and https URLs are fetched, not {target.scheme or 'this'}")
    if policy.allow_private:
        return client.build_request("GET", target)
    port = target.port or (443 if target.scheme == "https" else 80)
    address = policy.address(target.host, port)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return client.build_request("GET", target.copy_with(host=address), headers={"Host": target.netloc.decode("ascii")},
                                extensions=extensions)


def _read_body(url: str, response: Any, max_bytes: int, deadline: float, timeout: float) -> tuple[bytes, str]:
    if response.status_code >= 400:
        raise SourceError(url, f"cannot fetch: HTTP {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big(url, int(declared), max_bytes, "download")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:
            raise too_big(url, len(body), max_bytes, "download")
        if time.monotonic() > deadline:
            raise SourceError(url, f"cannot fetch: the download took over {4 * timeout:g} s (--timeout {timeout:g})")
    return bytes(body), response.headers.get("content-type", "")
