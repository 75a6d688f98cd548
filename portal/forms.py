"""HTML forms: validation only. Saving goes through portal.services."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.models import UNSAFE_DRESSING_HANDLER, Clinic, InjectionVisit
from portal.timezones import TIME_ZONES

TIME_ZONE_CHOICES = [(zone, zone.replace("_", " ")) for zone in TIME_ZONES]


class EnrolPatientForm(forms.Form):
    clinic = forms.ModelChoiceField(queryset=Clinic.objects.none(), label=_("Clinic"), empty_label=None)
    name = forms.CharField(label=_("Name"), max_length=150)
    email = forms.EmailField(label=_("Email address"), help_text=_("We send the invitation here."))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES)

    def __init__(self, *args, clinics, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["clinic"].queryset = clinics
        first = clinics.first()
        if first:
            self.fields["clinic"].initial = first
            self.fields["language"].initial = first.language
            self.fields["time_zone"].initial = first.time_zone
        if clinics.count() == 1:
            self.fields["clinic"].widget = forms.HiddenInput()


class VisitForm(forms.Form):
    local_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    local_time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time"}))
    status = forms.ChoiceField(label=_("Status"), choices=InjectionVisit.Status.choices)
    sites = forms.CharField(
        label=_("Injection sites"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, for example “left forearm”."),
    )

    def clean_sites(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["sites"].splitlines() if line.strip()]


class CaregiverInviteForm(forms.Form):
    name = forms.CharField(label=_("Caregiver's name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Caregiver's email address"))
    handles_dressings = forms.BooleanField(label=_("Helps with dressings"), required=False, initial=True)
    pregnant_or_immunocompromised = forms.BooleanField(
        label=_("Is pregnant, may become pregnant, or has a weak immune system"),
        required=False,
        help_text=_("They will get guidance that tells them not to touch dressings or injection sites."),
    )
    gets_reminders = forms.BooleanField(label=_("Gets reminders"), required=False, initial=True)
    patient_consents = forms.BooleanField(
        label=_("The patient agreed to link this caregiver"), required=False
    )

    def __init__(self, *args, ask_consent: bool, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if ask_consent:
            self.fields["patient_consents"].required = True
        else:
            del self.fields["patient_consents"]

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("pregnant_or_immunocompromised") and data.get("handles_dressings"):
            self.add_error("handles_dressings", UNSAFE_DRESSING_HANDLER)
        return data
