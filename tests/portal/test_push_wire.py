"""The push message on the wire (issue 13, point 1): our own RFC 8291 encryption checked against
the RFC's worked example and decrypted by http_ece (an independent implementation), and the kept
connections to a push service: reused, replaced when the server dropped one, never a request
sent twice."""

import asyncio
import http.client
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from portal import push
from tests.portal.test_reminder_channels import Browser

# RFC 8291, section 5 and Appendix A: every value below is quoted from the RFC.
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml"
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT"
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def private_key(value: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(push.b64u_decode(value), "big"), ec.SECP256R1())


def test_encryption_matches_the_rfc_8291_example_byte_for_byte():
    body = push.encrypt(
        RFC_PLAINTEXT,
        push.b64u_decode(RFC_UA_PUBLIC),
        push.b64u_decode(RFC_AUTH),
        salt=push.b64u_decode(RFC_SALT),
        server_key=private_key(RFC_AS_PRIVATE),
    )
    assert push.b64u(body) == RFC_BODY
    # And the RFC's user agent reads it back with its own key (http_ece, not our code).
    plain = http_ece.decrypt(
        body,
        private_key=private_key(RFC_UA_PRIVATE),
        auth_secret=push.b64u_decode(RFC_AUTH),
        version="aes128gcm",
    )
    assert plain == RFC_PLAINTEXT


def test_every_message_has_its_own_key_and_salt():
    browser = Browser()
    first, second = (push.encrypt(b"same", push.b64u_decode(browser.p256dh), browser.auth) for _ in range(2))
    assert first[:16] != second[:16]  # salt
    assert first[21:86] != second[21:86]  # the server's one-time public key
    for body in (first, second):
        assert (
            http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
            )
            == b"same"
        )


def test_a_payload_longer_than_one_record_is_refused():
    browser = Browser()
    with pytest.raises(ValueError):
        push.encrypt(b"x" * (push.MAX_PAYLOAD + 1), push.b64u_decode(browser.p256dh), browser.auth)


class KeptAliveService:
    """An HTTP/1.1 push service that keeps connections open and notes which connection each
    request came on; ``drop_after`` makes it close a connection silently after that many
    requests (as servers drop idle connections), without saying so in the response."""

    def __init__(self, drop_after: int = 0) -> None:
        self.requests: list[tuple[int, str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's hook name
                self.rfile.read(int(self.headers["Content-Length"]))
                service.requests.append((self.client_address[1], self.path))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()
                on_this = sum(1 for port, _path in service.requests if port == self.client_address[1])
                if drop_after and on_this >= drop_after:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vapid(settings):
    settings.VAPID_PRIVATE_KEY = push.b64u(
        ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
    )
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True


def send(service: "KeptAliveService | CannedService", path: str) -> int:
    return send_to(service.url + path)


def send_to(endpoint: str) -> int:
    browser = Browser()
    return push.send_push(
        endpoint=endpoint, p256dh=browser.p256dh, auth=push.b64u(browser.auth), payload={"tag": "t"}
    )


def in_a_new_thread(function) -> None:
    """Run ``function`` as the worker's threads do (sending from a thread that is not the push
    loop's), then close the kept connections: the next test starts with none."""
    failures = []

    def run():
        try:
            function()
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    push.close_connections()
    assert not failures, failures


def test_one_connection_carries_many_pushes(vapid):
    service = KeptAliveService()
    try:
        in_a_new_thread(lambda: [send(service, f"/push/{n}") for n in range(5)])
    finally:
        service.close()
    assert [path for _port, path in service.requests] == [f"/push/{n}" for n in range(5)]
    assert len({port for port, _path in service.requests}) == 1


def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_sent_twice(vapid):
    service = KeptAliveService(drop_after=2)

    def five():
        assert [send(service, f"/push/{n}") for n in range(5)] == [201] * 5

    try:
        in_a_new_thread(five)
    finally:
        service.close()
    assert [path for _port, path in service.requests] == [f"/push/{n}" for n in range(5)]
    assert len({port for port, _path in service.requests}) == 3


def test_a_request_path_cannot_carry_extra_header_lines(vapid):
    service = KeptAliveService()
    try:
        in_a_new_thread(lambda: send(service, "/push/a b%0D%0AX-Injected: 1"))
    finally:
        service.close()
    assert [path for _port, path in service.requests] == ["/push/a%20b%0D%0AX-Injected:%201"]


class CannedService:
    """A push service on loopback that answers every request with the same bytes, in two
    pieces as a network may deliver them, then closes the connection if ``hang_up``. After
    ``answers`` requests on one connection it drops the next one unanswered (a server closing
    a kept connection just as a request arrives). Counts the connections it was asked on."""

    def __init__(self, response: bytes, *, hang_up: bool = False, answers: int = 0) -> None:
        self.response, self.hang_up, self.answers = response, hang_up, answers
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                sock, _address = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(sock,), daemon=True).start()

    def answer(self, sock: socket.socket) -> None:
        with sock:
            data, answered = b"", 0
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = int(re.search(rb"Content-Length: (\d+)", head)[1])
                while len(data) < length:
                    data += sock.recv(65536)
                data = data[length:]
                if self.answers and answered == self.answers:
                    return
                answered += 1
                sock.sendall(self.response[:20])
                time.sleep(0.05)
                sock.sendall(self.response[20:])
                if self.hang_up:
                    sock.shutdown(socket.SHUT_WR)
                    return

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> "CannedService":
        return self

    def __exit__(self, *exc: object) -> None:
        """The push loop's kept connections go first, then the listener."""
        push.close_connections()
        self.close()


@pytest.mark.parametrize(
    ("response", "status", "keep"),
    [
        (b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 201, True),
        (b"HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 5\r\n\r\nhello", 201, True),
        (
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            201,
            True,
        ),
        (b"HTTP/1.1 410 Gone\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 410, False),
        (b"HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 429, False),
        (b"HTTP/1.0 201 Created\r\n\r\n", 201, False),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, True),
    ],
)
def test_the_answer_of_a_push_service_is_read_to_its_end_or_the_connection_dropped(
    vapid, response, status, keep
):
    with CannedService(response) as service:
        # Two pushes: the second's answer is read right only if nothing of the first's was
        # left over on a kept connection.
        assert [send(service, "/push/1"), send(service, "/push/2")] == [status, status]
    assert service.connections == (1 if keep else 2)


@pytest.mark.parametrize("response", [b"", b"garbage\r\n\r\n", b"HTTP/1.1 2x1 What\r\n\r\n"])
def test_a_broken_answer_is_an_error(vapid, response):
    with CannedService(response, hang_up=True) as service, pytest.raises(http.client.HTTPException):
        send(service, "/push/1")


def test_a_kept_connection_dropped_as_the_request_goes_is_replaced_once(vapid):
    """The loop cannot see the close before it writes: the request gets no answer on the
    kept connection, and goes again, once, on a new one."""
    with CannedService(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", answers=1) as service:
        assert [send(service, "/push/1"), send(service, "/push/2")] == [201, 201]
    assert service.connections == 2


def test_an_answer_nobody_asked_for_closes_the_kept_connection(vapid):
    """A server that says more than its answer (a 408 it sends before hanging up) must not
    have that taken for the answer to the next push."""
    with CannedService(
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 408 Timeout\r\n\r\n"
    ) as service:
        assert [send(service, "/push/1"), send(service, "/push/2")] == [201, 201]
    assert service.connections == 2


def test_a_push_service_that_never_answers_times_out(vapid, settings):
    settings.PUSH_TIMEOUT_SECONDS = 1
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(TimeoutError):
            send_to(f"http://127.0.0.1:{listener.getsockname()[1]}/push/1")
    finally:
        push.close_connections()
        listener.close()


@pytest.fixture
def tls_service(tmp_path, monkeypatch):
    """A KeptAliveService behind TLS with a certificate for "localhost", which the sender's
    TLS context is made to trust (and only it)."""
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    service = KeptAliveService()
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert_path, key_path)
    service.server.socket = server_side.wrap_socket(service.server.socket, server_side=True)
    service.url = service.url.replace("http://127.0.0.1", "https://localhost")
    trusting = ssl.create_default_context(cafile=str(cert_path))
    monkeypatch.setattr(push, "tls_context", lambda: trusting)
    yield service
    service.close()


def test_a_push_goes_over_tls_checked_against_the_services_name(vapid, tls_service):
    in_a_new_thread(lambda: [send(tls_service, f"/push/{n}") for n in range(3)])
    assert [path for _port, path in tls_service.requests] == ["/push/0", "/push/1", "/push/2"]
    assert len({port for port, _path in tls_service.requests}) == 1


def test_a_certificate_for_another_name_is_refused(vapid, tls_service):
    import ssl

    wrong = tls_service.url.replace("https://localhost", "https://127.0.0.1")

    def attempt():
        browser = Browser()
        with pytest.raises(ssl.SSLCertVerificationError):
            push.send_push(
                endpoint=wrong + "/push/x", p256dh=browser.p256dh, auth=push.b64u(browser.auth), payload={}
            )

    in_a_new_thread(attempt)
    assert tls_service.requests == []


def pool_jobs(count: int, seconds: float):
    """Jobs for a PushPool that note how many run at once, then report."""
    seen = {"running": 0, "most": 0}

    async def job(report) -> None:
        seen["running"] += 1
        seen["most"] = max(seen["most"], seen["running"])
        await asyncio.sleep(seconds)
        seen["running"] -= 1
        report(1)

    return [job] * count, seen


def test_the_push_pool_keeps_at_most_its_limit_under_way():
    jobs, seen = pool_jobs(12, 0.02)
    reports: list[int] = []
    push.PushPool(3).submit(jobs, reports.append).result(timeout=5)
    assert (len(reports), seen["most"]) == (12, 3)


def test_a_stopping_worker_drops_the_pushes_not_yet_started_and_finishes_the_others():
    jobs, seen = pool_jobs(6, 0.3)
    reports: list[int] = []
    pool = push.PushPool(2)
    pool.submit(jobs, reports.append)
    time.sleep(0.1)
    pool.shutdown(wait=True, cancel_futures=True)
    assert (len(reports), seen["running"]) == (2, 0)
