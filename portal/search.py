"""Search that ignores case and accents, the same on SQLite and PostgreSQL.

Neither database folds accents without extensions (PostgreSQL's unaccent is not immutable,
SQLite has nothing), so the text is folded in Python and stored beside the row
(``Patient.search_text``); a query is folded the same way and matched with ``contains``."""

import unicodedata

# Letters that Unicode does not decompose into a base letter and an accent.
SPECIAL = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"})


def fold(text: str) -> str:
    """Lowercase, without accents, spaces collapsed: "Núñez  Ærø" -> "nunez aero"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.translate(SPECIAL).split())
