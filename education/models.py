"""Education state that lives in the database: clinical review of translations and
each clinic's choice about unreviewed ones. The documents themselves are files."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TranslationReview(models.Model):
    """A clinician's word that one translation says what the English says.

    It holds for the exact text reviewed (``digest``): any change to the file,
    or a new English version, makes the translation unreviewed again."""

    module_slug = models.SlugField(max_length=80)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    english_version = models.PositiveIntegerField(
        help_text=_("The English version the translation was made from.")
    )
    digest = models.CharField(max_length=64)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    reviewer_email = models.EmailField()
    # The clinic whose patients this review counts for; empty: a site reviewer's, for everyone.
    clinic = models.ForeignKey("portal.Clinic", models.CASCADE, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Once per text and clinic; once per text for site reviewers (no clinic).
            models.UniqueConstraint(
                fields=["module_slug", "language", "digest", "clinic"],
                condition=models.Q(clinic__isnull=False),
                name="review_once_per_text_and_clinic",
            ),
            models.UniqueConstraint(
                fields=["module_slug", "language", "digest"],
                condition=models.Q(clinic__isnull=True),
                name="review_once_per_text_site_wide",
            ),
            models.CheckConstraint(condition=~models.Q(language="en"), name="review_not_english"),
        ]

    def __str__(self) -> str:
        return f"{self.module_slug}/{self.language} v{self.english_version} by {self.reviewer_email}"


class ClinicContentSettings(models.Model):
    clinic = models.OneToOneField("portal.Clinic", models.CASCADE, related_name="content_settings")
    reviewed_translations_only = models.BooleanField(
        _("Show patients only reviewed translations"),
        default=False,
        help_text=_("Until a clinician reviews a translation, your patients read that page in English."),
    )

    def __str__(self) -> str:
        return f"Content settings of {self.clinic}"
