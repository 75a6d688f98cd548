"""The JSON parser of every API (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]). Its own module:
DRF imports it while rest_framework.views loads, so it must not import the API views."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's, with any body it cannot read a 400 in plain words. DRF's own message quoted
    Python ("'utf-8' codec can't decode byte 0xff", "sys.set_int_max_str_digits()"), deep
    nesting was a RecursionError (a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except (ParseError, RecursionError):
            raise ParseError(_("The request body is not valid JSON.")) from None
