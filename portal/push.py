"""Web push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291), and the guard
on the addresses the server posts to.

The VAPID key comes from VAPID_PRIVATE_KEY (the raw private scalar, base64url) or is generated
once into var/vapid_private_key. py_vapid reads a string key as raw base64url, not PEM.

A push endpoint is an address a user hands us and the worker then POSTs to. Without a guard a
user could make the server call into its own network (loopback, the cloud metadata service at
169.254.169.254, private ranges). The guard runs when a device subscribes and again on every
connection: the worker resolves the host once, refuses the connection unless every address is
public, and connects to the address it checked, so a DNS answer that changes in between (DNS
rebinding) cannot point the request elsewhere. Loopback is allowed only with
PUSH_ALLOW_INSECURE_ENDPOINTS (tests and local development).

Sending is done here, not by pywebpush: a morning rush sends a push per reminder, and pywebpush
(a requests session, http_ece, a parsed key and a new object per message) cost about four times
the encryption itself. ``encrypt`` is RFC 8291's aes128gcm in a few lines of ``cryptography``
(checked against the RFC's own example in the tests), and ``PushConnection`` is one kept-alive
HTTP/1.1 connection to a push service, opened through the guard, that writes each request in one
piece and reads the answer with http.client.
"""

import base64
import hmac
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import struct
import threading
import time
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from py_vapid import Vapid02

# How long a signed VAPID token is reused for one push service (RFC 8292 allows up to 24 hours).
VAPID_TOKEN_SECONDS = 12 * 3600
# NAT64's well-known prefix (RFC 6052): the last 32 bits are an IPv4 address.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# How long a push lives at the push service while the device is offline.
PUSH_TTL_SECONDS = 4 * 3600
# A kept connection unused this long is closed instead of reused (servers drop idle ones).
IDLE_SECONDS = 30
# RFC 8291 section 4: one record of at most 4096 bytes, of which the header takes 86 and the
# authentication tag and padding delimiter 17.
RECORD_SIZE = 4096
MAX_PAYLOAD = RECORD_SIZE - 86 - 17
# The most of a push service's answer read at once, and the longest header accepted.
RESPONSE_LIMIT = 65536
# Characters kept as they are in a request path (as requests does); others are percent-encoded.
URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_generated: dict[str, str] = {}


def generated_private_key() -> str:
    """A key generated once and kept under var/, like the local secret key (read once per
    process: every push needs it)."""
    path = settings.VAR_DIR / "vapid_private_key"
    if str(path) in _generated:
        return _generated[str(path)]
    if not path.exists():
        vapid = Vapid02()
        vapid.generate_keys()
        raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(b64u(raw))
        path.chmod(0o600)
    _generated[str(path)] = path.read_text().strip()
    return _generated[str(path)]


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


def guarded_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to ``host``: resolved once, every address checked, connected to an
    address that was checked (never a second lookup). BlockedAddress when refused; OSError
    when no address answers."""
    failure: OSError | None = None
    for family, kind, proto, _name, address in resolve_checked(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.connect(address)
        except TimeoutError:
            sock.close()
            raise
        except OSError as error:
            sock.close()
            failure = error
        else:
            return sock
    raise failure or OSError(f"no address of {host} answered")


@cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


# --- Sending ----------------------------------------------------------------------------------


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA-256 (RFC 5869) for outputs of one block (up to 32 bytes)."""
    return hmac.digest(hmac.digest(salt, ikm, "sha256"), info + b"\x01", "sha256")[:length]


def encrypt(
    plaintext: bytes,
    user_agent_key: bytes,
    auth_secret: bytes,
    *,
    salt: bytes | None = None,
    server_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The body of an aes128gcm push message (RFC 8291 section 3, RFC 8188): a fresh ECDH key
    pair and salt for every message, one record. ``salt`` and ``server_key`` are for the RFC's
    example only."""
    if len(plaintext) > MAX_PAYLOAD:
        raise ValueError("push payload too long")
    server_key = server_key or ec.generate_private_key(ec.SECP256R1())
    server_public = server_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    shared = server_key.exchange(
        ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), user_agent_key)
    )
    ikm = hkdf(auth_secret, shared, b"WebPush: info\x00" + user_agent_key + server_public, 32)
    salt = salt or os.urandom(16)
    prk = hmac.digest(salt, ikm, "sha256")
    key = hmac.digest(prk, b"Content-Encoding: aes128gcm\x00\x01", "sha256")[:16]
    nonce = hmac.digest(prk, b"Content-Encoding: nonce\x00\x01", "sha256")[:12]
    # The last (and only) record ends with the delimiter 0x02 and no padding.
    record = AESGCM(key).encrypt(nonce, plaintext + b"\x02", None)
    return salt + struct.pack("!IB", RECORD_SIZE, len(server_public)) + server_public + record


_tokens: dict[tuple[str, str, str], tuple[float, str]] = {}
_tokens_lock = threading.Lock()


def vapid_authorization(audience: str) -> str:
    """The signed VAPID Authorization header for a push service (its origin), reused while
    fresh: signing per message would cost more than the message."""
    key = (vapid_private_key(), settings.VAPID_SUBJECT, audience)
    now = time.time()
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and cached[0] - now > 3600:
            return cached[1]
    expires = int(now) + VAPID_TOKEN_SECONDS
    vapid = Vapid02.from_raw(key[0].encode("ascii"))
    header: str = vapid.sign({"sub": settings.VAPID_SUBJECT, "aud": audience, "exp": expires})[
        "Authorization"
    ]
    with _tokens_lock:
        _tokens[key] = (expires, header)
    return header


class PushConnection:
    """One kept-alive HTTP/1.1 connection to a push service, opened through the guard. Each
    request goes out in one write, and ``read_response`` reads the answer."""

    def __init__(self, scheme: str, host: str, port: int) -> None:
        sock = guarded_socket(host, port, settings.PUSH_TIMEOUT_SECONDS)
        if scheme == "https":
            try:
                sock = tls_context().wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self.sock: socket.socket | None = sock
        self.used = time.monotonic()
        with _open_lock:
            _open.add(self)

    def post(self, request: bytes) -> int:
        assert self.sock is not None
        self.sock.sendall(request)
        status, keep = read_response(self.sock)
        self.used = time.monotonic()
        if not keep:
            self.close()
        return status

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        with _open_lock:
            _open.discard(self)


def read_response(sock: socket.socket) -> tuple[int, bool]:
    """The status of the HTTP/1.1 response on ``sock``, and whether the connection can carry
    the next request. Only the status matters (a push service's body is empty or a short
    note), so a response whose end is not given by a Content-Length (chunked, or up to the
    close) is not read to its end: the connection is closed instead. http.client would parse
    the same in 0.1 ms more per push."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > RESPONSE_LIMIT:
                raise http.client.LineTooLong("response header")
            chunk = sock.recv(RESPONSE_LIMIT)
            if not chunk:
                raise http.client.RemoteDisconnected("the push service closed the connection")
            data += chunk
            continue
        head, data = data[:end].decode("latin-1").split("\r\n"), data[end + 4 :]
        version, _, rest = head[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/") or not code.isdigit():
            raise http.client.BadStatusLine(head[0])
        status = int(code)
        if 100 <= status < 200:
            continue  # an interim response (103 Early Hints): the final one follows
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep = version == "HTTP/1.1" and headers.get("connection") != "close"
        if status in (204, 304):
            return status, keep
        length = headers.get("content-length", "")
        if "transfer-encoding" in headers or not length.isdigit():
            return status, False
        left = int(length) - len(data)
        while left > 0:
            chunk = sock.recv(min(left, RESPONSE_LIMIT))
            if not chunk:
                return status, False
            left -= len(chunk)
        return status, keep


# Every open connection, so that a worker stopping (or a test) can close those its finished
# threads kept.
_open: set[PushConnection] = set()
_open_lock = threading.Lock()


def close_connections() -> None:
    """Close every kept connection (call when no thread is sending)."""
    with _open_lock:
        found = list(_open)
    for connection in found:
        connection.close()


_local = threading.local()
# What a kept connection that the server closed meanwhile looks like on the next request.
STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


def post(origin: tuple[str, str, int], request: bytes) -> int:
    """POST over this thread's kept connection to the origin (threads do not share one). A kept
    connection the server has closed is replaced once; a new one that fails is an error."""
    kept: dict[tuple[str, str, int], PushConnection] = _local.__dict__.setdefault("connections", {})
    connection = kept.pop(origin, None)
    if connection is not None and (
        connection.sock is None or time.monotonic() - connection.used > IDLE_SECONDS
    ):
        connection.close()
        connection = None
    if connection is not None:
        try:
            status = connection.post(request)
        except STALE:
            connection.close()
            connection = None
        except BaseException:
            connection.close()
            raise
        else:
            if connection.sock is not None:
                kept[origin] = connection
            return status
    connection = PushConnection(*origin)
    try:
        status = connection.post(request)
    except BaseException:
        connection.close()
        raise
    if connection.sock is not None:
        kept[origin] = connection
    return status


def send_push(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> int:
    """Send one push and return the push service's HTTP status. Network failures raise OSError
    (TimeoutError for a timeout) or http.client.HTTPException; BlockedAddress when the address
    is refused. Touches no database row, so it runs in the worker's threads."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("scheme")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    body = encrypt(
        json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
        b64u_decode(p256dh),
        b64u_decode(auth),
    )
    target = quote(parts.path or "/", safe=URL_SAFE) + (
        f"?{quote(parts.query, safe=URL_SAFE)}" if parts.query else ""
    )
    host = parts.netloc.rpartition("@")[2]
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {vapid_authorization(f'{parts.scheme}://{host}')}\r\n"
        f"TTL: {PUSH_TTL_SECONDS}\r\nUrgency: normal\r\nContent-Encoding: aes128gcm\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n"
    )
    tag = payload.get("tag")
    if tag and TOPIC.fullmatch(tag):
        # Topic: a repeat of this message (after a worker was killed mid-send) replaces the
        # first at the push service instead of arriving twice.
        head += f"Topic: {tag}\r\n"
    return post((parts.scheme, parts.hostname, port), head.encode("ascii") + b"\r\n" + body)
