"""The public guide: one page per module in every language, no sign-in needed."""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from education import review, teachback
from education.catalog import (
    EMERGENCY_PLACEHOLDER,
    PHONES_PLACEHOLDER,
    SECTION,
    SOURCE_LANGUAGE,
    Document,
    Module,
    Reference,
    cited_in,
    isolate_markers,
    load_catalog,
    strip_markers,
)
from education.pagecache import public_page
from portal import caregivers, services
from portal.models import Clinic, Patient
from portal.queries import access_clinic, access_clinic_patient, list_clinics_for, list_patients_for

# Sent with a guide page rendered without the dressing-change steps (portal/templates/sw.js).
SAFE_VIEW_HEADER = "HCC-Safe-View"
# A table of contents helps once a page is longer than a phone screen or two.
TOC_MIN_SECTIONS = 4

AUDIENCE_LABELS = {
    "patient": gettext_lazy("For patients"),
    "caregiver": gettext_lazy("For caregivers"),
    "both": gettext_lazy("For patients and caregivers"),
}


def who_may_keep(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The public guide may be kept by anyone (the service worker keeps only such pages);
    a page rendered for a signed-in person (their menu, their clinic's numbers) by no one."""
    if request.user.is_authenticated:
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, public=True, no_cache=True)
    return response


def said_safe_view(request: HttpRequest, response: HttpResponse, safe: bool) -> HttpResponse:
    """Tell the service worker whether a signed-in reader gets the safe view ("1": keep this
    copy for them and never serve them the public one offline; "0": they may have the public
    one). Nothing for a visitor: public pages stay the same for everyone."""
    if request.user.is_authenticated:
        response[SAFE_VIEW_HEADER] = "1" if safe else "0"
    return response


@public_page
def module_list(request: HttpRequest) -> HttpResponse:
    language = translation.get_language()
    entries = []
    for module in load_catalog().modules:
        document, fell_back = module.document(language)
        entries.append(
            {
                "module": module,
                "document": document,
                "fell_back": fell_back,
                "audience": AUDIENCE_LABELS[module.audience],
            }
        )
    context = {
        "entries": entries,
        "languages": _languages(request, "education:module-list"),
        "caregiver_safety": caregivers.safety_banner(request.user),
    }
    response = render(request, "education/module_list.html", context)
    return who_may_keep(request, said_safe_view(request, response, context["caregiver_safety"] is not None))


@public_page
def module_detail(request: HttpRequest, slug: str) -> HttpResponse:
    catalog = load_catalog()
    module = catalog.get(slug)
    if module is None:
        raise Http404
    clinic, printed_for = _clinic_for(request)
    language = translation.get_language()
    shown = document_shown(module, language, clinic)
    # A caregiver who must not handle dressings reads the page without the dressing-change
    # steps, under a safety banner. Only ever signed in, so never kept by a cache or the
    # service worker's public copies (who_may_keep: private, no-store).
    document = caregivers.document_for(module, shown.document, user=request.user, patient=None)
    caregiver_safety = caregivers.safety_banner(request.user)
    body = body_html(request, document, catalog.references, clinic)
    keep = {"for": request.GET["for"]} if printed_for else None
    if printed_for:
        # A handout printed for one patient is a read of that patient's record.
        services.record_audit(
            actor=request.user, action="patient.handout_printed", patient=printed_for, request=request
        )
    context = {
        "module": module,
        "document": document,
        **shown.notices(),
        "caregiver_safety": caregiver_safety,
        "source_url": _url_in(SOURCE_LANGUAGE, "education:module-detail", slug),
        "audience": AUDIENCE_LABELS[module.audience],
        "body": mark_safe(body),  # noqa: S308 - reviewed repository content, not user input
        "toc": document.sections if len(document.sections) >= TOC_MIN_SECTIONS else (),
        "sources": [catalog.references[ref_id] for ref_id in document.cited],
        "languages": _languages(request, "education:module-detail", slug, keep=keep),
        **_phones_context(clinic),
    }
    response = render(request, "education/module_detail.html", context)
    return who_may_keep(request, said_safe_view(request, response, caregiver_safety is not None))


@public_page
def offline(request: HttpRequest) -> HttpResponse:
    """The installed app's start page with no network, and what the service worker shows for
    a page it has not kept. The same for everyone (it holds nothing private): its script
    shows which guide pages this device kept, and the reader's own list (portal/templates/sw.js)."""
    language = translation.get_language()
    modules = []
    for module in load_catalog().modules:
        document, fell_back = module.document(language)
        modules.append({"slug": module.slug, "title": document.title, "fell_back": fell_back})
    return who_may_keep(request, render(request, "education/offline.html", {"modules": modules}))


@dataclass(frozen=True)
class Shown:
    """Which document of a module a reader gets, and why (the notices above it)."""

    document: Document
    fell_back: bool
    held_back: bool
    reviewed: bool
    out_of_date: bool

    def notices(self) -> dict[str, bool]:
        """Context for education/_notices.html."""
        return {
            "fell_back": self.fell_back,
            "held_back": self.held_back,
            "not_reviewed": not self.fell_back and not self.reviewed,
            "out_of_date": self.out_of_date,
        }


def document_shown(module: Module, language: str, clinic: Clinic | None) -> Shown:
    """The module in ``language``, or in English when there is no translation yet or the
    reader's clinic shows only translations a clinician has checked. The guide page and the
    care reader both read modules through this."""
    document, fell_back = module.document(language)
    reviewed = review.is_reviewed(module, document, clinic)
    held_back = not reviewed and review.reviewed_only(clinic)
    if held_back:
        document, fell_back = module.documents[SOURCE_LANGUAGE], True
    return Shown(document, fell_back, held_back, reviewed, module.is_out_of_date(document))


def body_html(
    request: HttpRequest, document: Document, references: dict[str, Reference], clinic: Clinic | None
) -> str:
    """The module's body with its sources, and the clinic's phone numbers where it asks."""
    body = _reader_body(document, references, clinic)
    if document.has_phones:
        phones = render_to_string("education/_clinic_phones.html", _phones_context(clinic), request)
        body = body.replace(PHONES_PLACEHOLDER, phones)
    return body


def _reader_body(document: Document, references: dict[str, Reference], clinic: Clinic | None) -> str:
    """The document as a reader sees it: each section ends in one "Sources" list that opens
    on demand, instead of a source mark after every sentence (the marks stay in the files
    and in the clinician's review). Written in the document's language, so an English
    fallback page reads as English throughout."""
    sections = iter(document.sections)

    def with_sources(match: re.Match[str]) -> str:
        attributes, inner = match.groups()
        context = {"section": next(sections), "sources": [references[i] for i in cited_in(inner)]}
        listing = render_to_string("education/_section_sources.html", context)
        return f"<section{attributes}>{strip_markers(inner)}{listing}</section>"

    with translation.override(document.language):
        body = SECTION.sub(with_sources, document.body)
        if document.emergency_numbers:
            emergency = render_to_string("education/_emergency_number.html", _emergency_context(clinic))
            body = body.replace(EMERGENCY_PLACEHOLDER, emergency)
    return body


def _emergency_context(clinic: Clinic | None) -> dict[str, SafeString | None]:
    """The clinic's emergency number as a phone link; None says "your local emergency number"."""
    number = clinic.emergency_number if clinic else ""
    if not number:
        return {"number": None}
    return {"number": format_html('<a href="{}" dir="ltr">{}</a>', _tel_href(number), number)}


def _tel_href(number: str) -> str:
    """Every tel: link's address: ASCII digits and "+" only (\\d would keep "١٢٣")."""
    return "tel:" + re.sub(r"[^0-9+]", "", number)


def _clinic_for(request: HttpRequest) -> tuple[Clinic | None, Patient | None]:
    """The clinic whose numbers the page shows, and the patient a clinician prints for.

    ``?for=<patient code>`` is the clinician's choice and must be in their scope (404
    otherwise). A signed-in patient or caregiver gets their clinic when all of their
    patients share one; everyone else gets the generic sentence."""
    if "for" in request.GET:
        try:
            code = UUID(request.GET["for"])
        except ValueError:
            raise Http404 from None
        patient = access_clinic_patient(request.user, code)
        return patient.clinic, patient
    clinics = list(Clinic.objects.filter(pk__in=list_patients_for(request.user).values("clinic"))[:2])
    return (clinics[0] if len(clinics) == 1 else None), None


def _phones_context(clinic: Clinic | None) -> dict[str, Any]:
    if clinic is None:
        return {"clinic": None, "phones": []}
    phones = [
        (_("Daytime"), clinic.phone_daytime),
        (_("After hours"), clinic.phone_after_hours),
    ]
    return {
        "clinic": clinic,
        "phones": [{"label": label, "number": number, "href": _tel_href(number)} for label, number in phones],
    }


def _url_in(language: str, name: str, *args: Any) -> str:
    with translation.override(language):
        return reverse(name, args=args)


def _languages(
    request: HttpRequest, name: str, *args: Any, keep: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The same page in every language: for the switcher and the hreflang alternates."""
    current = translation.get_language()
    query = "?" + urlencode(keep) if keep else ""
    languages = []
    for code, _name in settings.LANGUAGES:
        path = _url_in(code, name, *args)
        local = translation.get_language_info(code)["name_local"]
        languages.append(
            {
                "code": code,
                "name": local[:1].upper() + local[1:],
                "href": path + query,
                "absolute": request.build_absolute_uri(path),
                "bidi": code in settings.LANGUAGES_BIDI,
                "current": code == current,
            }
        )
    return languages


# --- Clinical review of translations (care team only) ------------------------


@login_required
def translation_list(request: HttpRequest) -> HttpResponse:
    if not review.may_review(request.user):
        raise Http404
    admin_clinics = list_clinics_for(request.user, admin=True)
    if request.method == "POST":
        try:
            code = UUID(request.POST.get("clinic", ""))
        except ValueError:
            raise Http404 from None
        clinic = access_clinic(request.user, code, admin=True)
        review.set_reviewed_translations_only(clinic=clinic, value=request.POST.get("reviewed_only") == "on")
        messages.success(request, _("Saved."))
        return redirect("translation-list")
    language = translation.get_language()
    rows = []
    for state in review.list_translation_states(clinics=review.reviewing_clinics(request.user)):
        # Each guide by its title in the reader's language (English where it has none).
        shown, _fell_back = state.module.document(language)
        rows.append(
            {
                "state": state,
                "title": shown.title,
                "title_language": shown.language,
                "title_bidi": shown.language in settings.LANGUAGES_BIDI,
            }
        )
    context = {
        "rows": rows,
        "clinic_settings": [
            {"clinic": clinic, "reviewed_only": review.reviewed_only(clinic)} for clinic in admin_clinics
        ],
    }
    return render(request, "education/translation_list.html", context)


@login_required
def translation_review(request: HttpRequest, slug: str, language: str) -> HttpResponse:
    if not review.may_review(request.user) or language not in review.translation_languages():
        raise Http404
    module = load_catalog().get(slug)
    if module is None or language not in module.documents:
        raise Http404
    clinics = review.reviewing_clinics(request.user)
    if request.method == "POST":
        clinic = next((c for c in clinics if str(c.code) == request.POST.get("clinic")), None)
        if clinic is None and clinics:
            # Reviewers at one clinic post it with the form; others choose it.
            clinic = clinics[0] if len(clinics) == 1 else None
        if request.POST.get("confirm") != "on":
            messages.error(request, _("Tick the box to confirm you compared the two versions."))
        elif clinic is None and clinics:
            messages.error(request, _("Choose the clinic this review is for."))
        else:
            try:
                review.review_translation(module=module, language=language, by=request.user, clinic=clinic)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("Marked as clinically reviewed."))
                return redirect("translation-list")
    document = module.documents[language]
    english = module.documents[SOURCE_LANGUAGE]
    context = {
        "module": module,
        "document": document,
        "english": english,
        # The reviewed translation's own title, kept apart from the heading's sentence around it.
        "heading_title": format_html('<bdi lang="{}">{}</bdi>', language, document.title),
        "document_body": mark_safe(isolate_markers(document.body)),  # noqa: S308 - repository content
        "english_body": mark_safe(isolate_markers(english.body)),  # noqa: S308 - repository content
        "language_info": translation.get_language_info(language),
        "bidi": language in settings.LANGUAGES_BIDI,
        "state": review.translation_state(module, language, clinics),
        "clinics": clinics,
        # The review holds for the questions too (review.review_digest).
        "questions": teachback.questions(slug, language) if teachback.text_digest(slug, language) else [],
        "english_questions": teachback.questions(slug, SOURCE_LANGUAGE),
    }
    return render(request, "education/translation_review.html", context)
