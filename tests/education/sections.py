"""Reading a rendered guide page the way a reader meets it, one section at a time."""

from html.parser import HTMLParser


class SectionCounter(HTMLParser):
    """What a reader meets in each section: "Sources" links, and links outside them."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, list[str]]] = {}
        self.current: dict[str, list[str]] | None = None
        self.details_lang: list[tuple[str | None, str | None]] = []
        self.depth = 0  # inside a <details>
        self.reading_id = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "section" and attributes.get("id"):
            self.current = {"summaries": [], "links": [], "sources": [], "listed": []}
            self.sections[attributes["id"] or ""] = self.current
        if self.current is None:
            return
        if tag == "details":
            self.depth += 1
        elif tag == "summary":
            self.current["summaries"].append(tag)
        elif tag == "ul" and self.depth:
            self.details_lang.append((attributes.get("lang"), attributes.get("dir")))
        elif tag == "a":
            (self.current["sources"] if self.depth else self.current["links"]).append(
                attributes["href"] or ""
            )
        elif tag == "bdi" and self.depth:
            self.reading_id = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self.depth:  # the page's own menus are outside every section
            self.depth -= 1
        elif tag == "section":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.reading_id and self.current is not None:
            self.current["listed"].append(data.strip())
            self.reading_id = False


def counted(page: str) -> SectionCounter:
    counter = SectionCounter()
    counter.feed(page)
    return counter
