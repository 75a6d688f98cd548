"""The clinician's review of a translation with its teach-back questions, in a real Chromium
at 360 px: axe-core finds no WCAG 2.2 AA violation and nothing scrolls sideways, in a
right-to-left translation too."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from education.teachback import questions
from tests.browser import axe_violations, describe, horizontal_overflow, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    # The live server's request threads leave SQLite connections for the garbage collector.
    pytest.mark.filterwarnings("ignore:unclosed database:ResourceWarning"),
]


@pytest.mark.parametrize("language", ["ar", "es"])
def test_the_review_page_shows_the_questions_accessibly_on_a_phone(
    live_server: LiveServer, phone_page: Page, clinician, language: str
) -> None:
    sign_in(phone_page, live_server.url, clinician)
    response = phone_page.goto(
        live_server.url + reverse("translation-review", args=["for-caregivers", language])
    )
    assert response is not None and response.status == 200
    translated = phone_page.locator(f'#teachback-heading + .compare > section[lang="{language}"] h3')
    assert translated.all_inner_texts() == [q.text for q in questions("for-caregivers", language)]
    violations = axe_violations(phone_page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(phone_page) <= 0
