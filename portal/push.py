"""Web push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291) via pywebpush,
and the guard on the addresses the server posts to.

The VAPID key comes from VAPID_PRIVATE_KEY (the raw private scalar, base64url) or is generated
once into var/vapid_private_key. pywebpush reads a string key as raw base64url, not PEM.

A push endpoint is an address a user hands us and the worker then POSTs to. Without a guard a
user could make the server call into its own network (loopback, the cloud metadata service at
169.254.169.254, private ranges). The guard runs when a device subscribes and again on every
connection: the worker resolves the host once, refuses the connection unless every address is
public, and connects to the address it checked, so a DNS answer that changes in between (DNS
rebinding) cannot point the request elsewhere. Loopback is allowed only with
PUSH_ALLOW_INSECURE_ENDPOINTS (tests and local development).
"""

import base64
import ipaddress
import json
import socket
import threading
import time
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02
from pywebpush import WebPusher
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

# How long a signed VAPID token is reused for one push service (RFC 8292 allows up to 24 hours).
VAPID_TOKEN_SECONDS = 12 * 3600
# NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def generated_private_key() -> str:
    """A key generated once and kept under var/, like the local secret key."""
    path = settings.VAR_DIR / "vapid_private_key"
    if not path.exists():
        vapid = Vapid02()
        vapid.generate_keys()
        raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(b64u(raw))
        path.chmod(0o600)
    return path.read_text().strip()


def vapid_private_key() -> str:
    return settings.VAPID_PRIVATE_KEY or generated_private_key()


def vapid_public_key() -> str:
    """The applicationServerKey for pushManager.subscribe(): the uncompressed P-256 point."""
    vapid = Vapid02.from_raw(vapid_private_key().encode("ascii"))
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64u(point)


# --- The address guard --------------------------------------------------------------------


class BlockedAddress(Exception):
    """An endpoint the server must not call; ``reason`` is a short code for logs and users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether the server may connect to this IP address: public unicast only (plus loopback
    when allowed). IPv4 addresses hidden inside IPv6 ones are judged as IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_allowed(str(embedded), allow_loopback=allow_loopback)
        if ip.teredo:
            return False
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not (
        ip.is_multicast or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_unspecified
    )


def resolve_checked(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo results for ``host``, all of them allowed; BlockedAddress otherwise."""
    allow_loopback = settings.PUSH_ALLOW_INSECURE_ENDPOINTS
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BlockedAddress("unresolvable") from None
    if not found:
        raise BlockedAddress("unresolvable")
    # All or nothing: a name that also points inward is refused, whichever answer comes first.
    if not all(address_allowed(str(info[4][0]), allow_loopback=allow_loopback) for info in found):
        raise BlockedAddress("address")
    return found


def check_endpoint(url: str) -> None:
    """Refuse an endpoint the worker must never post to (raises BlockedAddress)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise BlockedAddress("url") from None
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise BlockedAddress("url")
    if parts.scheme == "http" and settings.PUSH_ALLOW_INSECURE_ENDPOINTS:
        # Plain http only for a push service on this machine (tests, local development).
        for info in resolve_checked(host, port or 80):
            if not ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]).is_loopback:
                raise BlockedAddress("scheme")
        return
    if parts.scheme != "https":
        raise BlockedAddress("scheme")
    resolve_checked(host, port or 443)


class _GuardedConnect:
    """Mixed into urllib3's connections: resolve once, check, connect to a checked address.
    BlockedAddress passes through urllib3 and requests unchanged, so the caller can tell it
    from a network failure."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        failure: OSError | None = None
        for info in resolve_checked(self.host, self.port):
            try:
                # An IP literal: create_connection does no DNS lookup of its own.
                return create_connection(
                    (str(info[4][0]), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
            except OSError as error:
                failure = error
        raise NewConnectionError(
            cast(HTTPConnection, self), f"Failed to establish a new connection: {failure}"
        )


class GuardedHTTPConnection(_GuardedConnect, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnect, HTTPSConnection):
    pass


class GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


_local = threading.local()


def http_session() -> requests.Session:
    """One session per worker thread (requests sessions are not shared across threads): kept
    connections to push services, every connection through the guard, no proxies from the
    environment (a proxy would connect on our behalf, past the guard)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False
        adapter = GuardedAdapter()
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        _local.session = session
    return session


# --- Sending ----------------------------------------------------------------------------------

_tokens: dict[tuple[str, str, str], tuple[float, dict[str, str]]] = {}
_tokens_lock = threading.Lock()


def vapid_headers(endpoint: str) -> dict[str, str]:
    """The signed VAPID header for the endpoint's push service, reused while fresh: signing
    per message would cost more than the message."""
    parts = urlsplit(endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    key = (vapid_private_key(), settings.VAPID_SUBJECT, audience)
    now = time.time()
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and cached[0] - now > 3600:
            return cached[1]
    expires = int(now) + VAPID_TOKEN_SECONDS
    vapid = Vapid02.from_raw(key[0].encode("ascii"))
    headers: dict[str, str] = dict(
        vapid.sign({"sub": settings.VAPID_SUBJECT, "aud": audience, "exp": expires})
    )
    with _tokens_lock:
        _tokens[key] = (expires, headers)
    return headers


def send_push(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> int:
    """Send one push and return the push service's HTTP status. Network failures raise
    (requests' exceptions, or BlockedAddress inside them). Touches no database row, so it runs
    in the worker's threads."""
    headers: dict[str, str | int | float] = {"Urgency": "normal", **vapid_headers(endpoint)}
    if payload.get("tag"):
        # Topic: a repeat of this message (after a worker was killed mid-send) replaces the
        # first at the push service instead of arriving twice.
        headers["Topic"] = payload["tag"]
    pusher = WebPusher(
        {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}, requests_session=http_session()
    )
    response = pusher.send(json.dumps(payload), headers, ttl=4 * 3600, timeout=settings.PUSH_TIMEOUT_SECONDS)
    assert isinstance(response, requests.Response)
    return response.status_code
