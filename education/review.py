"""Translation status and clinical review: reads and writes in one small module.

A review belongs to the clinic of the clinician who made it and counts for that clinic's
patients only; a site reviewer's review (an operator given the permission, no clinic)
counts for every reader, the public pages too. Everyone else reads the translation marked
not clinically reviewed. A review holds for the exact text a reader meets: the page and its
teach-back questions (review_digest)."""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from education import teachback
from education.catalog import SOURCE_LANGUAGE, Catalog, Document, Module, load_catalog
from education.models import ClinicContentSettings, TranslationReview
from portal.models import Clinic, User
from portal.queries import is_clinic_staff, list_clinics_for


class Status(StrEnum):
    REVIEWED = "reviewed"
    NOT_REVIEWED = "not_reviewed"
    OUT_OF_DATE = "out_of_date"
    MISSING = "missing"


STATUS_LABELS = {
    Status.REVIEWED: gettext_lazy("Reviewed"),
    Status.NOT_REVIEWED: gettext_lazy("Not clinically reviewed"),
    Status.OUT_OF_DATE: gettext_lazy("Out of date"),
    Status.MISSING: gettext_lazy("Missing"),
}


@dataclass(frozen=True)
class TranslationState:
    module: Module
    language: str
    document: Document | None
    status: Status
    review: TranslationReview | None

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self.status])


def translation_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def review_digest(module: Module, document: Document) -> str:
    """What a review holds for: the page as a reader sees it and, when the translation has
    them, its teach-back questions (education.teachback)."""
    questions = teachback.text_digest(module.slug, document.language)
    if questions is None:
        return document.digest
    return hashlib.sha256(f"{document.digest}\0{questions}".encode()).hexdigest()


def counting_for(clinics: Iterable[Clinic]) -> QuerySet[TranslationReview]:
    """Reviews that count for readers of these clinics: theirs, and the site reviewers'."""
    return TranslationReview.objects.filter(Q(clinic__isnull=True) | Q(clinic__in=list(clinics)))


def current_review(
    module: Module, document: Document, clinics: Iterable[Clinic] = ()
) -> TranslationReview | None:
    return (
        counting_for(clinics)
        .filter(module_slug=module.slug, language=document.language, digest=review_digest(module, document))
        .order_by("-reviewed_at")
        .first()
    )


def state_of(
    module: Module, language: str, reviews: dict[tuple[str, str, str], TranslationReview]
) -> TranslationState:
    document = module.documents.get(language)
    if document is None:
        return TranslationState(module, language, None, Status.MISSING, None)
    if module.is_out_of_date(document):
        return TranslationState(module, language, document, Status.OUT_OF_DATE, None)
    review = reviews.get((module.slug, language, review_digest(module, document)))
    return TranslationState(
        module, language, document, Status.REVIEWED if review else Status.NOT_REVIEWED, review
    )


def translation_state(module: Module, language: str, clinics: Iterable[Clinic] = ()) -> TranslationState:
    """One translation's status for readers of these clinics, with the review that counts."""
    document = module.documents.get(language)
    found = current_review(module, document, clinics) if document else None
    reviews = {(module.slug, language, found.digest): found} if found else {}
    return state_of(module, language, reviews)


def list_translation_states(
    catalog: Catalog | None = None, clinics: Iterable[Clinic] = ()
) -> list[TranslationState]:
    """Every module in every language but English, with its status for readers of these
    clinics (one query)."""
    catalog = catalog or load_catalog()
    reviews = {
        (review.module_slug, review.language, review.digest): review
        for review in counting_for(clinics).order_by("reviewed_at")
    }
    return [
        state_of(module, language, reviews)
        for module in catalog.modules
        for language in translation_languages()
    ]


def is_reviewed(module: Module, document: Document, clinic: Clinic | None) -> bool:
    """English is the reviewed source; a translation needs a review of its exact text that
    counts for the reader's clinic (None: a public reader, for whom site reviews count)."""
    if document.language == SOURCE_LANGUAGE:
        return True
    clinics = [clinic] if clinic else []
    return not module.is_out_of_date(document) and current_review(module, document, clinics) is not None


def may_review(user: User) -> bool:
    """Clinicians of a clinic, and site reviewers (operators given the permission)."""
    return user.is_authenticated and (
        is_clinic_staff(user) or user.has_perm("education.add_translationreview")
    )


def reviewed_only(clinic: Clinic | None) -> bool:
    if clinic is None:
        return False
    return ClinicContentSettings.objects.filter(clinic=clinic, reviewed_translations_only=True).exists()


def reviewing_clinics(user: User) -> list[Clinic]:
    """The clinics whose patients a review by this person counts for (none: a site reviewer)."""
    return list(list_clinics_for(user).order_by("name"))


@transaction.atomic
def review_translation(
    *, module: Module, language: str, by: User, clinic: Clinic | None
) -> TranslationReview:
    """Record that ``by`` checked the translation as it is now against the English, for the
    patients of ``clinic`` (one of theirs), or for everyone when they are a site reviewer."""
    if clinic is None and not by.has_perm("education.add_translationreview"):
        raise ValidationError(_("Choose the clinic this review is for."))
    document = module.documents.get(language)
    if language == SOURCE_LANGUAGE or document is None:
        raise ValidationError(_("There is no translation to review."))
    if module.is_out_of_date(document):
        raise ValidationError(
            _("This translation was made from an older English page. It must be updated first.")
        )
    digest = review_digest(module, document)
    existing = TranslationReview.objects.filter(
        module_slug=module.slug, language=language, digest=digest, clinic=clinic
    ).first()
    if existing:
        return existing
    return TranslationReview.objects.create(
        module_slug=module.slug,
        language=language,
        english_version=module.version,
        digest=digest,
        reviewed_by=by,
        reviewer_email=by.email,
        clinic=clinic,
    )


@transaction.atomic
def set_reviewed_translations_only(*, clinic: Clinic, value: bool) -> ClinicContentSettings:
    content_settings, _created = ClinicContentSettings.objects.get_or_create(clinic=clinic)
    content_settings.reviewed_translations_only = value
    content_settings.save(update_fields=["reviewed_translations_only"])
    return content_settings
