"""Reading-grade measurement for module documents.

Module bodies are HTML fragments with source markers such as ``[R16, R19]``.
What a reader reads is the visible text, so markers, markup and drawings are
removed first, and every heading, list item and paragraph is closed as a
sentence: a list of short steps is easy to read and must score that way.
"""

import html
import re

import textstat

SOURCE_MARKER = re.compile(r"\[(R[\w-]+(?:\s*,\s*R[\w-]+)*)\]")
_BLOCK_END = re.compile(r"</(h[1-6]|li|p|figcaption|dt|dd|td|th|caption)>", re.I)
_DRAWING = re.compile(r"<(svg|figure)\b.*?</\1>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def visible_text(fragment: str) -> str:
    text = _DRAWING.sub(" ", fragment)
    text = SOURCE_MARKER.sub("", text)
    text = _BLOCK_END.sub(". ", text)
    text = html.unescape(_TAG.sub(" ", text))
    # "Call now.." and ":." come from closing a block that already ended a sentence.
    text = re.sub(r"([.!?:])\s*\.", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def reading_grade(fragment: str) -> float:
    """Flesch-Kincaid grade of the English text a reader sees."""
    return float(textstat.flesch_kincaid_grade(visible_text(fragment)))
