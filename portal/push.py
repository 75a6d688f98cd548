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
piece and reads the status of the answer.

Every push of a process goes out from one event loop on a thread of its own (``event_loop``):
the worker hands pushes to it through ``PushPool``, and ``send_push`` waits for one from any other
thread. Connections are kept per push service and shared by the pushes on the loop.
"""

import asyncio
import base64
import concurrent.futures
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
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from functools import cache
from pathlib import Path
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


# Base64url (RFC 4648 section 5), padding optional. The standard decoder would skip any other
# character silently, so "!!!not base64<script>" would decode to something.
B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")
# RFC 8291 section 3.1/3.2: the browser's key is an uncompressed P-256 point (0x04, X, Y) and
# its authentication secret 16 bytes.
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


def b64u_decode(text: str) -> bytes:
    """Base64url, with or without padding; ValueError for anything else."""
    if not B64URL.fullmatch(text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_browser_key(p256dh: str) -> None:
    """ValueError unless ``p256dh`` is a key ``encrypt`` can use: checked when a device
    subscribes, because at send time a bad key is only a failure retried until it gives up."""
    raw = b64u_decode(p256dh)
    if len(raw) != P256_POINT_BYTES or raw[0] != 0x04:
        raise ValueError("not an uncompressed P-256 point")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # raises if not on the curve


def check_auth_secret(auth: str) -> None:
    """ValueError unless ``auth`` is the subscription's 16-byte authentication secret."""
    if len(b64u_decode(auth)) != AUTH_SECRET_BYTES:
        raise ValueError("not 16 bytes")


_generated: dict[Path, str] = {}


def generated_private_key() -> str:
    """A key generated once and kept under var/, like the local secret key (read once per
    process: every push needs it)."""
    if settings.VAR_DIR in _generated:
        return _generated[settings.VAR_DIR]
    path = settings.VAR_DIR / "vapid_private_key"
    if not path.exists():
        vapid = Vapid02()
        vapid.generate_keys()
        raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(b64u(raw))
        path.chmod(0o600)
    _generated[settings.VAR_DIR] = path.read_text().strip()
    return _generated[settings.VAR_DIR]


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


class UnusableKeys(ValueError):
    """The device's keys (p256dh, auth) cannot encrypt a message: it can never get one. Keys
    are checked when a device subscribes; this catches those stored before that check."""


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
    if len(auth_secret) != AUTH_SECRET_BYTES:
        raise ValueError("the auth secret is not 16 bytes")
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


class PushConnection(asyncio.Protocol):
    """One kept-alive HTTP/1.1 connection to a push service, opened through the guard
    (``connect``). Each request goes out in one write; ``parse_response`` reads the answer.
    Lives on the push loop: only its thread touches it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.data = b""
        self.answer: asyncio.Future[tuple[int, bool]] | None = None
        self.closed = False
        self.used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.answer is None or self.answer.done():
            # Nothing was asked (a server's 408 before it hangs up): it must not be taken for
            # the answer to the next request.
            self.close()
            return
        self.data += data
        self.settle(ended=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None and not self.answer.done():
            self.settle(ended=True)

    def settle(self, *, ended: bool) -> None:
        assert self.answer is not None
        try:
            found = parse_response(self.data, ended=ended)
        except http.client.HTTPException as error:
            self.answer.set_exception(error)
            return
        if found is not None:
            status, keep, used = found
            # Bytes after the answer were not asked for: the connection is not trusted again.
            self.answer.set_result((status, keep and used == len(self.data)))
            self.data = b""

    async def post(self, request: bytes) -> int:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(settings.PUSH_TIMEOUT_SECONDS):
                self.transport.write(request)
                status, keep = await self.answer
        finally:
            self.answer = None
        self.used = time.monotonic()
        if not keep:
            self.close()
        return status

    def usable(self) -> bool:
        """Still open and not idle so long that the server may drop it as the request goes."""
        return (
            not self.closed
            and self.transport is not None
            and not self.transport.is_closing()
            and time.monotonic() - self.used <= IDLE_SECONDS
        )

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


async def connect(scheme: str, host: str, port: int) -> PushConnection:
    """A connection to ``host``: resolved once, every address checked, connected to an address
    that was checked (never a second lookup), then TLS for https. BlockedAddress when refused;
    OSError when no address answers; TimeoutError after PUSH_TIMEOUT_SECONDS."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(settings.PUSH_TIMEOUT_SECONDS):
        found = await loop.run_in_executor(None, resolve_checked, host, port)
        failure: OSError | None = None
        for family, kind, proto, _name, address in found:
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await loop.sock_connect(sock, address)
            except OSError as error:
                sock.close()
                failure = error
                continue
            except BaseException:
                sock.close()
                raise
            break
        else:
            raise failure or OSError(f"no address of {host} answered")
        try:
            _transport, connection = await loop.create_connection(
                PushConnection,
                sock=sock,
                ssl=tls_context() if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None,
            )
        except BaseException:
            sock.close()
            raise
    return connection


def parse_response(data: bytes, *, ended: bool) -> tuple[int, bool, int] | None:
    """The status of the HTTP/1.1 response at the start of ``data``, whether the connection can
    carry the next request, and how many bytes the response took; None while more is to come.
    ``ended``: the server closed the connection after ``data``. Only the status matters (a push
    service's body is empty or a short note), so a response whose end is not given by a
    Content-Length (chunked, or up to the close) is not read to its end: the connection is closed
    instead. http.client would parse the same in 0.1 ms more per push."""
    start = 0
    while True:
        end = data.find(b"\r\n\r\n", start)
        if end < 0:
            if len(data) - start > RESPONSE_LIMIT:
                raise http.client.LineTooLong("response header")
            if ended:
                raise http.client.RemoteDisconnected("the push service closed the connection")
            return None
        head, body = data[start:end].decode("latin-1").split("\r\n"), end + 4
        version, _, rest = head[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/") or not code.isdigit():
            raise http.client.BadStatusLine(head[0])
        status = int(code)
        if 100 <= status < 200:
            start = body  # an interim response (103 Early Hints): the final one follows
            continue
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip().lower()
        keep = version == "HTTP/1.1" and headers.get("connection") != "close"
        if status in (204, 304):
            return status, keep, body
        length = headers.get("content-length", "")
        if "transfer-encoding" in headers or not length.isdigit():
            return status, False, len(data)
        if len(data) - body >= int(length):
            return status, keep, body + int(length)
        if ended:
            return status, False, len(data)
        return None


# --- The push loop ----------------------------------------------------------------------------
#
# Every push of a process goes out from one event loop on a thread of its own: a push waits
# ~100 ms for its answer, and a hundred in flight on threads cost more in switching between
# them than in sending (0.73 ms of CPU a push against 0.47 on the loop, measured).

_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()
# Idle kept connections by (scheme, host, port): touched on the loop only.
_kept: dict[tuple[str, str, int], list[PushConnection]] = {}
# What a kept connection that the server closed meanwhile looks like on the next request.
STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, http.client.RemoteDisconnected)
TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


def event_loop() -> asyncio.AbstractEventLoop:
    """This process's push loop, started on first use (and again in a forked child, which
    inherits no thread)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop, _loop_pid = asyncio.new_event_loop(), os.getpid()
            _kept.clear()
            threading.Thread(target=_loop.run_forever, name="push", daemon=True).start()
        return _loop


def close_connections() -> None:
    """Close every kept connection (when nothing is being sent)."""
    if _loop is not None and _loop_pid == os.getpid():
        asyncio.run_coroutine_threadsafe(_close_kept(), _loop).result()


async def _close_kept() -> None:
    for idle in _kept.values():
        for connection in idle:
            connection.close()
    _kept.clear()


async def post(origin: tuple[str, str, int], request: bytes) -> int:
    """POST over a kept connection to the origin, or a new one. A kept connection the server
    has closed is replaced once; a new one that fails is an error."""
    idle = _kept.setdefault(origin, [])
    while idle:
        connection = idle.pop()
        if connection.usable():
            try:
                return await exchange(idle, connection, request)
            except STALE:
                break
        connection.close()
    return await exchange(idle, await connect(*origin), request)


async def exchange(idle: list[PushConnection], connection: PushConnection, request: bytes) -> int:
    """One request and its answer; the connection is kept idle after, closed on any error."""
    try:
        status = await connection.post(request)
    except BaseException:
        connection.close()
        raise
    if not connection.closed:
        idle.append(connection)
    return status


async def send(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> int:
    """Send one push (on the push loop) and return the push service's HTTP status. Network
    failures raise OSError (TimeoutError for a timeout) or http.client.HTTPException;
    BlockedAddress when the address is refused. Touches no database row."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress("scheme")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if len(plaintext) > MAX_PAYLOAD:
        raise ValueError("push payload too long")
    try:
        body = encrypt(plaintext, b64u_decode(p256dh), b64u_decode(auth))
    except ValueError as exc:  # the payload fits: the device's keys are at fault
        raise UnusableKeys(str(exc)) from exc
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
    return await post((parts.scheme, parts.hostname, port), head.encode("ascii") + b"\r\n" + body)


def send_push(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> int:
    """``send`` from a thread that is not the push loop's, waiting for the answer."""
    future = asyncio.run_coroutine_threadsafe(
        send(endpoint=endpoint, p256dh=p256dh, auth=auth, payload=payload), event_loop()
    )
    return future.result()


class PushPool:
    """Push jobs on the push loop, at most ``limit`` under way at once: for the worker's
    Sender what a thread pool is for email, without a thread per push in flight. Jobs are
    handed over in groups (one wake-up of the loop for each)."""

    def __init__(self, limit: int) -> None:
        self.loop = event_loop()
        self.gate = asyncio.Semaphore(limit)  # bound to the push loop when first used there
        self.cancelled = False
        self.pending: set[Future[None]] = set()

    def submit[T](self, jobs: Sequence[Callable[[T], Awaitable[None]]], arg: T) -> Future[None]:
        """Start ``jobs``, each called with ``arg``; the future is done when all are."""
        future = asyncio.run_coroutine_threadsafe(self.run(jobs, arg), self.loop)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)
        return future

    async def run[T](self, jobs: Sequence[Callable[[T], Awaitable[None]]], arg: T) -> None:
        await asyncio.gather(*(self.one(job, arg) for job in jobs))

    async def one[T](self, job: Callable[[T], Awaitable[None]], arg: T) -> None:
        async with self.gate:
            if not self.cancelled:
                await job(arg)

    def shutdown(self, *, wait: bool = True, cancel_futures: bool = False) -> None:
        """As ThreadPoolExecutor.shutdown: jobs not yet started are dropped when
        ``cancel_futures``; those under way finish."""
        self.cancelled = self.cancelled or cancel_futures
        if wait:
            concurrent.futures.wait(list(self.pending))
