"""Teach-back questions: two or three per module, checking the actions that matter most for
safety at home, each with an explanation shown when a wrong answer is picked.

One file per module and language, ``content/<slug>/teach-back/<lang>.toml``::

    source_version = 2              # translations only: the English module version
    [[questions]]
    id = "comes-loose"              # a stable slug, the same in every language
    text = "Your dressing comes loose. What do you do?"
    explanation = "Put on a new, clean dressing straight away."
    sources = ["R16", "R18", "R20"] # ids the module itself cites
    handler_only = true             # optional: asks the reader to handle a dressing
    choices = [
      { id = "new-dressing", text = "Put on a new, clean dressing straight away.", correct = true },
      ...
    ]

``handler_only`` marks a question whose right answer is to handle a dressing (put one on,
throw used ones away, touch one with gloves): a caregiver who must not handle dressings
(pregnant, may become pregnant, weak immune system) never gets it, so they are never taught
to do what they must not do (``handles_dressings=False``).

The English file is the source. A translation carries the same question ids, choice ids,
right answers and sources in the same order; the loader refuses anything else, as it refuses
an unknown key, a missing field, a question without exactly one right answer of three
choices, or a source the module does not cite. Everything is read once per process
(``functools.cache``); a broken file raises ``TeachBackError`` on first use, and the system
check lists every problem (``education.E002``).

Review state: the questions are part of their module's translation, not a second thing to
review. The clinician reviewing a translation sees its questions beside the English ones, and
the review holds for the page and its questions together (``education.review.review_digest``
adds ``text_digest`` to the page's digest), so editing either makes the translation
unreviewed again. A translation's questions are therefore reviewed exactly when the module's
translation is (``education.review.is_reviewed``): ``for_reader`` reports the same "not
clinically reviewed" mark as the page, and a clinic that shows only reviewed translations
gets the English questions with the English page. A translation made from an
older English version (``source_version`` below the module's ``version``) may no longer
match the English right answers, so readers get the English questions until it is updated:
a quiz must never mark a right answer wrong. Module versions are untouched: changing the
English meaning of a question means bumping the module's version, like any English change.
Answers are stored by question id with that version (``portal.models.TeachBackAnswer``), so
an id never changes meaning: a question with a new meaning gets a new id.
"""

import dataclasses
import functools
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from education.catalog import CONTENT_DIR, SLUG, SOURCE_LANGUAGE, Catalog, load_catalog

FOLDER = "teach-back"
MIN_QUESTIONS, MAX_QUESTIONS = 2, 3
CHOICES = 3
QUESTION_KEYS = frozenset({"id", "text", "explanation", "sources", "choices"})
OPTIONAL_KEYS = frozenset({"handler_only"})
CHOICE_KEYS = frozenset({"id", "text", "correct"})


class TeachBackError(Exception):
    """A teach-back file is malformed; the message lists every problem."""


@dataclass(frozen=True)
class Choice:
    id: str
    text: str
    correct: bool


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: list[Choice]
    explanation: str
    sources: list[str]

    @property
    def correct_choice(self) -> Choice:
        return next(choice for choice in self.choices if choice.correct)


@dataclass(frozen=True)
class QuestionFile:
    slug: str
    language: str
    source_version: int | None  # None for English, the source
    questions: tuple[Question, ...]
    handler_only: frozenset[str] = frozenset()  # ids of questions about handling a dressing


@dataclass(frozen=True)
class ReaderQuestions:
    """What the reader shows for one module: ``language`` is the questions' own language (for
    ``lang`` and ``dir``); ``not_reviewed`` asks for the page's "not clinically reviewed" mark."""

    language: str
    questions: list[Question]
    not_reviewed: bool


def questions(slug: str, language: str, *, handles_dressings: bool = True) -> list[Question]:
    """The module's questions in ``language``, or in English when that translation is missing
    or out of date; an empty list for a module without questions. A reader who must not handle
    dressings (``handles_dressings=False``) gets none of the questions about doing so."""
    files = load_teachback()
    found = files.get((slug, questions_language(slug, language)))
    if found is None:
        return []
    return [q for q in found.questions if handles_dressings or q.id not in found.handler_only]


def questions_language(slug: str, language: str) -> str:
    """The language ``questions(slug, language)`` answers in."""
    files = load_teachback()
    found = files.get((slug, language))
    module = load_catalog().get(slug)
    if found is None or module is None:
        return SOURCE_LANGUAGE
    if found.source_version is not None and found.source_version < module.version:
        return SOURCE_LANGUAGE
    return language


def text_digest(slug: str, language: str) -> str | None:
    """Fingerprint of the translated questions a reader of ``language`` meets, for the clinical
    review (``education.review.review_digest``); None when that reader gets English ones."""
    if language == SOURCE_LANGUAGE or questions_language(slug, language) != language:
        return None
    shown = [dataclasses.asdict(question) for question in questions(slug, language)]
    return hashlib.sha256(json.dumps(shown, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def for_reader(
    slug: str, language: str, clinic: Any = None, *, handles_dressings: bool = True
) -> ReaderQuestions:
    """The questions as a reader of ``clinic`` (None: no clinic) meets them under the module
    page, following the page's review state the way ``education.views.module_detail`` does;
    ``handles_dressings=False`` for a caregiver who must not handle dressings."""
    from education import review  # the database side; the loader itself needs none

    module = load_catalog().get(slug)
    if module is None:
        return ReaderQuestions(SOURCE_LANGUAGE, [], False)
    document, _fell_back = module.document(language)
    reviewed = review.is_reviewed(module, document, clinic)
    if not reviewed and review.reviewed_only(clinic):
        document = module.documents[SOURCE_LANGUAGE]
    shown = questions_language(slug, document.language)
    return ReaderQuestions(
        language=shown,
        questions=questions(slug, shown, handles_dressings=handles_dressings),
        not_reviewed=shown != SOURCE_LANGUAGE and not reviewed,
    )


@functools.cache
def load_teachback() -> dict[tuple[str, str], QuestionFile]:
    """Every teach-back file, keyed by (slug, language). Raises TeachBackError on any problem."""
    files, problems = scan_teachback(CONTENT_DIR, load_catalog())
    if problems:
        raise TeachBackError("Teach-back questions have problems:\n" + "\n".join(f"- {p}" for p in problems))
    return files


def scan_teachback(root: Path, catalog: Catalog) -> tuple[dict[tuple[str, str], QuestionFile], list[str]]:
    """Read every ``<slug>/teach-back/<lang>.toml`` under ``root``; return the valid files and a
    list of every problem found."""
    languages = {code for code, _name in settings.LANGUAGES}
    files: dict[tuple[str, str], QuestionFile] = {}
    problems: list[str] = []
    for folder in sorted(root.glob(f"*/{FOLDER}")):
        slug = folder.parent.name
        module = catalog.get(slug) if SLUG.match(slug) else None
        if module is None:
            problems.append(f"{slug}/{FOLDER}: not a module in the catalog")
            continue
        source = module.documents[SOURCE_LANGUAGE]
        for path in sorted(folder.iterdir()):
            name = f"{slug}/{FOLDER}/{path.name}"
            language = path.name.removesuffix(".toml")
            if path.suffix != ".toml" or language not in languages:
                problems.append(f"{name}: expected <language>.toml with a language in settings.LANGUAGES")
                continue
            before = len(problems)
            parsed = _read_file(path, name, language, set(source.cited), problems)
            if parsed is not None and len(problems) == before:
                files[(slug, language)] = parsed
        english = files.get((slug, SOURCE_LANGUAGE))
        if not (folder / f"{SOURCE_LANGUAGE}.toml").exists():
            problems.append(
                f"{slug}/{FOLDER}: has no {SOURCE_LANGUAGE}.toml, the source of every translation"
            )
        for (file_slug, language), parsed in list(files.items()):
            if file_slug != slug or language == SOURCE_LANGUAGE or english is None:
                continue
            name = f"{slug}/{FOLDER}/{language}.toml"
            version = parsed.source_version or 0
            if version > module.version:
                problems.append(
                    f"{name}: source_version {version} is newer than the module ({module.version})"
                )
            elif version == module.version and _shape(parsed) != _shape(english):
                problems.append(
                    f"{name}: question ids, choice ids, right answers and sources must match "
                    f"{SOURCE_LANGUAGE}.toml, in the same order"
                )
    return files, problems


def _shape(parsed: QuestionFile) -> list[tuple[str, list[tuple[str, bool]], list[str], bool]]:
    """What every language shares: ids, right answers, sources and handler-only marks."""
    return [
        (q.id, [(c.id, c.correct) for c in q.choices], list(q.sources), q.id in parsed.handler_only)
        for q in parsed.questions
    ]


def _read_file(
    path: Path, name: str, language: str, cited: set[str], problems: list[str]
) -> QuestionFile | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{name}: cannot be read ({exc})")
        return None
    allowed = {"questions"} if language == SOURCE_LANGUAGE else {"questions", "source_version"}
    if unknown := set(data) - allowed:
        problems.append(f"{name}: unknown keys {sorted(unknown)} (allowed: {sorted(allowed)})")
    source_version = data.get("source_version")
    if language != SOURCE_LANGUAGE and (type(source_version) is not int or source_version < 1):
        problems.append(
            f"{name}: a translation needs source_version, the English module version (a whole number)"
        )
        return None
    entries = data.get("questions")
    if not isinstance(entries, list) or not MIN_QUESTIONS <= len(entries) <= MAX_QUESTIONS:
        problems.append(f"{name}: needs {MIN_QUESTIONS} to {MAX_QUESTIONS} [[questions]]")
        return None
    parsed = []
    handler_only = set()
    for index, entry in enumerate(entries, 1):
        question = _read_question(entry, f"{name} question {index}", cited, problems)
        if question is not None:
            parsed.append(question)
            if entry.get("handler_only"):
                handler_only.add(question.id)
    ids = [q.id for q in parsed]
    if len(set(ids)) != len(ids):
        problems.append(f"{name}: question ids must be unique")
    return QuestionFile(
        slug=path.parent.parent.name,
        language=language,
        source_version=source_version if language != SOURCE_LANGUAGE else None,
        questions=tuple(parsed),
        handler_only=frozenset(handler_only),
    )


def _read_question(entry: Any, where: str, cited: set[str], problems: list[str]) -> Question | None:
    if not isinstance(entry, dict) or not QUESTION_KEYS <= set(entry) <= QUESTION_KEYS | OPTIONAL_KEYS:
        keys = sorted(entry) if isinstance(entry, dict) else entry
        problems.append(
            f"{where}: needs the keys {sorted(QUESTION_KEYS)} and may have {sorted(OPTIONAL_KEYS)}, has {keys}"
        )
        return None
    if not isinstance(entry.get("handler_only", False), bool):
        problems.append(f"{where}: handler_only must be true or false")
    qid, text, explanation, sources = entry["id"], entry["text"], entry["explanation"], entry["sources"]
    where = f"{where} ({qid})"
    before = len(problems)
    if not _is_slug(qid):
        problems.append(f"{where}: id must be lowercase words joined by hyphens")
    if not _is_text(text) or not _is_text(explanation):
        problems.append(f"{where}: text and explanation must be non-empty text")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        problems.append(f'{where}: sources must be a non-empty list of reference ids such as "R16"')
    elif uncited := [s for s in sources if s not in cited]:
        problems.append(f"{where}: sources {uncited} are not cited by the module's English page")
    elif len(set(sources)) != len(sources):
        problems.append(f"{where}: a source is listed twice")
    choices = _read_choices(entry["choices"], where, problems)
    if len(problems) != before or choices is None:
        return None
    return Question(
        id=qid, text=text.strip(), choices=choices, explanation=explanation.strip(), sources=list(sources)
    )


def _read_choices(entries: Any, where: str, problems: list[str]) -> list[Choice] | None:
    if not isinstance(entries, list) or len(entries) != CHOICES:
        problems.append(f"{where}: needs exactly {CHOICES} choices")
        return None
    choices = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != CHOICE_KEYS:
            problems.append(f"{where}: each choice needs exactly the keys {sorted(CHOICE_KEYS)}")
            return None
        cid, text, correct = entry["id"], entry["text"], entry["correct"]
        if not _is_slug(cid) or not _is_text(text) or not isinstance(correct, bool):
            problems.append(
                f"{where}: choice {cid!r} needs a slug id, non-empty text and correct = true/false"
            )
            return None
        choices.append(Choice(id=cid, text=text.strip(), correct=correct))
    if len({c.id for c in choices}) != CHOICES:
        problems.append(f"{where}: choice ids must be unique")
        return None
    if sum(c.correct for c in choices) != 1:
        problems.append(f"{where}: exactly one choice must be correct")
        return None
    return choices


def _is_slug(value: Any) -> bool:
    return isinstance(value, str) and bool(SLUG.match(value))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
