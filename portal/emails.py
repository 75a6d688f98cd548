"""Email rendering: emails/<name>-subject.txt, -body.txt and -body.html, in the
recipient's language."""

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def make_message(to: str, name: str, context: dict[str, Any], language: str) -> EmailMultiAlternatives:
    context = {"site_url": settings.SITE_URL, **context}
    with translation.override(language):
        subject = render_to_string(f"emails/{name}-subject.txt", context).strip()
        text = render_to_string(f"emails/{name}-body.txt", context)
        html = render_to_string(f"emails/{name}-body.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    return message


def send_email(to: str, name: str, context: dict[str, Any], language: str) -> None:
    make_message(to, name, context, language).send()
