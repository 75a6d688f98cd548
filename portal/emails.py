"""Email rendering: emails/<name>-subject.txt, -body.txt and -body.html, in the
recipient's language. ``send_email`` writes the email to the outbox (portal/outbox.py) in
the caller's transaction; the sendreminders worker sends it."""

from email.headerregistry import Address
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

BRAND = "Home Care Companion"


def sender() -> str:
    """DEFAULT_FROM_EMAIL, with the brand in the active language as in the subject and the
    pages ("Home Care Companion" in Latin-script languages, a translated name in Arabic and
    Chinese). A sender name an operator chose is kept as it is."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if name != BRAND:
        return settings.DEFAULT_FROM_EMAIL
    return str(Address(display_name=_("Home Care Companion"), addr_spec=address))


def make_message(to: str, name: str, context: dict[str, Any], language: str) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"emails/{name}-subject.txt", context).strip()
        text = render_to_string(f"emails/{name}-body.txt", context)
        html = render_to_string(f"emails/{name}-body.html", context)
        from_email = sender()
    message = EmailMultiAlternatives(subject, text, from_email, [to])
    message.attach_alternative(html, "text/html")
    return message


def send_email(to: str, name: str, context: dict[str, Any], language: str) -> None:
    from portal import outbox

    outbox.enqueue(make_message(to, name, context, language), kind=name)
