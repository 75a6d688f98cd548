"""Several real processes on one database, as in production (issue 8, points 4 and 11):
web servers share rate limits and used authenticator codes through the shared cache, and
the worker sends a sign-in code while the person waits."""

import re
import sys
import time

import requests
from aiosmtpd.controller import Controller
from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time

from portal.demo import DEMO_TOTP_SECRET, STAFF_PASSWORD
from tests.processes import csrf_post, free_port

STAFF = "clinician@demo.example"


def totp_now() -> str:
    """The demo authenticator's code, taken early enough in its 30-second window that the
    server still accepts it when the request arrives (allauth allows no clock drift)."""
    while int(time.time()) % 30 > 25:
        time.sleep(0.5)
    return f"{hotp_value(DEMO_TOTP_SECRET, next(yield_hotp_counters_from_time())):06d}"


def browser() -> requests.Session:
    """A browser that reaches the servers under one public name, as behind a proxy (lockouts
    are kept per site name and email)."""
    session = requests.Session()
    session.headers["Host"] = "127.0.0.1"
    return session


def password_step(server: str) -> requests.Session:
    session = browser()
    response = csrf_post(session, server + "/accounts/login/", {"login": STAFF, "password": STAFF_PASSWORD})
    assert response.url.endswith("/accounts/2fa/authenticate/"), response.url
    return session


def test_an_authenticator_code_used_on_one_server_is_refused_by_another(site):
    first, second = site.web_server(), site.web_server()
    # Wait for a fresh 30-second window, so both sign-ins fall inside the same one.
    while int(time.time()) % 30 > 20:
        time.sleep(1)
    ours, theirs = password_step(first), password_step(second)
    code = totp_now()
    signed_in = csrf_post(ours, first + "/accounts/2fa/authenticate/", {"code": code})
    assert signed_in.url == first + "/clinic/", signed_in.url
    # Someone who saw the code over a shoulder replays it at the other server.
    replayed = csrf_post(theirs, second + "/accounts/2fa/authenticate/", {"code": code})
    assert replayed.url.endswith("/accounts/2fa/authenticate/")
    assert "Incorrect code" in replayed.text
    assert "/patients/" not in theirs.get(second + "/patients/", timeout=10).url


def test_a_lockout_on_one_server_holds_on_another(site):
    first, second = site.web_server(), site.web_server()
    guesser = browser()
    for _ in range(5):
        response = csrf_post(guesser, first + "/accounts/login/", {"login": STAFF, "password": "wrong guess"})
        assert response.url.endswith("/accounts/login/")
    # The right password, on the other server: still locked out for a while.
    response = csrf_post(browser(), second + "/accounts/login/", {"login": STAFF, "password": STAFF_PASSWORD})
    assert "Too many failed login attempts" in response.text, re.findall(
        r"errorlist[^<]*<li>([^<]*)", response.text
    )
    assert response.url.endswith("/accounts/login/")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802 - aiosmtpd's hook
        self.messages.append(envelope.content)
        return "250 OK"


def test_a_sign_in_code_arrives_while_the_worker_idles(site):
    port = free_port()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        mail = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "false"}
        site.env.update(mail)
        server = site.web_server()
        # The worker has nothing to do and sleeps 60 seconds between reminder passes.
        site.start(sys.executable, "manage.py", "sendreminders", "--idle", "60")
        time.sleep(2)
        patient = requests.Session()
        response = csrf_post(patient, server + "/accounts/login/code/", {"email": "patient@demo.example"})
        assert response.url.endswith("/accounts/login/code/confirm/"), response.url
        # The demo's own reminders may fall due by email while this runs (it depends on the time
        # of day): wait for the message that carries a code, and only one.
        code_line = re.compile(rb"(?m)^([A-Z0-9]{4}-[A-Z0-9]{4})\r?$")
        deadline = time.monotonic() + 15
        codes: list[bytes] = []
        while not codes and time.monotonic() < deadline:
            time.sleep(0.2)
            codes = [found.group(1) for m in inbox.messages if (found := code_line.search(m))]
        assert len(codes) == 1, "the code did not arrive while the worker idled"
        code = codes[0].decode()
        response = csrf_post(patient, server + "/accounts/login/code/confirm/", {"code": code})
        assert response.url == server + "/care/", response.url  # patients start from today's care
    finally:
        smtp.stop()
