"""The signed-in language form's buttons, rendered once per language and process
(portal/navigation.language_buttons), are the markup the menu's own loop wrote."""

import pytest
from django.conf import settings
from django.template import engines
from django.utils import translation

from portal.models import User
from tests.helpers import log_in

pytestmark = pytest.mark.django_db

# The loop as _language_menu.html wrote it before.
LOOP = """<ul>{% for language in menu.links %}
      <li><button type="submit" name="language" value="{{ language.code }}" lang="{{ language.code }}" dir="{{ language.bidi|yesno:'rtl,ltr' }}"{% if language.current %} aria-current="true"{% endif %}>{{ language.name }}</button></li>{% endfor %}
    </ul>"""


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_each_reader_gets_their_languages_buttons(client, patient, language) -> None:  # type: ignore[no-untyped-def]
    from portal.navigation import local_name

    User.objects.filter(pk=patient.user_id).update(language=language)
    log_in(client, patient.user)
    for _ in range(2):  # rendered, then kept
        body = client.get("/account/").content.decode()
        links = [
            {
                "code": code,
                "name": local_name(code),
                "bidi": code in settings.LANGUAGES_BIDI,
                "current": code == language,
            }
            for code, _name in settings.LANGUAGES
        ]
        with translation.override(language):
            expected = engines["django"].from_string(LOOP).render({"menu": {"links": links}})
        assert expected in body
        assert body.count('aria-current="true"') == 1
        assert f'value="{language}" lang="{language}"' in body.split('aria-current="true"')[0][-200:]
