"""Translations are marked not clinically reviewed until a clinician checks them."""

import io
from dataclasses import replace

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from education import review, views
from education.catalog import load_catalog
from education.models import TranslationReview
from tests.helpers import log_in

CATALOG = load_catalog()
NOT_REVIEWED = '<p class="notice not-reviewed" role="note">'


def use_catalog(monkeypatch, catalog):
    monkeypatch.setattr(views, "load_catalog", lambda: catalog)
    monkeypatch.setattr(review, "load_catalog", lambda: catalog)
    return catalog


def made_from_current_english(catalog):
    """Every translation as if made from the current English page."""
    modules = tuple(
        replace(
            m,
            documents={
                language: document if language == "en" else replace(document, source_version=m.version)
                for language, document in m.documents.items()
            },
        )
        for m in catalog.modules
    )
    return replace(catalog, modules=modules)


CURRENT = made_from_current_english(CATALOG)


@pytest.fixture(autouse=True)
def translations_current(monkeypatch):
    """The review workflow is tested on translations that are up to date, whichever modules
    are waiting for their translators in the repository right now."""
    return use_catalog(monkeypatch, CURRENT)


def stale_catalog(monkeypatch, slug="side-effects", language="de"):
    """The English page moved on by one version; its translations were made from the one before."""
    modules = tuple(replace(m, version=m.version + 1) if m.slug == slug else m for m in CURRENT.modules)
    return use_catalog(monkeypatch, replace(CURRENT, modules=modules))


def review_url(slug="dressing-care", language="es"):
    return reverse("translation-review", args=[slug, language])


def test_each_review_page_has_its_own_title(client: Client, clinician) -> None:
    """WCAG 2.4.2: eighteen review pages all titled "Review a translation" could not be told
    apart in a list of tabs or in a screen reader's window list."""
    log_in(client, clinician)
    page = client.get(review_url("dressing-care", "es")).text
    assert "<title>Review: Cómo cuidar su apósito (español) · Home Care Companion</title>" in page


def test_patients_see_an_unreviewed_translation_marked(client: Client, db) -> None:
    page = client.get("/es/guide/dressing-care/").content.decode()
    assert NOT_REVIEWED in page
    assert NOT_REVIEWED not in client.get("/en/guide/dressing-care/").content.decode()


def test_a_clinician_reviews_a_translation(client: Client, clinician) -> None:
    log_in(client, clinician)
    assert client.get(review_url()).status_code == 200
    # Without the confirmation nothing is recorded.
    client.post(review_url(), {})
    assert not TranslationReview.objects.exists()
    response = client.post(review_url(), {"confirm": "on"})
    assert response.status_code == 302
    record = TranslationReview.objects.get()
    module = CATALOG.get("dressing-care")
    assert (record.module_slug, record.language, record.english_version) == (
        "dressing-care",
        "es",
        module.version,
    )
    assert record.reviewed_by == clinician
    # It holds for the page and its teach-back questions together.
    assert (
        record.digest == review.review_digest(module, module.documents["es"]) != module.documents["es"].digest
    )
    assert record.clinic == clinician.memberships.get().clinic


def test_a_review_counts_for_the_reviewing_clinics_patients_only(
    client: Client, clinician, patient, make_clinic, make_patient
) -> None:
    elsewhere = make_patient(make_clinic("South Clinic"), "south.patient@example.test")
    log_in(client, clinician)
    client.post(review_url(), {"confirm": "on"})
    # The clinic's own patient reads it as reviewed …
    log_in(client, patient.user)
    assert NOT_REVIEWED not in client.get("/es/guide/dressing-care/").text
    assert NOT_REVIEWED in client.get("/fr/guide/dressing-care/").text
    # … another clinic's patient and the public still read the notice, and the other
    # clinic's list does not show this clinician as its reviewer.
    log_in(client, elsewhere.user)
    assert NOT_REVIEWED in client.get("/es/guide/dressing-care/").text
    client.logout()
    assert NOT_REVIEWED in client.get("/es/guide/dressing-care/").text


def test_another_clinics_list_does_not_show_the_review(client: Client, clinician, other_clinician) -> None:
    log_in(client, clinician)
    client.post(review_url(), {"confirm": "on"})
    log_in(client, other_clinician)
    page = client.get(reverse("translation-list")).text
    assert clinician.email not in page


def test_a_site_reviewers_review_counts_for_everyone(client: Client, make_user) -> None:
    from django.contrib.auth.models import Permission

    reviewer = make_user("reviewer@example.test", password="correct horse battery", is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="add_translationreview"))
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(reviewer, generate_totp_secret())
    log_in(client, reviewer)
    assert client.post(review_url(), {"confirm": "on"}).status_code == 302
    assert TranslationReview.objects.get().clinic is None
    client.logout()
    assert NOT_REVIEWED not in client.get("/es/guide/dressing-care/").text


def test_the_list_names_each_guide_by_its_title_in_the_readers_language(client: Client, clinician) -> None:
    """It showed the slug ("dressing-care"). Titles from education/content/dressing-care/."""
    log_in(client, clinician)
    page = client.get(reverse("translation-list")).text
    assert '<td lang="en" dir="ltr">Caring for your dressing</td>' in page
    assert "<td>dressing-care</td>" not in page
    clinician.language = "es"
    clinician.save(update_fields=["language"])
    assert (
        '<td lang="es" dir="ltr">Cómo cuidar su apósito</td>' in client.get(reverse("translation-list")).text
    )


def test_the_lists_language_cells_run_in_their_own_direction(client: Client, clinician, monkeypatch) -> None:
    """The cells said lang="ar" but not dir: on an English page an Arabic name ran left to
    right, and on an Arabic page a guide's English title (it has no Arabic one) right to left."""
    dressing = CURRENT.get("dressing-care")
    without_arabic = replace(dressing, documents={k: v for k, v in dressing.documents.items() if k != "ar"})
    use_catalog(
        monkeypatch,
        replace(
            CURRENT,
            modules=tuple(without_arabic if m.slug == "dressing-care" else m for m in CURRENT.modules),
        ),
    )
    log_in(client, clinician)
    page = client.get(reverse("translation-list")).text
    assert '<td lang="ar" dir="rtl">العربيّة</td>' in page
    assert '<td lang="de" dir="ltr">Deutsch</td>' in page
    clinician.language = "ar"
    clinician.save(update_fields=["language"])
    page = client.get(reverse("translation-list")).text
    assert '<td lang="ar" dir="rtl">الآثار الجانبية</td>' in page
    assert '<td lang="en" dir="ltr">Caring for your dressing</td>' in page
    assert '<td lang="de" dir="ltr">Deutsch</td>' in page


@pytest.mark.parametrize(
    ("language", "title"), [("es", "Cómo cuidar su apósito"), ("ar", "العناية بالضمادة")]
)
def test_the_review_page_is_headed_by_the_reviewed_translations_title(
    client: Client, clinician, language, title
) -> None:
    """The heading named the English page ("Caring for your dressing") whatever was reviewed;
    the translation's own title is kept apart from the sentence around it (<bdi>), so an
    Arabic one does not swap places with the language's name."""
    log_in(client, clinician)
    page = client.get(review_url(language=language)).text
    heading = page.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert heading.startswith(f'Review: <bdi lang="{language}">{title}</bdi> (')


def test_a_bad_clinic_value_is_a_404_not_an_error(client: Client, clinic_admin) -> None:
    log_in(client, clinic_admin)
    for value in ("not-a-uuid", "", "00000000-0000-0000-0000-000000000000"):
        assert client.post(reverse("translation-list"), {"clinic": value}).status_code == 404


def test_a_changed_translation_needs_a_new_review(client: Client, clinician, monkeypatch) -> None:
    log_in(client, clinician)
    client.post(review_url(), {"confirm": "on"})
    module = CATALOG.get("dressing-care")
    edited = replace(
        module.documents["es"], body=module.documents["es"].body.replace("apósito", "vendaje", 1)
    )
    modules = tuple(
        replace(m, documents={**m.documents, "es": edited}) if m.slug == "dressing-care" else m
        for m in CATALOG.modules
    )
    monkeypatch.setattr(views, "load_catalog", lambda: replace(CATALOG, modules=modules))
    assert NOT_REVIEWED in client.get("/es/guide/dressing-care/").content.decode()


@pytest.mark.parametrize("persona", ["patient", "caregiver", "other_patient"])
def test_patients_and_caregivers_cannot_review(request, client: Client, persona) -> None:
    person = request.getfixturevalue(persona)
    user = person if hasattr(person, "email") and not hasattr(person, "clinic") else person.user
    log_in(client, user)
    assert client.get(reverse("translation-list")).status_code == 404
    assert client.post(review_url(), {"confirm": "on"}).status_code == 404
    assert not TranslationReview.objects.exists()


def test_an_out_of_date_translation_shows_as_such_and_cannot_be_reviewed(
    client: Client, clinician, monkeypatch
):
    stale_catalog(monkeypatch)
    log_in(client, clinician)
    listing = client.get(reverse("translation-list")).content.decode()
    version = CURRENT.get("side-effects").version
    assert f"Made from English version {version}; English is now version {version + 1}." in listing
    client.post(review_url("side-effects", "de"), {"confirm": "on"})
    assert not TranslationReview.objects.exists()


def test_report_lists_out_of_date_translations(db, monkeypatch) -> None:
    stale_catalog(monkeypatch)
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("translation_report", fail_on_stale=True, stdout=out)
    lines = out.getvalue().splitlines()
    stale = [line for line in lines if "out_of_date" in line]
    assert len(stale) == 7  # the seven translations of side-effects
    assert all(line.startswith("side-effects") for line in stale)
    version = CURRENT.get("side-effects").version
    assert f"made from English v{version}, English is v{version + 1}" in stale[0]


def test_report_passes_when_nothing_is_stale(db) -> None:
    out = io.StringIO()
    call_command("translation_report", fail_on_stale=True, stdout=out)
    assert "0 out of date" in out.getvalue()


def test_clinic_may_show_only_reviewed_translations(client: Client, clinic, clinic_admin, patient) -> None:
    patient.user.language = "es"
    patient.user.save(update_fields=["language"])
    log_in(client, clinic_admin)
    client.post(reverse("translation-list"), {"clinic": str(clinic.code), "reviewed_only": "on"})
    log_in(client, patient.user)
    page = client.get("/es/guide/dressing-care/").content.decode()
    assert "<h1>Caring for your dressing</h1>" in page  # English, with a notice
    assert 'class="notice fallback"' in page
    # Once reviewed, the Spanish page is shown.
    log_in(client, clinic_admin)
    client.post(review_url(), {"confirm": "on"})
    log_in(client, patient.user)
    page = client.get("/es/guide/dressing-care/").content.decode()
    assert "<h1>Caring for your dressing</h1>" not in page
    assert NOT_REVIEWED not in page


def test_only_clinic_admins_change_the_setting(client: Client, clinic, clinician) -> None:
    log_in(client, clinician)
    response = client.post(reverse("translation-list"), {"clinic": str(clinic.code), "reviewed_only": "on"})
    assert response.status_code == 404
    assert not review.reviewed_only(clinic)
