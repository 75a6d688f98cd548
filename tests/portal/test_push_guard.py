"""Requests the server makes for users (issue 8, point 6): push endpoints may not point into the
server's own network, at subscribe time and again at each send (DNS can change), and a
subscription of one account is never moved to another.

DNS answers come from a table (the ``dns`` fixture), so no test needs a name server; the push
service is a real HTTP server on loopback (tests.portal.test_reminder_channels)."""

import socket
from datetime import UTC, date, datetime, time

import pytest
from django.urls import reverse

from portal import push
from portal.models import PushSubscription, Reminder
from portal.reminders import replan_patient, send_due_reminders
from tests.helpers import log_in
from tests.portal.test_reminder_channels import Browser, b64u

PLANNED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
PUBLIC = "93.184.215.14"


class FakeDns:
    """getaddrinfo answers for made-up names; a list of answers is served one per lookup (the
    last one repeats), like a name whose DNS record changes."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}

    def set(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def __call__(self, real, host, port, *args, **kwargs):
        if host not in self.answers:
            return real(host, port, *args, **kwargs)
        self.lookups[host] = self.lookups.get(host, 0) + 1
        queue = self.answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        result = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            result.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return result


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDns()
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: fake(real, *args, **kwargs))
    return fake


def post_subscription(client, user, endpoint: str, browser: Browser | None = None):
    browser = browser or Browser()
    log_in(client, user)
    return client.post(
        reverse("api-push-subscriptions"),
        {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": b64u(browser.auth)}},
        content_type="application/json",
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/push",
        "https://127.9.9.9:8443/push",
        "https://[::1]/push",
        "https://10.0.0.5/push",
        "https://172.16.3.4/push",
        "https://192.168.1.1/push",
        "https://100.64.0.1/push",  # carrier-grade NAT
        "https://169.254.169.254/latest/meta-data/",
        "https://[fe80::1]/push",
        "https://[fd00::1]/push",
        "https://224.0.0.1/push",
        "https://[ff02::1]/push",
        "https://0.0.0.0/push",
        "https://240.0.0.1/push",  # reserved
        "https://[::ffff:127.0.0.1]/push",
        "https://[::ffff:169.254.169.254]/push",
        "https://[64:ff9b::a9fe:a9fe]/push",  # NAT64 of 169.254.169.254
        "https://[2002:a00:1::]/push",  # 6to4 of 10.0.0.1
        "https://metadata.example.test/push",
        "https://mixed.example.test/push",
        "https://nowhere.example.test/push",
        "http://push.example.test/push",
        "https://user:secret@push.example.test/push",
    ],
)
def test_subscribing_refuses_endpoints_into_the_servers_network(client, patient, dns, settings, endpoint):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    dns.set("metadata.example.test", ["169.254.169.254"])
    dns.set("mixed.example.test", [PUBLIC, "10.1.2.3"])
    dns.set("nowhere.example.test", [])
    dns.set("push.example.test", [PUBLIC])
    response = post_subscription(client, patient.user, endpoint)
    assert response.status_code == 400, response.content
    assert response.json()["endpoint"]
    assert not PushSubscription.objects.exists()


def test_a_public_https_push_service_is_accepted(client, patient, dns, settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    dns.set("push.example.test", [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert post_subscription(client, patient.user, "https://push.example.test/send/abc").status_code == 201


def test_loopback_is_allowed_only_behind_the_test_setting(client, patient, settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    assert post_subscription(client, patient.user, "http://127.0.0.1:9/push/a").status_code == 201
    assert post_subscription(client, patient.user, "https://[::1]:9/push/b").status_code == 201
    # Private ranges stay refused, and plain http only reaches loopback.
    assert post_subscription(client, patient.user, "https://10.0.0.5/push").status_code == 400
    assert post_subscription(client, patient.user, f"http://{PUBLIC}/push").status_code == 400


@pytest.fixture
def planned(patient, make_visit):
    make_visit(patient, date(2026, 3, 10), time(10, 0))
    replan_patient(patient, now=PLANNED_AT)
    return Reminder.objects.get(patient=patient, rule="visit_reminder")


def stored_subscription(user, endpoint: str) -> PushSubscription:
    browser = Browser()
    return PushSubscription.objects.create(
        user=user, endpoint=endpoint, p256dh=browser.p256dh, auth=b64u(browser.auth)
    )


def test_the_worker_checks_the_address_again_when_it_sends(
    patient, planned, dns, settings, push_service, vapid_key
):
    """Accepted while the name pointed to a public address; now it points to this machine. The
    worker does not connect, fails the delivery for good and removes the subscription."""
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = False
    port = push_service.server.server_address[1]
    subscription = stored_subscription(patient.user, f"http://push.example.test:{port}/push/x")
    dns.set("push.example.test", ["127.0.0.1"])
    send_due_reminders(now=DUE)
    assert push_service.received == []
    delivery = planned.deliveries.get(channel="push")
    assert (delivery.status, delivery.error) == ("failed", "push-blocked")
    assert not PushSubscription.objects.filter(pk=subscription.pk).exists()
    assert planned.deliveries.get(channel="inbox").status == "sent"


def test_the_worker_connects_to_the_address_it_checked(
    patient, planned, dns, settings, push_service, vapid_key
):
    """DNS rebinding: the first answer is allowed (loopback, with the test setting), later ones
    point into a private range. One lookup per connection, and the connection goes to the
    checked address; a lookup at connect time would have reached 10.0.0.9 (which the tests'
    network guard refuses)."""
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    port = push_service.server.server_address[1]
    stored_subscription(patient.user, f"http://push.example.test:{port}/push/x")
    dns.set("push.example.test", ["127.0.0.1"], ["10.0.0.9"])
    send_due_reminders(now=DUE)
    assert [path for path, _headers, _body in push_service.received] == ["/push/x"]
    assert dns.lookups["push.example.test"] == 1
    assert planned.deliveries.get(channel="push").status == "sent"


def test_an_address_that_turns_private_before_the_connection_is_refused(
    patient, planned, dns, settings, push_service, vapid_key
):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    port = push_service.server.server_address[1]
    stored_subscription(patient.user, f"http://push.example.test:{port}/push/x")
    dns.set("push.example.test", ["10.0.0.9"], ["127.0.0.1"])
    send_due_reminders(now=DUE)
    assert push_service.received == []
    assert planned.deliveries.get(channel="push").error == "push-blocked"


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        (PUBLIC, True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:" + PUBLIC, True),
        ("169.254.169.254", False),
        ("fe80::1%eth0", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("not an address", False),
    ],
)
def test_address_rules(address, allowed):
    assert push.address_allowed(address, allow_loopback=False) is allowed


def test_another_accounts_endpoint_is_not_moved_to_the_caller(client, patient, caregiver, settings):
    settings.PUSH_ALLOW_INSECURE_ENDPOINTS = True
    endpoint = "http://127.0.0.1:9/push/shared-device"
    browser = Browser()
    assert post_subscription(client, patient.user, endpoint, browser).status_code == 201
    response = post_subscription(client, caregiver, endpoint, browser)
    assert response.status_code == 409
    assert "another account" in response.json()["endpoint"][0]
    assert PushSubscription.objects.get(endpoint=endpoint).user == patient.user
    # The same account subscribing again updates its own row.
    again = Browser()
    assert post_subscription(client, patient.user, endpoint, again).status_code == 201
    assert PushSubscription.objects.get(endpoint=endpoint).p256dh == again.p256dh
