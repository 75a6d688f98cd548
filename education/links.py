"""Links from the portal's pages into the guide."""

from typing import Any
from uuid import UUID

from django.urls import reverse
from django.utils import translation

from education.catalog import load_catalog

READERS = {
    "patient": ("patient", "both"),
    "caregiver": ("caregiver", "both"),
    "care team": ("patient", "caregiver", "both"),
}


def guide_links(*, reader: str, language: str, printed_for: UUID | None = None) -> list[dict[str, Any]]:
    """The modules written for a reader, in reading order, as title and URL in ``language``.

    ``printed_for`` adds the patient's code, so the page a clinician prints carries
    that patient's clinic numbers."""
    links = []
    with translation.override(language):
        for module in load_catalog().modules:
            if module.audience not in READERS[reader]:
                continue
            document, _fell_back = module.document(language)
            url = reverse("education:module-detail", args=[module.slug])
            links.append(
                {"title": document.title, "url": url + (f"?for={printed_for}" if printed_for else "")}
            )
    return links
