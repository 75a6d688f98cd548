"""Checks shared by the forms and the API serializers: names, and times of day."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 and C1 control characters (a name is one line: no tab or line break either) and the
# bidi embeddings, overrides and isolates, which make a name read backwards or swallow the
# text after it in a list, an email subject or the audit log. NUL is not here: every form
# and serializer CharField refuses it already (ProhibitNullCharactersValidator), and a
# model field checked without one lists that validator too (CarePlan.name).
UNSAFE_IN_NAME = re.compile("[\x01-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def validate_one_line(value: str) -> None:
    if UNSAFE_IN_NAME.search(value):
        raise ValidationError(
            _("Type the name without invisible control or text-direction characters."),
            code="control_characters",
        )


# A time of day as a person or a clinic system writes it: "09:30" or "09:30:00", in ASCII
# digits, and always the wall time of the person's or the clinic's zone. DRF took
# "10:00+05:00" and silently dropped the offset; "09:00:00.5" kept its fraction.
LOCAL_TIME = re.compile(r"[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?")
LOCAL_TIME_REFUSED = _(
    "Enter the time as hours and minutes, for example 09:30, without a time zone or fractions of a second."
)
