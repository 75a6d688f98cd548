"""The public guide pages: every module in English, fallback, languages, and the
care team's phone numbers for the right reader."""

import html
import re
from collections.abc import Callable
from dataclasses import replace
from uuid import uuid4

import pytest
from django.conf import settings
from django.test import Client

from education import views
from education.catalog import Catalog, load_catalog
from portal.models import CaregiverLink, Clinic, Patient, User
from tests.education.sections import counted
from tests.helpers import log_in

# Pages read translation review state from the database.
pytestmark = pytest.mark.django_db

CATALOG = load_catalog()
MODULES = [pytest.param(m, id=m.slug) for m in CATALOG.modules]
GENERIC = "Call the phone number your care team gave you."


def get(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


@pytest.mark.parametrize("module", MODULES)
def test_each_module_renders_in_english(client: Client, module) -> None:
    page = get(client, f"/en/guide/{module.slug}/")
    document = module.documents["en"]
    assert '<html lang="en" dir="ltr">' in page
    assert f"<h1>{html.escape(document.title)}</h1>" in page
    for section in document.sections:
        assert f'<section id="{section.id}">' in page
    # The handout ends with every source the page cites (hidden on screen).
    printed = page[page.index('<section id="sources" class="sources print-only"') :]
    for ref_id in document.cited:
        reference = CATALOG.references[ref_id]
        assert f'<bdi class="src-id">{ref_id}</bdi> {html.escape(reference.title)}' in printed
        assert reference.url in printed
    assert not re.search(r"\[R[\w-]+", page), "a source marker was left as text"
    assert '<sup class="src">' not in page and 'href="#src-' not in page


@pytest.mark.parametrize("language", ["en", "ar"])
@pytest.mark.parametrize("module", MODULES)
def test_a_reader_sees_one_sources_link_per_section(client: Client, module, language: str) -> None:
    page = get(client, f"/{language}/guide/{module.slug}/")
    document = module.documents[language]
    counter = counted(page)
    raw_sections = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', document.body, re.S))
    for section in document.sections:
        seen = counter.sections[section.id]
        assert len(seen["summaries"]) == 1, section.id
        # Outside its one "Sources" list a section links only to phone numbers.
        assert all(link.startswith("tel:") for link in seen["links"]), (section.id, seen["links"])
        # The list is that section's own sources, each once, in order of first citation.
        cited = list(
            dict.fromkeys(
                re.findall(r"R[\w-]+", " ".join(re.findall(r"\[(R[^\]]*)\]", raw_sections[section.id])))
            )
        )
        assert seen["listed"] == cited, section.id
        assert seen["sources"] == [CATALOG.references[ref_id].url for ref_id in cited]
    # Titles and addresses of sources are English: an isolated left-to-right run in Arabic too.
    assert set(counter.details_lang) == {("en", "ltr")}
    assert len(counter.details_lang) == len(document.sections)


def test_a_section_lists_its_own_sources(client: Client) -> None:
    """Worked by hand from dressing-care/en.html, section "how-long"."""
    seen = counted(get(client, "/en/guide/dressing-care/")).sections["how-long"]
    assert seen["listed"] == ["R16", "R18", "R19", "R20", "R24", "R4", "R33", "R34"]
    page = get(client, "/ar/guide/dressing-care/")
    assert "<summary>المصادر" in page


@pytest.mark.parametrize("module", MODULES)
def test_long_modules_get_a_table_of_contents(client: Client, module) -> None:
    page = get(client, f"/en/guide/{module.slug}/")
    has_toc = 'class="toc"' in page
    assert has_toc == (len(module.documents["en"].sections) >= 4)
    if has_toc:
        for section in module.documents["en"].sections:
            assert f'<a href="#{section.id}">' in page


def test_index_lists_modules_in_order_with_their_audience(client: Client) -> None:
    page = get(client, "/en/guide/")
    positions = [page.index(f'href="/en/guide/{m.slug}/"') for m in CATALOG.modules]
    assert positions == sorted(positions)
    items = re.findall(r'<li class="module audience-(\w+)">(.*?)</li>', page, re.S)
    assert len(items) == len(CATALOG.modules)
    for audience, item in items:
        label = {
            "caregiver": "For caregivers",
            "patient": "For patients",
            "both": "For patients and caregivers",
        }
        assert f'<p class="audience">{label[audience]}' in item
    assert any(audience == "caregiver" for audience, _item in items)


def test_unknown_or_malformed_slugs_are_404(client: Client) -> None:
    get(client, "/en/guide/no-such-module/", 404)
    get(client, "/en/guide/Dressing_Care/", 404)


def test_every_language_has_its_guide_with_lang_and_dir(client: Client) -> None:
    for code, _name in settings.LANGUAGES:
        for url in (f"/{code}/guide/", f"/{code}/guide/dressing-care/"):
            page = get(client, url)
            direction = "rtl" if code in settings.LANGUAGES_BIDI else "ltr"
            assert f'<html lang="{code}" dir="{direction}">' in page


def test_pages_link_every_language_and_x_default(client: Client) -> None:
    page = get(client, "/fr/guide/side-effects/")
    for code, _name in settings.LANGUAGES:
        alternate = (
            f'<link rel="alternate" hreflang="{code}" href="http://testserver/{code}/guide/side-effects/">'
        )
        assert alternate in page
    assert (
        '<link rel="alternate" hreflang="x-default" href="http://testserver/en/guide/side-effects/">' in page
    )


def test_language_switcher_names_each_language_in_itself(client: Client) -> None:
    page = get(client, "/en/guide/")
    assert '<a href="/es/guide/" lang="es" hreflang="es" dir="ltr">Español</a>' in page
    assert re.search(r'<a href="/ar/guide/" lang="ar" hreflang="ar" dir="rtl">العرب[^<]*ة</a>', page)
    assert '<a href="/en/guide/" lang="en" hreflang="en" dir="ltr" aria-current="true">English</a>' in page


@pytest.fixture
def english_only(monkeypatch: pytest.MonkeyPatch) -> Catalog:
    """The catalog as if no module had a translation yet."""
    modules = tuple(replace(m, documents={"en": m.documents["en"]}) for m in CATALOG.modules)
    catalog = replace(CATALOG, modules=modules)
    monkeypatch.setattr(views, "load_catalog", lambda: catalog)
    return catalog


def test_a_missing_translation_shows_english_with_a_notice(client: Client, english_only: Catalog) -> None:
    page = get(client, "/fr/guide/dressing-care/")
    assert '<html lang="fr" dir="ltr">' in page
    assert '<p class="notice fallback" role="note">' in page
    assert '<div class="module-body" lang="en" dir="ltr">' in page
    assert "<h1>Caring for your dressing</h1>" in page
    index = get(client, "/ar/guide/")
    assert (
        '<h2 lang="en" dir="ltr"><a href="/ar/guide/dressing-care/">Caring for your dressing</a></h2>'
        in index
    )


def test_an_out_of_date_translation_says_so(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    module = CATALOG.get("side-effects")
    old = replace(module.documents["en"], language="de", source_version=0)
    modules = tuple(
        replace(m, documents={**m.documents, "de": old}) if m.slug == "side-effects" else m
        for m in CATALOG.modules
    )
    monkeypatch.setattr(views, "load_catalog", lambda: replace(CATALOG, modules=modules))
    page = get(client, "/de/guide/side-effects/")
    assert '<p class="notice out-of-date" role="note">' in page
    assert 'href="/en/guide/side-effects/" hreflang="en"' in page
    assert "notice fallback" not in page


# --- The care team's numbers ----------------------------------------------------------

TEL_DAY = '<a href="tel:+15550100" dir="ltr">+1 555 0100</a>'
TEL_NIGHT = '<a href="tel:+15550199" dir="ltr">+1 555 0199</a>'


def test_anonymous_reader_is_told_to_call_the_number_they_were_given(client: Client) -> None:
    page = get(client, "/en/guide/when-to-call/")
    assert GENERIC in page
    assert "tel:" not in page
    assert '<div class="clinic-phones"></div>' not in page


def test_signed_in_patient_sees_their_clinic_numbers(client: Client, patient: Patient) -> None:
    log_in(client, patient.user)
    response = client.get("/en/guide/when-to-call/")
    page = response.content.decode()
    assert TEL_DAY in page and TEL_NIGHT in page
    assert "North Clinic" in page and GENERIC not in page
    assert "private" in response["Cache-Control"]


def test_caregiver_sees_the_clinic_numbers_in_their_language(client: Client, caregiver: User) -> None:
    log_in(client, caregiver)
    page = get(client, "/ar/guide/when-to-call/")
    assert TEL_DAY in page and TEL_NIGHT in page
    assert '<div class="clinic-phones call-box" lang="ar" dir="rtl">' in page


def test_caregiver_of_patients_at_two_clinics_gets_the_generic_sentence(
    client: Client,
    caregiver: User,
    other_clinic: Clinic,
    make_patient: Callable[..., Patient],
    link_caregiver: Callable[..., CaregiverLink],
) -> None:
    link_caregiver(make_patient(other_clinic, "south.patient@example.test"), caregiver.email)
    log_in(client, caregiver)
    page = get(client, "/en/guide/when-to-call/")
    assert GENERIC in page and "tel:" not in page


def test_revoked_caregiver_gets_the_generic_sentence(client: Client, revoked_caregiver: User) -> None:
    log_in(client, revoked_caregiver)
    assert GENERIC in get(client, "/en/guide/when-to-call/")


def test_clinician_prints_a_handout_for_their_patient(
    client: Client, clinician: User, patient: Patient
) -> None:
    log_in(client, clinician)
    page = get(client, f"/en/guide/dressing-care/?for={patient.code}")
    assert TEL_DAY in page and TEL_NIGHT in page
    page = get(client, f"/es/guide/when-to-call/?for={patient.code}")
    assert page.count("tel:+15550100") == 1
    assert f'href="/fr/guide/when-to-call/?for={patient.code}"' in page


@pytest.mark.parametrize("reader", ["other_clinician", "patient_user", "anonymous"])
def test_printing_for_a_patient_outside_scope_is_404(
    client: Client, reader: str, other_patient: Patient, patient: Patient, request: pytest.FixtureRequest
) -> None:
    if reader == "other_clinician":
        log_in(client, request.getfixturevalue("other_clinician"))
    elif reader == "patient_user":
        log_in(client, patient.user)
    get(client, f"/en/guide/when-to-call/?for={other_patient.code}", 404)


@pytest.mark.parametrize("value", ["not-a-uuid", str(uuid4())])
def test_printing_for_an_unknown_patient_is_404(client: Client, clinician: User, value: str) -> None:
    log_in(client, clinician)
    get(client, f"/en/guide/when-to-call/?for={value}", 404)


def test_guide_pages_need_no_javascript_and_no_inline_script(client: Client) -> None:
    for url in ("/en/guide/", "/en/guide/when-to-call/", "/en/offline/"):
        scripts = re.findall(r"<script\b[^>]*>", get(client, url))
        assert [re.search(r'src="([^"]+)"', script).group(1) for script in scripts] == [
            "/static/js/sw-register.js",
            "/static/js/language-menu.js",
            *(["/static/js/offline.js"] if "offline" in url else []),
        ]
        assert all(" defer" in script for script in scripts)


# --- The emergency number ---------------------------------------------------------------

LOCAL_EMERGENCY = '<p class="emergency-number">For emergency care, call your local emergency number.</p>'


def test_public_pages_say_your_local_emergency_number(client: Client) -> None:
    page = get(client, "/en/guide/when-to-call/")
    # Once at the top of the page, once in the "Get emergency care" section.
    assert page.count(LOCAL_EMERGENCY) == 2
    assert '<p class="emergency-number"></p>' not in page


def test_a_patient_sees_their_clinics_emergency_number(client: Client, patient: Patient) -> None:
    Clinic.objects.filter(pk=patient.clinic_id).update(emergency_number="112")
    log_in(client, patient.user)
    page = get(client, "/en/guide/when-to-call/")
    assert page.count('For emergency care, call <a href="tel:112" dir="ltr">112</a>.') == 2
    assert "your local emergency number" not in page


def test_a_clinic_without_an_emergency_number_says_the_local_one(client: Client, patient: Patient) -> None:
    log_in(client, patient.user)
    assert get(client, "/en/guide/when-to-call/").count(LOCAL_EMERGENCY) == 2


def test_the_printed_handout_carries_the_emergency_number(
    client: Client, clinician: User, patient: Patient
) -> None:
    Clinic.objects.filter(pk=patient.clinic_id).update(emergency_number="999")
    log_in(client, clinician)
    page = get(client, f"/en/guide/when-to-call/?for={patient.code}")
    assert '<a href="tel:999" dir="ltr">999</a>' in page


def test_the_review_view_keeps_the_source_marks(client: Client, clinician: User) -> None:
    log_in(client, clinician)
    page = get(client, "/translations/when-to-call/ar/")
    assert '<bdi class="src" dir="ltr">[R16]</bdi>' in page
    assert '<bdi class="src" dir="ltr">[R32, R21, R42]</bdi>' in page  # from the English side
    assert '<details class="section-sources' not in page
