"""HTML forms: validation only. Saving goes through portal.services."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.models import (
    UNSAFE_DRESSING_HANDLER,
    Clinic,
    ClinicReminderSettings,
    DressingLogEntry,
)
from portal.timezones import TIME_ZONES
from portal.validators import LOCAL_TIME, LOCAL_TIME_REFUSED, validate_one_line

TIME_ZONE_CHOICES = [(zone, zone.replace("_", " ")) for zone in TIME_ZONES]


class LocalTimeField(forms.TimeField):
    """A time of day in the person's own zone, written as portal.validators.LOCAL_TIME
    (Django's own formats take "09:00:00.5" and full-width digits)."""

    default_error_messages = {"invalid": LOCAL_TIME_REFUSED}

    def to_python(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and value.strip() and not LOCAL_TIME.fullmatch(value.strip()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class WholeNumberField(forms.IntegerField):
    """A number in ASCII digits, as the clinic API takes it (portal.clinic_api.WholeNumberField):
    Django's IntegerField takes any Unicode digit, "１０" (full-width) or "١٠" (Arabic-Indic)."""

    default_error_messages = {"invalid": _("Enter a whole number with the digits 0 to 9.")}

    def to_python(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class EnrolPatientForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), label=_("Clinic"), empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=150, validators=[validate_one_line])
    email = forms.EmailField(label=_("Email address"), help_text=_("We send the invitation here."))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES)

    def __init__(self, *args, clinics, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        first = clinics.first()
        if first:
            from portal.clinic_forms import TimeZoneField

            self.fields["clinic"].initial = first
            self.fields["language"].initial = first.language
            self.fields["time_zone"] = TimeZoneField(first=first.time_zone, initial=first.time_zone)
        if clinics.count() == 1:
            self.fields["clinic"].widget = forms.HiddenInput()


class CaregiverRoleForm(forms.Form):
    """What a caregiver does at home: the label keeps some people away from dressings."""

    handles_dressings = forms.BooleanField(label=_("Helps with dressings"), required=False, initial=True)
    pregnant_or_immunocompromised = forms.BooleanField(
        label=_("Is pregnant, may become pregnant, or has a weak immune system"),
        required=False,
        help_text=_("They will get guidance that tells them not to touch dressings or injection sites."),
    )
    gets_reminders = forms.BooleanField(label=_("Gets reminders"), required=False, initial=True)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("label_suffix", "")  # questions and checkboxes read as plain words
        super().__init__(*args, **kwargs)

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("pregnant_or_immunocompromised") and data.get("handles_dressings"):
            self.add_error("handles_dressings", UNSAFE_DRESSING_HANDLER)
        return data


class CaregiverInviteForm(CaregiverRoleForm):
    """The patient (or the care team) invites a caregiver; the two safety questions asked plainly."""

    name = forms.CharField(
        label=_("Caregiver's name"), max_length=150, required=False, validators=[validate_one_line]
    )
    email = forms.EmailField(label=_("Caregiver's email address"))
    patient_consents = forms.BooleanField(
        label=_("The patient agreed in person to link this caregiver"),
        required=False,
        help_text=_("Leave this empty to ask the patient in the app first."),
    )
    field_order = ["name", "email", "handles_dressings", "pregnant_or_immunocompromised", "gets_reminders"]

    def __init__(self, *args, ask_consent: bool, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["handles_dressings"].label = _("They will help change the dressings")
        self.fields["pregnant_or_immunocompromised"].label = _(
            "They are pregnant, may become pregnant, or have a weak immune system"
        )
        self.fields["pregnant_or_immunocompromised"].help_text = _(
            "Then they must not touch the dressings or injection sites. "
            "They will see a guide without the dressing-change steps."
        )
        self.fields["gets_reminders"].label = _("They get reminders")
        if not ask_consent:
            del self.fields["patient_consents"]


class InvitationAnswerForm(forms.Form):
    """The invitee's yes or no, and the safety question for them to answer about themselves."""

    answer = forms.ChoiceField(
        choices=[("accept", _("Accept")), ("decline", _("Decline"))],
        error_messages={"required": _("Choose yes or no."), "invalid_choice": _("Choose yes or no.")},
    )
    pregnant_or_immunocompromised = forms.BooleanField(
        label=_("I am pregnant, may become pregnant, or have a weak immune system"),
        required=False,
        help_text=_(
            "Then you must not touch the dressings. We show you a guide without the dressing-change steps."
        ),
    )

    def __init__(self, *args, link, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["pregnant_or_immunocompromised"].initial = link.pregnant_or_immunocompromised


# The reader's own email address and language name their purpose (WCAG 1.3.5, autocomplete).
class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label=_("New email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SettingsForm(forms.Form):
    """The person's own settings, in plain words (portal.accounts.Settings)."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        widget=forms.Select(attrs={"autocomplete": "language"}),
    )
    reminder_time = LocalTimeField(
        label=_("Reminder time"),
        help_text=_("The time of day you want your reminders."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_start = LocalTimeField(
        label=_("From"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_end = LocalTimeField(
        label=_("To"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    reminders_by_email = forms.BooleanField(label=_("By email"), required=False)
    reminders_by_push = forms.BooleanField(
        label=_("As notifications on my phone or computer"), required=False
    )
    discreet = forms.BooleanField(
        label=_("Discreet notifications"),
        required=False,
        help_text=_("Notifications and emails say only that there is a reminder, not what it is about."),
    )

    def __init__(self, *args, is_patient: bool, current_zone: str, **kwargs):  # type: ignore[no-untyped-def]
        from portal.clinic_forms import TimeZoneField
        from portal.zones import zone_choices, zone_label

        kwargs.setdefault("label_suffix", "")  # labels read as plain words, checkboxes too
        super().__init__(*args, **kwargs)
        zone = TimeZoneField(help_text=_("Reminders come at your time in this zone."))
        # The person's own zone first (kept even when it is an old alias the list leaves out).
        others = [(group, [c for c in options if c[0] != current_zone]) for group, options in zone_choices()]
        zone.choices = [(str(_("Your time zone")), [(current_zone, zone_label(current_zone))]), *others]
        self.fields["time_zone"] = zone
        self.order_fields(["language", "time_zone"])
        if not is_patient:
            del self.fields["discreet"]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            self.add_error("quiet_end", _("Give both the start and the end of quiet hours, or neither."))
        return data


class ClinicReminderSettingsForm(forms.ModelForm):
    class Meta:
        model = ClinicReminderSettings
        fields = ClinicReminderSettings.EDITABLE_FIELDS
        field_classes = {
            "visit_reminder_time": LocalTimeField,
            "default_reminder_time": LocalTimeField,
            "dressing_days": WholeNumberField,
            "symptom_days": WholeNumberField,
        }
        widgets = {
            "visit_reminder_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "default_reminder_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }
        help_texts = {
            "dressing_days": _(
                "From 7 to 28: keep injection sites covered for at least 1 week after each treatment."
            ),
            "symptom_days": _("From 1 to 7."),
        }


class DressingReportForm(forms.Form):
    """The two answers on a dressing reminder's page."""

    kind = forms.ChoiceField(
        choices=[(k.value, k.label) for k in (DressingLogEntry.Kind.DRY, DressingLogEntry.Kind.WEEPING)]
    )
