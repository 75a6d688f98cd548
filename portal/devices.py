"""The person's devices that get notifications: a name they recognise ("Chrome on Android"),
and whether notifications to each still arrive.

The name comes from the browser's User-Agent, read by a few rules: enough to tell one's
phone from one's laptop, not a full parser (a wrong guess only names a device oddly)."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from portal.models import Delivery, PushSubscription

# Most specific first: Edge, Opera and Samsung Internet also say "Chrome", and every iPhone
# browser also says "Safari".
BROWSERS = [
    ("SamsungBrowser/", "Samsung Internet"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("OPiOS/", "Opera"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),
]
# iPads since iPadOS 13 say "Macintosh" like a Mac; they are named as a Mac then.
SYSTEMS = [
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("Linux", "Linux"),
]


def device_name(user_agent: str) -> str:
    """ "Chrome on Android", "Safari on iPhone"; what is known when only part is."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    if browser == "Safari" and "Safari/" not in user_agent:
        browser = None  # "Version/" alone is not Safari (an app's own web view)
    system = next((name for mark, name in SYSTEMS if re.search(rf"\b{mark}\b", user_agent)), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s") % {"system": system}
    return _("Unknown device")


# A device whose last notification failed after every retry is flagged; older outcomes no
# longer say much about it.
FAILING_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Device:
    subscription: PushSubscription
    name: str
    failing: bool


def list_devices(subscriptions: list[PushSubscription], *, now: datetime) -> list[Device]:
    """Each device with its name and whether its latest notification (of the last 30 days)
    failed. One query for all of them."""
    codes = [str(subscription.code) for subscription in subscriptions]
    latest: dict[str, str] = {}
    outcomes = (
        Delivery.objects.filter(
            channel=Delivery.Channel.PUSH,
            device__in=codes,
            status__in=[Delivery.Status.SENT, Delivery.Status.FAILED],
            created_at__gte=now - FAILING_WINDOW,
        )
        .order_by("-created_at", "-pk")
        .values_list("device", "status")
    )
    for device, status in outcomes:
        latest.setdefault(device, status)
    return [
        Device(
            subscription=subscription,
            name=device_name(subscription.user_agent),
            failing=latest.get(str(subscription.code)) == Delivery.Status.FAILED,
        )
        for subscription in subscriptions
    ]
