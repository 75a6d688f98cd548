"""One brand, said the same way everywhere a reader meets it: "Home Care Companion" in the
Latin-script languages, a translated name in Arabic and Chinese (issue 12, point 5)."""

import json
import re

import pytest
from django.test import Client

from portal.emails import make_message

BRAND = {
    "en": "Home Care Companion",
    "es": "Home Care Companion",
    "fr": "Home Care Companion",
    "de": "Home Care Companion",
    "it": "Home Care Companion",
    "pt-br": "Home Care Companion",
    "zh-hans": "居家护理助手",
    "ar": "رفيق الرعاية المنزلية",
}


@pytest.mark.parametrize("language", list(BRAND))
def test_manifest_page_titles_and_emails_use_the_same_name(client: Client, db, language: str) -> None:
    brand = BRAND[language]
    manifest = json.loads(client.get("/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE=language).content)
    assert (manifest["lang"], manifest["name"]) == (language, brand)

    page = client.get(f"/{language}/guide/").content.decode()
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title.endswith(f" · {brand}")
    assert f'<a class="brand" href="/?lang={language}">{brand}</a>' in page

    message = make_message(
        "pat@example.test", "invitation-patient", {"url": "https://x", "days": 7}, language
    )
    assert brand in message.subject
    assert message.from_email == f"{brand} <care@localhost>"
    assert brand in message.body


def test_an_operators_own_sender_name_is_kept(settings) -> None:
    settings.DEFAULT_FROM_EMAIL = "North Clinic <care@north.example>"
    message = make_message("pat@example.test", "invitation-patient", {"url": "https://x", "days": 7}, "ar")
    assert message.from_email == "North Clinic <care@north.example>"
