"""Checks shared by the forms, the API serializers and the models that take a name."""

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
