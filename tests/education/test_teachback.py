"""Teach-back questions: every module has two or three in every language, each with one
right answer of three, sourced from what the module cites, easy to read; the loader refuses
a malformed file; translations follow their module's clinical review."""

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest
from django.conf import settings
from django.core import checks
from django.urls import reverse

from education import review, teachback
from education.apps import check_content
from education.catalog import CONTENT_DIR, load_catalog
from education.readability import reading_grade
from education.teachback import Choice, Question, TeachBackError, for_reader, questions, scan_teachback
from tests.helpers import log_in

CATALOG = load_catalog()
LANGUAGES = [code for code, _name in settings.LANGUAGES]
SLUGS = [module.slug for module in CATALOG.modules]


def raw(slug: str, language: str) -> dict:
    """The file as written, read without the loader under test."""
    return tomllib.loads((CONTENT_DIR / slug / "teach-back" / f"{language}.toml").read_text("utf-8"))


def test_every_file_loads() -> None:
    teachback.load_teachback.cache_clear()
    files = teachback.load_teachback()
    assert {(slug, language) for slug in SLUGS for language in LANGUAGES} <= set(files)


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_module_has_two_or_three_questions_in_every_language(slug: str, language: str) -> None:
    assert (CONTENT_DIR / slug / "teach-back" / f"{language}.toml").is_file()
    asked = questions(slug, language)
    assert 2 <= len(asked) <= 3
    assert teachback.questions_language(slug, language) == language
    for question in asked:
        assert len(question.choices) == 3
        assert [c.correct for c in question.choices].count(True) == 1
        assert question.text and question.explanation and all(c.text for c in question.choices)


@pytest.mark.parametrize("slug", SLUGS)
def test_ids_right_answers_and_sources_are_the_same_in_every_language(slug: str) -> None:
    def shape(language: str) -> list:
        return [
            (
                q["id"],
                [c["id"] for c in q["choices"]],
                [c["id"] for c in q["choices"] if c["correct"]],
                q["sources"],
            )
            for q in raw(slug, language)["questions"]
        ]

    english = shape("en")
    assert all(len(right) == 1 for _id, _choices, right, _sources in english)
    # Answers are stored by question id (portal.models.TeachBackAnswer.question_id: 80 characters).
    assert all(len(question_id) <= 80 for question_id, *_rest in english)
    for language in LANGUAGES:
        assert shape(language) == english, language
        if language != "en":
            assert raw(slug, language)["source_version"] == CATALOG.get(slug).version


@pytest.mark.parametrize("slug", SLUGS)
def test_every_source_is_a_known_reference_the_module_cites(slug: str) -> None:
    module = CATALOG.get(slug)
    for question in raw(slug, "en")["questions"]:
        assert question["sources"]
        for ref_id in question["sources"]:
            assert ref_id in CATALOG.references
            for language, document in module.documents.items():
                assert ref_id in document.cited, (question["id"], ref_id, language)


@pytest.mark.parametrize("slug", SLUGS)
def test_english_questions_read_at_grade_six_or_below(slug: str) -> None:
    for question in questions(slug, "en"):
        # As the reader shows it: the question, the three answers, then the explanation.
        fragment = f"<p>{question.text}</p><ul>"
        fragment += "".join(f"<li>{choice.text}</li>" for choice in question.choices)
        fragment += f"</ul><p>{question.explanation}</p>"
        assert reading_grade(fragment) <= 6, question.id


# Checked by hand: the questions whose right answer is to handle a dressing.
HANDLER_ONLY = {
    "dressing-care": {"comes-loose"},
    "household-safety": {"used-dressings"},
    "for-caregivers": {"gloves"},
}


@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_caregiver_who_must_not_handle_dressings_never_gets_a_question_about_it(
    slug: str, language: str
) -> None:
    every = {q.id for q in questions(slug, language)}
    kept = questions(slug, language, handles_dressings=False)
    assert every - {q.id for q in kept} == HANDLER_ONLY.get(slug, set())
    assert len(kept) >= 2


def test_the_interface_is_frozen_dataclasses() -> None:
    question = questions("dressing-care", "en")[0]
    assert isinstance(question, Question) and isinstance(question.choices[0], Choice)
    with pytest.raises(AttributeError):
        question.text = "changed"  # type: ignore[misc]
    assert question.correct_choice.correct
    # Each call gets its own list: a caller cannot change what the next reader gets.
    questions("dressing-care", "en").clear()
    assert questions("dressing-care", "en")


def test_a_missing_language_or_module_falls_back() -> None:
    assert questions("dressing-care", "xx") == questions("dressing-care", "en")
    assert teachback.questions_language("dressing-care", "xx") == "en"
    assert questions("no-such-module", "en") == []
    assert questions("../../etc", "en") == []


# --- The loader refuses broken files ---------------------------------------------------

GOOD = """
[[questions]]
id = "comes-loose"
text = "A dressing comes loose. What do you do?"
explanation = "Put on a new one."
sources = ["R16"]
choices = [
  { id = "new", text = "Put on a new one.", correct = true },
  { id = "old", text = "Press it back.", correct = false },
  { id = "none", text = "Leave it.", correct = false },
]

[[questions]]
id = "how-long"
text = "How long?"
explanation = "A week."
sources = ["R16"]
choices = [
  { id = "week", text = "A week.", correct = true },
  { id = "day", text = "A day.", correct = false },
  { id = "hour", text = "An hour.", correct = false },
]
"""


def problems(tmp_path: Path, files: dict[str, str], slug: str = "dressing-care") -> list[str]:
    for name, text in files.items():
        path = tmp_path / slug / "teach-back" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return scan_teachback(tmp_path, CATALOG)[1]


def translated(text: str, version: int = 2) -> str:
    return f"source_version = {version}\n{text}"


def test_good_files_have_no_problems(tmp_path: Path) -> None:
    assert problems(tmp_path, {"en.toml": GOOD, "es.toml": translated(GOOD)}) == []


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (
            GOOD.replace('correct = false },\n  { id = "none"', 'correct = true },\n  { id = "none"'),
            "exactly one",
        ),
        (GOOD.replace('{ id = "none", text = "Leave it.", correct = false },\n', ""), "exactly 3 choices"),
        (GOOD.replace('sources = ["R16"]', 'sources = ["R99"]', 1), "not cited"),
        (GOOD.replace('sources = ["R16"]', "sources = []", 1), "non-empty list"),
        (GOOD.replace('id = "how-long"', 'id = "comes-loose"'), "unique"),
        (GOOD.replace('id = "how-long"', 'id = "How long"'), "lowercase"),
        (GOOD.replace('explanation = "A week."', 'explanation = " "'), "non-empty"),
        (GOOD.replace('explanation = "A week."\n', ""), "needs the keys"),
        (GOOD.replace("correct = true }", 'correct = "yes" }', 1), "true/false"),
        (GOOD.split("[[questions]]", 2)[0] + "[[questions]]" + GOOD.split("[[questions]]", 2)[1], "2 to 3"),
        ("title = 'x'\n" + GOOD, "unknown keys"),
        (GOOD + "[[questions\n", "cannot be read"),
        (GOOD.replace('sources = ["R16"]', 'sources = ["R16"]\nhandler_only = "yes"', 1), "true or false"),
        (GOOD.replace('sources = ["R16"]', 'sources = ["R16"]\nnote = "x"', 1), "may have"),
    ],
)
def test_a_malformed_english_file_is_refused(tmp_path: Path, broken: str, expected: str) -> None:
    found = problems(tmp_path, {"en.toml": broken})
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        (GOOD, "needs source_version"),
        (translated(GOOD, version=3), "newer than the module"),
        (translated(GOOD.replace('id = "week"', 'id = "seven-days"')), "must match"),
        (translated(GOOD.replace('sources = ["R16"]', 'sources = ["R18"]', 1)), "must match"),
        (
            translated(GOOD.replace('sources = ["R16"]', 'sources = ["R16"]\nhandler_only = true', 1)),
            "must match",
        ),
        (
            translated(
                GOOD.replace(
                    'correct = true },\n  { id = "day", text = "A day.", correct = false',
                    'correct = false },\n  { id = "day", text = "A day.", correct = true',
                )
            ),
            "must match",
        ),
    ],
)
def test_a_translation_that_differs_from_english_is_refused(
    tmp_path: Path, broken: str, expected: str
) -> None:
    found = problems(tmp_path, {"en.toml": GOOD, "fr.toml": broken})
    assert any(expected in problem for problem in found), found


def test_files_outside_the_rules_are_refused(tmp_path: Path) -> None:
    assert any("has no en.toml" in p for p in problems(tmp_path, {"es.toml": translated(GOOD)}))
    assert any(
        "settings.LANGUAGES" in p for p in problems(tmp_path / "a", {"en.toml": GOOD, "xx.toml": GOOD})
    )
    assert any(
        "not a module" in p for p in problems(tmp_path / "b", {"en.toml": GOOD}, slug="no-such-module")
    )


def test_loading_raises_on_a_broken_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    problems(tmp_path, {"en.toml": GOOD.replace("correct = false", "correct = true")})
    monkeypatch.setattr(teachback, "CONTENT_DIR", tmp_path)
    teachback.load_teachback.cache_clear()
    try:
        with pytest.raises(TeachBackError, match="exactly one choice must be correct"):
            questions("dressing-care", "en")
    finally:
        monkeypatch.undo()
        teachback.load_teachback.cache_clear()
    assert questions("dressing-care", "en")


def test_an_out_of_date_translation_gives_the_english_questions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Made from an older English version, its right answers may be wrong now."""
    spanish = translated(
        GOOD.replace("A week.", "Una semana.").replace('id = "week"', 'id = "semana"'), version=1
    )
    assert problems(tmp_path, {"en.toml": GOOD, "es.toml": spanish}) == []
    monkeypatch.setattr(teachback, "CONTENT_DIR", tmp_path)
    teachback.load_teachback.cache_clear()
    try:
        assert teachback.questions_language("dressing-care", "es") == "en"
        assert questions("dressing-care", "es")[1].correct_choice.id == "week"
    finally:
        monkeypatch.undo()
        teachback.load_teachback.cache_clear()


# --- Review state follows the module's translation ----------------------------------------


def test_unreviewed_translation_questions_carry_the_same_mark(db) -> None:
    shown = for_reader("dressing-care", "es")
    assert (shown.language, shown.not_reviewed) == ("es", True)
    assert shown.questions == questions("dressing-care", "es")
    english = for_reader("dressing-care", "en")
    assert (english.language, english.not_reviewed) == ("en", False)


def test_questions_are_reviewed_with_their_module_for_that_clinic(clinic, other_clinic, clinician) -> None:
    module = CATALOG.get("dressing-care")
    review.review_translation(module=module, language="es", by=clinician, clinic=clinic)
    assert for_reader("dressing-care", "es", clinic).not_reviewed is False
    # A clinic's review counts for its own patients only.
    assert for_reader("dressing-care", "es", other_clinic).not_reviewed is True
    assert for_reader("dressing-care", "es").not_reviewed is True


def test_for_reader_leaves_out_handling_questions_for_who_must_not_handle_dressings(db) -> None:
    ids = {q.id for q in for_reader("dressing-care", "ar", handles_dressings=False).questions}
    assert ids == {"how-long", "who-must-not-change"}
    assert len(for_reader("dressing-care", "ar").questions) == 3


def test_a_clinic_that_shows_only_reviewed_translations_gets_english_questions(clinic) -> None:
    review.set_reviewed_translations_only(clinic=clinic, value=True)
    shown = for_reader("dressing-care", "es", clinic)
    assert (shown.language, shown.not_reviewed) == ("en", False)
    assert shown.questions == questions("dressing-care", "en")


def test_the_clinician_reviews_the_questions_with_the_page(client, clinician) -> None:
    log_in(client, clinician)
    page = client.get(reverse("translation-review", args=["dressing-care", "es"])).text
    for language in ("es", "en"):
        for question in questions("dressing-care", language):
            assert question.text in page
            assert question.explanation in page
            assert question.correct_choice.text in page
    assert page.count("(right answer)") == 2 * len(questions("dressing-care", "en"))


def test_changing_a_translated_question_makes_the_translation_unreviewed_again(
    clinic, clinician, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = CATALOG.get("dressing-care")
    review.review_translation(module=module, language="es", by=clinician, clinic=clinic)
    assert review.is_reviewed(module, module.documents["es"], clinic)
    assert for_reader("dressing-care", "es", clinic).not_reviewed is False

    files = dict(teachback.load_teachback())
    spanish = files[("dressing-care", "es")]
    edited = dataclasses.replace(spanish.questions[0], explanation="Otra explicación.")
    files[("dressing-care", "es")] = dataclasses.replace(spanish, questions=(edited, *spanish.questions[1:]))
    monkeypatch.setattr(teachback, "load_teachback", lambda: files)
    assert not review.is_reviewed(module, module.documents["es"], clinic)
    assert for_reader("dressing-care", "es", clinic).not_reviewed is True


def test_the_system_check_reports_a_broken_teach_back_file(tmp_path: Path) -> None:
    assert not [m for m in checks.run_checks(tags=[checks.Tags.translation]) if m.id == "education.E002"]
    content = shutil.copytree(CONTENT_DIR, tmp_path / "content")
    (content / "when-to-call" / "teach-back" / "de.toml").write_text("source_version = 2\n", encoding="utf-8")
    errors = [m for m in check_content(content_dir=content) if m.level == checks.ERROR]
    assert [m.id for m in errors] == ["education.E002"]
    assert "when-to-call/teach-back/de.toml" in errors[0].msg
