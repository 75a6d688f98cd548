"""The content system: every module loads, reads easily, cites known sources; and
the loader refuses what a reviewer would refuse."""

from pathlib import Path

import pytest
from django.core import checks

from education import catalog as catalog_module
from education.apps import check_content
from education.catalog import (
    CONTENT_DIR,
    MARKER,
    SECTION,
    ContentError,
    cited_in,
    isolate_markers,
    load_catalog,
    scan_content,
    strip_markers,
)
from education.readability import reading_grade

# Parametrised from scan_content, which skips a broken document instead of raising,
# so one bad file fails its own tests rather than the collection of all of them.
CATALOG = scan_content(CONTENT_DIR)[0]
ENGLISH = [pytest.param(m.documents["en"], id=m.slug) for m in CATALOG.modules]
EVERY_DOCUMENT = [
    pytest.param(doc, id=f"{m.slug}-{lang}") for m in CATALOG.modules for lang, doc in m.documents.items()
]


def test_every_content_folder_is_a_module_in_reading_order() -> None:
    folders = {p.name for p in CONTENT_DIR.iterdir() if p.is_dir()}
    assert {m.slug for m in CATALOG.modules} == folders
    orders = [m.order for m in CATALOG.modules]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert all(m.audience in ("patient", "caregiver", "both") for m in CATALOG.modules)


def test_the_content_has_no_problems() -> None:
    assert scan_content(CONTENT_DIR)[1] == []


@pytest.mark.parametrize("document", ENGLISH)
def test_english_module_reads_at_grade_six_or_below(document: catalog_module.Document) -> None:
    assert reading_grade(document.body) <= 6


@pytest.mark.parametrize("document", EVERY_DOCUMENT)
def test_every_section_cites_a_source(document: catalog_module.Document) -> None:
    sections = SECTION.findall(document.body)
    assert len(sections) == len(document.sections) > 0
    for _attributes, inner in sections:
        assert MARKER.search(inner)


@pytest.mark.parametrize("document", EVERY_DOCUMENT)
def test_every_marker_is_a_known_reference(document: catalog_module.Document) -> None:
    cited = {ref.strip() for group in MARKER.findall(document.body) for ref in group.split(",")}
    assert cited and cited <= set(CATALOG.references)
    assert set(document.cited) == cited


def test_readers_get_the_text_without_marks_and_each_source_once() -> None:
    fragment = "<p>Wear gloves. [R3, R16]</p><p>Bag it. [R16] Bin it. [R18, R3]</p>"
    assert strip_markers(fragment) == "<p>Wear gloves.</p><p>Bag it. Bin it.</p>"
    assert cited_in(fragment) == ["R3", "R16", "R18"]


def test_the_review_keeps_each_mark_as_an_isolated_left_to_right_run() -> None:
    html = isolate_markers("<p>ارتدِ القفازات. [R3, R16]</p>")
    assert html == '<p>ارتدِ القفازات. <bdi class="src" dir="ltr">[R3, R16]</bdi></p>'


def test_a_slug_is_checked_before_any_lookup() -> None:
    assert CATALOG.get("../../etc/passwd") is None
    assert CATALOG.get("Dressing-Care") is None
    assert CATALOG.get("dressing-care") is not None


def test_a_missing_document_falls_back_to_english() -> None:
    module = CATALOG.get("dressing-care")
    assert module is not None
    document, fell_back = module.document("xx")
    assert (document.language, fell_back) == ("en", True)
    assert module.document("en") == (module.documents["en"], False)


# --- The loader refuses broken content -----------------------------------------------

GOOD_BODY = """<!--
title = "Dressing"
summary = "Keep it on."
-->
<section id="keep-it-on">
  <h2>Keep it on</h2>
  <p>Keep the dressing on for a week. [R1]</p>
</section>
"""


def write_content(root: Path, files: dict[str, str]) -> Path:
    (root / "references.toml").write_text('[R1]\ntitle = "A label"\nurl = "https://example.org/label"\n')
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def module_files(slug: str = "dressing", **documents: str) -> dict[str, str]:
    files = {f"{slug}/module.toml": 'order = 1\naudience = "both"\nversion = 2\n'}
    files.update({f"{slug}/{lang.replace('_', '-')}.html": text for lang, text in documents.items()})
    return files


def problems_for(tmp_path: Path, files: dict[str, str]) -> list[str]:
    return scan_content(write_content(tmp_path, files))[1]


def test_valid_content_loads(tmp_path: Path) -> None:
    catalog, problems = scan_content(write_content(tmp_path, module_files(en=GOOD_BODY)))
    assert problems == []
    (module,) = catalog.modules
    assert (module.slug, module.version, module.documents["en"].title) == ("dressing", 2, "Dressing")
    assert module.documents["en"].cited == ("R1",)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (GOOD_BODY.replace("[R1]", "[R99]"), "cites [R99], which references.toml does not know"),
        (GOOD_BODY.replace("[R1]", "[R1 R2]"), "is not a valid source marker"),
        (GOOD_BODY.replace("[R1]", ""), "cites no source"),
        (GOOD_BODY.replace(' id="keep-it-on"', ""), "needs an id"),
        (GOOD_BODY.replace("<h2>Keep it on</h2>", "<h3>Keep it on</h3>"), "needs an <h2> heading"),
        (GOOD_BODY.replace('title = "Dressing"', 'title = "Dressing'), "front matter is not valid TOML"),
        (GOOD_BODY.replace('title = "Dressing"\n', ""), "needs a title and a summary"),
        (GOOD_BODY.split("-->")[1], "must start with a front matter"),
    ],
)
def test_broken_documents_are_reported(tmp_path: Path, body: str, problem: str) -> None:
    problems = problems_for(tmp_path, module_files(en=body))
    assert any(problem in p for p in problems), problems


def test_a_translation_needs_its_source_version_and_the_same_sections(tmp_path: Path) -> None:
    no_version = GOOD_BODY
    other_sections = GOOD_BODY.replace("keep-it-on", "other").replace("-->", "source_version = 2\n-->")
    problems = problems_for(tmp_path, module_files(en=GOOD_BODY, es=no_version, fr=other_sections))
    assert any("es.html: a translation's front matter needs source_version" in p for p in problems)
    assert any("fr.html: sections differ" in p for p in problems)


def test_an_out_of_date_translation_may_still_have_the_old_sections(tmp_path: Path) -> None:
    """The English page gained a section in version 2; the version 1 translation still loads,
    shown as out of date, until it is translated again."""
    english = GOOD_BODY.replace(
        "</section>", '</section>\n<section id="new"><h2>New</h2><p>New. [R1]</p></section>'
    )
    old = GOOD_BODY.replace("-->", "source_version = 1\n-->")
    catalog, problems = scan_content(write_content(tmp_path, module_files(en=english, de=old)))
    assert problems == []
    (module,) = catalog.modules
    assert module.is_out_of_date(module.documents["de"])


def test_a_current_translation_keeps_the_emergency_number_placeholders(tmp_path: Path) -> None:
    placeholder = '<p class="emergency-number"></p>'
    english = GOOD_BODY.replace("</section>", f"{placeholder}</section>")
    current = GOOD_BODY.replace("-->", "source_version = 2\n-->")
    problems = problems_for(tmp_path, module_files(en=english, it=current))
    assert problems == ["dressing/it.html: the emergency number placeholders must match en.html"]


def test_a_folder_with_a_bad_slug_is_not_read(tmp_path: Path) -> None:
    # No module.toml inside: the slug is refused before the folder is opened.
    (tmp_path / "Not_A_Slug").mkdir()
    problems = problems_for(tmp_path, module_files(en=GOOD_BODY))
    assert problems == ["Not_A_Slug: not a valid module slug (lowercase words joined by hyphens)"]


def test_load_catalog_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_content(tmp_path, module_files(en=GOOD_BODY.replace("[R1]", "[R404]")))
    monkeypatch.setattr(catalog_module, "CONTENT_DIR", tmp_path)
    with pytest.raises(ContentError, match=r"\[R404\]"):
        load_catalog.__wrapped__()


def test_system_check_errors_on_invalid_content_and_warns_on_missing_languages(tmp_path: Path) -> None:
    write_content(tmp_path, module_files(en=GOOD_BODY) | module_files("broken", en="<p>no front matter</p>"))
    messages = check_content(content_dir=tmp_path)
    errors = [m for m in messages if m.level == checks.ERROR]
    warnings = [m for m in messages if m.level == checks.WARNING]
    assert [m.id for m in errors] == ["education.E001"] and "broken/en.html" in errors[0].msg
    assert [m.id for m in warnings] == ["education.W001"]
    assert "'dressing' has no document in es, fr, de, it, pt-br, zh-hans, ar" in warnings[0].msg


def test_system_check_is_registered_and_quiet_on_the_real_content() -> None:
    messages = checks.run_checks(tags=[checks.Tags.translation])
    assert not [m for m in messages if m.id == "education.E001"]
