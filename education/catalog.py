"""The education modules, read once from ``education/content/`` into frozen dataclasses.

One folder per module: ``module.toml`` (order, audience, version) and one
``<lang>.html`` per language. A document starts with a TOML front matter in an
HTML comment (title, summary, and ``source_version`` for translations), then
``<section id=...><h2>...`` fragments whose clinical sentences end in source
markers such as ``[R16, R19]``; ``references.toml`` maps those ids to sources.
``handler_only`` in ``module.toml`` lists the sections (by id, the same in every
language) meant only for people who handle dressings: they are left out for a
caregiver who must not (``Document.without``, called by portal.caregivers).

``scan_content()`` collects every problem instead of stopping at the first, so
the system check can list them all; ``load_catalog()`` refuses to serve content
with any problem.
"""

import dataclasses
import functools
import hashlib
import html
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

CONTENT_DIR = Path(__file__).resolve().parent / "content"
SOURCE_LANGUAGE = "en"
AUDIENCES = ("patient", "caregiver", "both")
# The reminder and guide URLs use the slug, so it is checked before any file is opened.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Page slugs the guide uses for itself.
RESERVED_SLUGS = frozenset({"offline"})
# Where when-to-call shows the reader's clinic numbers.
PHONES_PLACEHOLDER = '<div class="clinic-phones"></div>'
# Beside "get emergency care": the clinic's emergency number, or "your local emergency number".
EMERGENCY_PLACEHOLDER = '<p class="emergency-number"></p>'

FRONT_MATTER = re.compile(r"\A\s*<!--(.*?)-->", re.S)
SECTION = re.compile(r"<section\b([^>]*)>(.*?)</section>", re.S | re.I)
SECTION_ID = re.compile(r"""\bid\s*=\s*["']([^"']*)["']""")
HEADING = re.compile(r"<h2\b[^>]*>(.*?)</h2>", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
# Same shape as education.readability.SOURCE_MARKER; anything else in brackets
# that starts with R is a typo and is reported, never shown to a reader.
MARKER = re.compile(r"\s*\[(R[\w-]+(?:\s*,\s*R[\w-]+)*)\]")
MARKER_LIKE = re.compile(r"\[\s*R[^\]]*\]")
SECTION_ID_SHAPE = re.compile(r"^[a-z][a-z0-9-]*$")


class ContentError(Exception):
    """The content folder has problems; the message lists every one."""


@dataclass(frozen=True)
class Reference:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class Document:
    language: str
    title: str
    summary: str
    body: str  # the reviewed HTML fragment, markers included
    source_version: int | None  # the English version a translation was made from
    sections: tuple[Section, ...]
    cited: tuple[str, ...]  # reference ids in order of first citation

    @property
    def has_phones(self) -> bool:
        return PHONES_PLACEHOLDER in self.body

    @property
    def emergency_numbers(self) -> int:
        return self.body.count(EMERGENCY_PLACEHOLDER)

    def without(self, section_ids: Iterable[str]) -> "Document":
        """The document with these sections left out: body, table of contents and sources."""
        hidden = frozenset(section_ids)
        if not hidden.intersection(s.id for s in self.sections):
            return self

        def keep(match: re.Match[str]) -> str:
            id_match = SECTION_ID.search(match.group(1))
            return "" if id_match and id_match.group(1) in hidden else match.group(0)

        body = SECTION.sub(keep, self.body)
        return dataclasses.replace(
            self,
            body=body,
            sections=tuple(s for s in self.sections if s.id not in hidden),
            cited=tuple(ref_id for ref_id in cited_in(body) if ref_id in self.cited),
        )

    @property
    def digest(self) -> str:
        """Fingerprint of what a reader sees: a clinical review holds for this exact text."""
        text = "\0".join((self.title, self.summary, self.body))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Module:
    slug: str
    order: int
    audience: str
    version: int
    documents: dict[str, Document] = field(hash=False)
    # Sections only for people who handle dressings (dressing-change steps).
    handler_only: frozenset[str] = frozenset()

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.documents)

    def document(self, language: str) -> tuple[Document, bool]:
        """The document in ``language``, or the English one; the flag says it fell back."""
        if language in self.documents:
            return self.documents[language], False
        return self.documents[SOURCE_LANGUAGE], True

    def is_out_of_date(self, document: Document) -> bool:
        """A translation made from an older English version than the current one."""
        return document.source_version is not None and document.source_version < self.version


@dataclass(frozen=True)
class Catalog:
    modules: tuple[Module, ...]  # in reading order
    references: dict[str, Reference] = field(hash=False)

    def get(self, slug: str) -> Module | None:
        if not SLUG.match(slug):
            return None
        return next((module for module in self.modules if module.slug == slug), None)


@functools.cache
def load_catalog() -> Catalog:
    """Every module, loaded once per process. Raises ContentError on any problem."""
    catalog, problems = scan_content(CONTENT_DIR)
    if problems:
        raise ContentError("Education content has problems:\n" + "\n".join(f"- {p}" for p in problems))
    return catalog


def scan_content(root: Path) -> tuple[Catalog, list[str]]:
    """Read ``root``; return what is valid and a list of every problem found."""
    problems: list[str] = []
    references = _read_references(root / "references.toml", problems)
    languages = {code for code, _name in settings.LANGUAGES}
    modules = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if not SLUG.match(folder.name) or folder.name in RESERVED_SLUGS:
            problems.append(f"{folder.name}: not a valid module slug (lowercase words joined by hyphens)")
            continue
        module = _read_module(folder, references, languages, problems)
        if module is not None:
            modules.append(module)
    modules.sort(key=lambda m: (m.order, m.slug))
    return Catalog(modules=tuple(modules), references=references), problems


def _read_references(path: Path, problems: list[str]) -> dict[str, Reference]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path.name}: cannot be read ({exc})")
        return {}
    references = {}
    for ref_id, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
            problems.append(f"{path.name}: [{ref_id}] needs a title")
            continue
        references[ref_id] = Reference(id=ref_id, title=entry["title"], url=str(entry.get("url", "")))
    return references


def _read_module(
    folder: Path, references: dict[str, Reference], languages: set[str], problems: list[str]
) -> Module | None:
    slug = folder.name
    try:
        meta = tomllib.loads((folder / "module.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{slug}/module.toml: cannot be read ({exc})")
        return None
    order, audience, version = meta.get("order"), meta.get("audience"), meta.get("version")
    if not isinstance(order, int) or not isinstance(version, int) or audience not in AUDIENCES:
        problems.append(
            f"{slug}/module.toml: needs whole-number order and version, and audience one of {AUDIENCES}"
        )
        return None

    documents = {}
    for path in sorted(folder.glob("*.html")):
        language = path.stem
        if language not in languages:
            problems.append(f"{slug}/{path.name}: {language!r} is not a language in settings.LANGUAGES")
            continue
        before = len(problems)
        document = _read_document(path, language, references, problems)
        if document is not None and len(problems) == before:
            documents[language] = document

    source = documents.get(SOURCE_LANGUAGE)
    if not (folder / f"{SOURCE_LANGUAGE}.html").exists():
        problems.append(f"{slug}: has no {SOURCE_LANGUAGE}.html, the source every translation comes from")
    if source is None:
        return None
    source_ids = [s.id for s in source.sections]
    for language, document in documents.items():
        name = f"{slug}/{language}.html"
        if document.source_version is not None and document.source_version > version:
            problems.append(f"{name}: source_version {document.source_version} is newer than the module")
        if document.source_version is not None and document.source_version < version:
            # Made from an older English page, whose sections may differ; readers see
            # it marked out of date until it is translated again.
            continue
        if [s.id for s in document.sections] != source_ids:
            problems.append(f"{name}: sections differ from {SOURCE_LANGUAGE}.html (same ids, same order)")
        if document.has_phones != source.has_phones:
            problems.append(f"{name}: the clinic phone placeholder must match {SOURCE_LANGUAGE}.html")
        if document.emergency_numbers != source.emergency_numbers:
            problems.append(f"{name}: the emergency number placeholders must match {SOURCE_LANGUAGE}.html")
    handler_only = meta.get("handler_only", [])
    if not isinstance(handler_only, list) or not all(isinstance(i, str) for i in handler_only):
        problems.append(f"{slug}/module.toml: handler_only must be a list of section ids")
        handler_only = []
    for section_id in handler_only:
        if section_id not in source_ids:
            problems.append(
                f"{slug}/module.toml: handler_only names {section_id!r}, not a section of en.html"
            )
    if handler_only:
        # The marks are by section id: a translation with other ids (even one out of date)
        # could show dressing-change steps to someone who must not handle dressings.
        for language, document in documents.items():
            if [s.id for s in document.sections] != source_ids:
                problems.append(f"{slug}/{language}.html: handler_only needs the same section ids as en.html")
    return Module(
        slug=slug,
        order=order,
        audience=audience,
        version=version,
        documents=documents,
        handler_only=frozenset(handler_only),
    )


def _read_document(
    path: Path, language: str, references: dict[str, Reference], problems: list[str]
) -> Document | None:
    name = f"{path.parent.name}/{path.name}"
    text = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(text)
    if not match:
        problems.append(f"{name}: must start with a front matter comment holding title and summary")
        return None
    try:
        front = tomllib.loads(match.group(1))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{name}: front matter is not valid TOML ({exc})")
        return None
    title, summary = front.get("title"), front.get("summary")
    if not isinstance(title, str) or not title.strip() or not isinstance(summary, str):
        problems.append(f"{name}: front matter needs a title and a summary")
        return None
    source_version = front.get("source_version")
    if language == SOURCE_LANGUAGE:
        source_version = None
    elif not isinstance(source_version, int):
        problems.append(f"{name}: a translation's front matter needs source_version (a whole number)")
        return None

    body = text[match.end() :].strip()
    sections = []
    for attributes, inner in SECTION.findall(body):
        id_match = SECTION_ID.search(attributes)
        section_id = id_match.group(1) if id_match else ""
        where = f"{name} section {section_id or '(no id)'}"
        if not SECTION_ID_SHAPE.match(section_id) or section_id == "sources" or section_id.startswith("src-"):
            problems.append(f"{where}: needs an id of lowercase words joined by hyphens")
        if section_id in {s.id for s in sections}:
            problems.append(f"{where}: the id is used twice")
        heading = HEADING.search(inner)
        if not heading:
            problems.append(f"{where}: needs an <h2> heading")
        if not MARKER.search(inner):
            problems.append(f"{where}: cites no source; add a marker such as [R16]")
        title_text = html.unescape(TAG.sub("", heading.group(1))).strip() if heading else ""
        sections.append(Section(id=section_id, title=title_text))
    if not sections:
        problems.append(f"{name}: has no <section>")

    cited = cited_in(body)
    for ref_id in cited:
        if ref_id not in references:
            problems.append(f"{name}: cites [{ref_id}], which references.toml does not know")
    for stray in MARKER_LIKE.findall(MARKER.sub("", body)):
        problems.append(f"{name}: {stray} is not a valid source marker (write [R1] or [R1, R2])")

    return Document(
        language=language,
        title=title.strip(),
        summary=summary.strip(),
        body=body,
        source_version=source_version,
        sections=tuple(sections),
        cited=tuple(ref_id for ref_id in cited if ref_id in references),
    )


def cited_in(fragment: str) -> list[str]:
    """Reference ids cited in ``fragment``, in order of first citation."""
    cited: list[str] = []
    for group in MARKER.findall(fragment):
        for ref_id in (part.strip() for part in group.split(",")):
            if ref_id not in cited:
                cited.append(ref_id)
    return cited


def strip_markers(fragment: str) -> str:
    """The text a reader sees: each section lists its sources once instead (views.module_detail)."""
    return MARKER.sub("", fragment)


def isolate_markers(body: str) -> str:
    """Markers kept as written, for the clinician comparing a translation with the English.

    Each one is an isolated left-to-right run, so "[R3, R16]" keeps its order in Arabic."""

    def isolated(match: re.Match[str]) -> str:
        return f' <bdi class="src" dir="ltr">[{html.escape(match.group(1))}]</bdi>'

    return MARKER.sub(isolated, body)
