"""Every email's subject and text body are plain text; only the HTML part escapes."""

import re
from pathlib import Path

import pytest

from portal.emails import make_message

EMAILS = Path(__file__).parents[2] / "portal/templates/emails"
NAMES = sorted(path.name.removesuffix("-subject.txt") for path in EMAILS.glob("*-subject.txt"))
ENTITY = re.compile(r"&(amp|lt|gt|quot|#x?[0-9a-fA-F]+);")
LINK = "https://care.example.test/x/?lang=fr&next=1"


def test_the_emails_are_found():
    assert "invitation-staff" in NAMES and "reminder" in NAMES and len(NAMES) == 7


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_text_parts_carry_no_html_entities(name, language):
    """An "&" in a link, an apostrophe in French ("n'attendiez") or "Smith & Jones" came out
    as &amp; or &#x27; in the subject and the text body of six of the seven emails."""
    context = {"url": LINK, "clinic": "Smith & Jones", "title": "Smith & Jones", "days": 7, "hours": 24}
    message = make_message("someone@example.test", name, context, language)
    for text in (message.subject, message.body):
        assert not ENTITY.search(text), text
    html = message.alternatives[0][0]
    if name != "email-changed":  # the one email without a link
        assert LINK in message.body
        assert "?lang=fr&amp;next=1" in html


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("language", "direction"), [("en", "ltr"), ("fr", "ltr"), ("ar", "rtl")])
def test_the_html_part_names_its_language_and_direction(name, language, direction):
    """A walk found an Arabic invitation marked <html lang="en"> with no direction: mail apps
    then lay Arabic out left to right, with its punctuation at the wrong end of each line."""
    context = {"url": LINK, "clinic": "North Clinic", "title": "A reminder", "days": 7, "hours": 24}
    html = make_message("someone@example.test", name, context, language).alternatives[0][0]
    assert f'<html lang="{language}" dir="{direction}">' in html
