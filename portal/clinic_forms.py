"""Forms of the clinic workspace: validation only; saving goes through the services."""

from datetime import date

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import scheduling
from portal.forms import LocalTimeField, WholeNumberField
from portal.models import Clinic, StaffMembership, visit_date_error
from portal.timezones import TIME_ZONES
from portal.validators import validate_one_line
from portal.zones import zone_choices


def bounded(day: date) -> date:
    """Visit dates stay within a year before and two years after today."""
    if error := visit_date_error(day, timezone.localdate()):
        raise error
    return day


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


def split_sites(text: str) -> list[str]:
    """ "left forearm, right calf" -> ["left forearm", "right calf"]"""
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class SitesField(forms.CharField):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("label", _("Injection sites"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1000)
        kwargs.setdefault(
            "help_text", _("Separate sites with commas, for example “left forearm, right calf”.")
        )
        super().__init__(**kwargs)


class ProposeCourseForm(forms.Form):
    """The first treatment and how long: the app proposes the dates."""

    first_date = forms.DateField(label=_("First treatment date"), widget=DATE)
    first_time = LocalTimeField(label=_("Time"), widget=TIME)
    sites = SitesField()
    length = forms.ChoiceField(
        label=_("How many visits"),
        choices=[("count", _("A number of visits")), ("until", _("Every visit until a date"))],
        widget=forms.RadioSelect,
        initial="count",
    )
    count = WholeNumberField(
        label=_("Number of visits"),
        min_value=1,
        max_value=scheduling.MAX_VISITS,
        required=False,
        initial=13,
        help_text=_("13 visits take about 6 months."),
    )
    until = forms.DateField(label=_("Last date"), widget=DATE, required=False)

    def clean_first_date(self) -> date:
        return bounded(self.cleaned_data["first_date"])

    def clean(self):  # type: ignore[no-untyped-def]
        data = super().clean()
        if data.get("length") == "until":
            if not data.get("until"):
                self.add_error("until", _("Enter the last date."))
            elif data.get("first_date") and data["until"] < data["first_date"]:
                self.add_error("until", _("The last date must be on or after the first treatment date."))
            elif data.get("first_date") and (data["until"] - data["first_date"]) > scheduling.LATEST:
                self.add_error("until", _("Plan at most two years ahead."))
        elif not data.get("count"):
            self.add_error("count", _("Enter the number of visits."))
        return data


class PlannedVisitForm(forms.Form):
    """One row of the proposed list, which the nurse may change or leave out."""

    keep = forms.BooleanField(label=_("Keep"), required=False, initial=True)
    local_date = forms.DateField(label=_("Date"), widget=DATE)
    local_time = LocalTimeField(label=_("Time"), widget=TIME)
    sites = SitesField()

    def clean_local_date(self) -> date:
        return bounded(self.cleaned_data["local_date"])


PlannedVisitFormSet = forms.formset_factory(
    PlannedVisitForm,
    extra=0,
    max_num=scheduling.MAX_VISITS,
    validate_max=True,
    absolute_max=scheduling.MAX_VISITS,
)


class CompleteVisitForm(forms.Form):
    sites = SitesField(label=_("Sites injected today"))


class MoveVisitForm(forms.Form):
    local_date = forms.DateField(label=_("New date"), widget=DATE)
    local_time = LocalTimeField(label=_("New time"), widget=TIME)

    def clean_local_date(self) -> date:
        return bounded(self.cleaned_data["local_date"])


class ShiftVisitsForm(forms.Form):
    days = WholeNumberField(
        label=_("Days"),
        min_value=-scheduling.MAX_SHIFT_DAYS,
        max_value=scheduling.MAX_SHIFT_DAYS,
        help_text=_("A positive number moves visits later, a negative one earlier."),
    )

    def clean_days(self) -> int:
        if self.cleaned_data["days"] == 0:
            raise forms.ValidationError(_("Enter a number of days other than 0."))
        return self.cleaned_data["days"]


class TimeZoneField(forms.ChoiceField):
    """A time zone from the picker's list: the clinic's zone and common ones first, no
    legacy aliases. A zone already stored that is not in the list (an old alias) stays valid."""

    def __init__(self, *, first: str = "", current: str = "", **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("label", _("Time zone"))
        super().__init__(choices=zone_choices(first=first, current=current), **kwargs)
        self.widget.attrs.update({"class": "zone-picker", "data-search-label": _("Search time zones")})

    def valid_value(self, value: str) -> bool:
        return value in TIME_ZONES and super().valid_value(value)


class PatientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150, validators=[validate_one_line])
    email = forms.EmailField(label=_("Email address"))
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)

    def __init__(self, *args, clinic: Clinic, current_zone: str = "", email_locked: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = TimeZoneField(first=clinic.time_zone, current=current_zone)
        if email_locked:
            self.fields["email"].disabled = True
            self.fields["email"].help_text = _(
                "The patient has an account: they change their sign-in email themselves."
            )


class ClinicSettingsForm(forms.Form):
    name = forms.CharField(label=_("Clinic name"), max_length=200, validators=[validate_one_line])
    phone_daytime = forms.CharField(label=_("Daytime phone"), max_length=40)
    phone_after_hours = forms.CharField(label=_("After-hours phone"), max_length=40)
    emergency_number = forms.CharField(
        label=_("Emergency number"),
        max_length=20,
        required=False,
        help_text=_("For example 911, 112 or 999. Leave it empty to say “your local emergency number”."),
    )
    language = forms.ChoiceField(label=_("Default language for new patients"), choices=settings.LANGUAGES)
    acknowledge_within_days = WholeNumberField(
        label=_("Days to acknowledge a module"),
        min_value=1,
        max_value=90,
        help_text=_("The clinic home lists modules not acknowledged after this many days."),
    )

    def __init__(self, *args, clinic: Clinic, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["time_zone"] = TimeZoneField(first=clinic.time_zone, current=clinic.time_zone)

    def clean_phone_daytime(self) -> str:
        return clean_phone(self.cleaned_data["phone_daytime"])

    def clean_phone_after_hours(self) -> str:
        return clean_phone(self.cleaned_data["phone_after_hours"])


# ASCII digits only: "١٢٣" and "１２３" pass str.isdigit(), but no tel: link dials them.
PHONE_DIGITS = frozenset("0123456789")
PHONE_CHARACTERS = PHONE_DIGITS | frozenset(" +-().")


def clean_phone(value: str) -> str:
    value = " ".join(value.split())
    digits = sum(char in PHONE_DIGITS for char in value)
    if digits < 3 or any(char not in PHONE_CHARACTERS for char in value):
        raise forms.ValidationError(_("Enter a phone number: digits, spaces, + - ( ) only."))
    return value


class StaffInviteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150, required=False, validators=[validate_one_line])
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=StaffMembership.Role.choices)


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=StaffMembership.Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=80, help_text=_("Which system uses the key, for example “EHR interface”.")
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=[("read", _("Read only")), ("write", _("Read and write"))],
        widget=forms.RadioSelect,
        initial="read",
    )
