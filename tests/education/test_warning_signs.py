"""One action per warning sign, the same in every English module and reminder text.

The table is written from shared/clinical/tvec-facts.md section 6 and issue 12: trouble
breathing and the signs of an allergic reaction mean emergency care; the other urgent signs
mean calling the care team now; a site that only weeps or oozes stays covered longer (the
label), while a red, swollen or warm site means a call whether or not it oozes; fluid in an
eye means calling the care team (the facts have no home eye rinse); a wet dressing and a
worrying lump mean asking the care team. A close contact with signs of herpes calls their
own health-care provider.

A "unit" is what a reader takes as one instruction: a paragraph, a list item together with
the paragraph that introduces its list (ending in ":"), or one line of a reminder with its
introducing line; the section's heading adds its signs to every unit below it."""

import html
import re
from datetime import date

import pytest

from education.catalog import CONTENT_DIR, SECTION, scan_content
from portal.models import Reminder
from portal.reminders import render_reminder
from portal.reminders.planning import Rule

CATALOG = scan_content(CONTENT_DIR)[0]

EMERGENCY = "get emergency care"
CALL_NOW = "call your care team now"
CALL = "call your care team"
ASK = "ask your care team"
OWN_PROVIDER = "call their own health-care provider"
KEEP_COVERED = "keep it covered longer"

ACTIONS = {
    EMERGENCY: r"emergency care",
    CALL_NOW: r"call (?:your|the) care team now",
    CALL: r"call (?:your|the) care team(?! now)",
    ASK: r"ask your care team",
    OWN_PROVIDER: r"own health-care provider|own provider",
    KEEP_COVERED: r"covered (?:for )?longer|longer if|keep it covered",
}
INFECTION = r"red, swollen or warm|skin changes|not heal\b"
SIGNS = [
    (r"trouble breathing", {EMERGENCY}),
    (r"\bhives\b", {EMERGENCY}),
    (r"swelling of the face", {EMERGENCY}),
    (r"allergic reaction", {EMERGENCY}),
    (r"blister|cold sores?|sores that look like|sores like", {CALL_NOW, OWN_PROVIDER}),
    (r"eye pain|blurred vision|bright light|sensitive to light", {CALL_NOW}),
    (r"confusion|extremely sleepy|extreme drowsiness|weak arms|weakness in the arms", {CALL_NOW}),
    (INFECTION, {CALL_NOW}),
    (r"psoriasis|patches of skin|vitiligo", {CALL_NOW}),
    (r"fluid get in", {CALL}),
    (r"\bwet\b", {ASK}),
    (r"\blump\b", {ASK}),
]
WEEPING = r"\bweep|\booz"


def actions_in(text: str) -> set[str]:
    return {action for action, pattern in ACTIONS.items() if re.search(pattern, text)}


def problems_in(unit: str, heading: str = "") -> list[str]:
    """Every way ``unit`` breaks the table; [] when it keeps to it."""
    text = unit.lower()
    actions = actions_in(text)
    problems = []
    for sign, allowed in SIGNS:
        if re.search(sign, f"{heading.lower()} {text}") and actions - allowed:
            problems.append(f"{sign!r} with {sorted(actions - allowed)}: {unit}")
    if re.search(WEEPING, text):
        infection = re.search(INFECTION, text)
        if actions - {KEEP_COVERED} and not infection:
            problems.append(f"weeping alone with {sorted(actions - {KEEP_COVERED})}: {unit}")
        if CALL_NOW in actions and infection and "whether or not" not in text:
            problems.append(f"oozing is not a sign on its own; say 'whether or not it oozes': {unit}")
    return problems


def visible(fragment: str) -> str:
    text = re.sub(r"\s*\[R[^\]]*\]", "", fragment)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def section_units(inner: str) -> list[str]:
    units, introduction = [], ""
    for match in re.finditer(r"<(p|ul|ol|figcaption)\b[^>]*>(.*?)</\1>", inner, re.S):
        tag, content = match.groups()
        if tag in ("ul", "ol"):
            items = re.findall(r"<li\b[^>]*>(.*?)</li>", content, re.S)
            units += [f"{introduction} {visible(item)}".strip() for item in items]
            introduction = ""
        else:
            units.append(visible(content))
            introduction = units[-1] if units[-1].endswith(":") else ""
    return units


def module_problems(body: str) -> list[str]:
    problems = []
    for _attributes, inner in SECTION.findall(body):
        heading = visible(re.search(r"<h2\b[^>]*>(.*?)</h2>", inner, re.S).group(1))
        for unit in section_units(inner):
            problems += problems_in(unit, heading)
    return problems


def reminder_problems(text: str) -> list[str]:
    problems, introduction = [], ""
    for line in filter(None, (line.strip() for line in text.splitlines())):
        if line.startswith("- "):
            problems += problems_in(f"{introduction} {line[2:]}")
        else:
            problems += problems_in(line)
            introduction = line if line.endswith(":") else ""
    return problems


@pytest.mark.parametrize("module", [pytest.param(m, id=m.slug) for m in CATALOG.modules])
def test_every_sign_in_a_module_has_its_one_action(module) -> None:
    assert module_problems(module.documents["en"].body) == []


@pytest.mark.parametrize("rule", list(Rule))
def test_every_sign_in_a_reminder_has_the_same_action(patient, make_visit, rule: Rule) -> None:
    visit = make_visit(patient, date(2026, 3, 10))
    reminder = Reminder(recipient=patient.user, patient=patient, visit=visit, rule=rule, audience="patient")
    assert reminder_problems(render_reminder(reminder).body) == []


def test_the_check_finds_what_the_clinician_found() -> None:
    """The sentences issue 12 quotes from the version 1 modules, each caught."""
    when_to_call = """<section id="a"><h2>Injection site or breathing problems</h2>
      <p>Call your care team now if an injection site: [R4]</p>
      <ul><li>Is red, or the redness spreads. [R4]</li><li>Oozes fluid. [R4]</li></ul>
      <p>Also call your care team now if you have trouble breathing. [R32, R21]</p></section>"""
    found = module_problems(when_to_call)
    assert len(found) == 2
    assert "weeping alone" in found[0] and "Oozes fluid" in found[0]
    assert "'trouble breathing' with ['call your care team now']" in found[1]
    review = "If a site is still oozing, call your care team now.\nIf it is still oozing, keep it covered."
    assert len(reminder_problems(review)) == 1
    sores = '<section id="b"><h2>If you get sores like cold sores</h2><p>Ask your care team.</p></section>'
    assert len(module_problems(sores)) == 1
