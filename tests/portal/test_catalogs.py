"""The interface speaks eight languages: every string translated, no catalog behind the code."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils.translation import to_locale

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w+\}")
MAKEMESSAGES = [
    "makemessages",
    "-a",
    "-e",
    "html,txt,py,js,webmanifest",
    "--ignore",
    ".venv*",
    "--ignore",
    "var/*",
    "--ignore",
    "tests/*",
    "--ignore",
    "node_modules/*",
    "--ignore",
    "export/*",
    "--no-obsolete",
]


def catalog(root: Path, code: str) -> polib.POFile:
    return polib.pofile(str(root / "locale" / to_locale(code) / "LC_MESSAGES" / "django.po"))


def problems_in(po: polib.POFile) -> list[str]:
    found = [f"untranslated: {entry.msgid!r}" for entry in po.untranslated_entries()]
    found += [f"fuzzy: {entry.msgid!r}" for entry in po.fuzzy_entries()]
    return found


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_string_is_translated(code):
    po = catalog(ROOT, code)
    assert problems_in(po) == []
    assert "fuzzy" not in po.metadata_as_entry().flags


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_and_plurals_survive_translation(code):
    po = catalog(ROOT, code)
    plurals = int(re.search(r"nplurals=(\d+)", po.metadata["Plural-Forms"]).group(1))
    for entry in po.translated_entries():
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(plurals)), entry.msgid
            translations = list(entry.msgstr_plural.values())
        else:
            translations = [entry.msgstr]
        expected = set(PLACEHOLDER.findall(entry.msgid))
        for text in translations:
            assert set(PLACEHOLDER.findall(text)) <= expected | set(
                PLACEHOLDER.findall(entry.msgid_plural)
            ), (
                entry.msgid,
                text,
            )


def test_catalogs_keep_up_with_the_code(tmp_path):
    """Extract the strings again into a copy: a new string without a translation fails here."""
    copy = tmp_path / "tree"
    copy.mkdir()
    for name in ("manage.py", "portal", "education", "static", "locale"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, copy / name)
    result = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=copy,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "VAR_DIR": str(tmp_path / "var"),
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    behind = {code: problems_in(catalog(copy, code)) for code in TRANSLATED}
    assert behind == dict.fromkeys(TRANSLATED, []), "run `make messages` and translate the new strings"


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "مضى يوم واحد على جلسة العلاج بتاريخ 3 مارس."),
        # Arabic has a dual: "two days" is one word, with no digit before it.
        (2, "مضى يومان على جلسة العلاج بتاريخ 3 مارس."),
        (3, "مضت 3 أيام على جلسة العلاج بتاريخ 3 مارس."),
        (11, "مضى 11 يومًا على جلسة العلاج بتاريخ 3 مارس."),
    ],
)
def test_arabic_counts_days_in_its_own_plural_forms(days, expected):
    from django.template import Context, Template
    from django.utils import translation

    template = Template(
        "{% load i18n %}{% blocktranslate count days=days with date=date %}{{ days }} day since the treatment"
        " on {{ date }}.{% plural %}{{ days }} days since the treatment on {{ date }}.{% endblocktranslate %}"
    )
    with translation.override("ar"):
        assert template.render(Context({"days": days, "date": "3 مارس"})) == expected
