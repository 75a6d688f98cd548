from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from education.export import ExportError, export_site


class Command(BaseCommand):
    help = "Write the public guide, every language, as static files that work from any folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("outdir", type=Path, help="Folder to write to (created if missing).")
        parser.add_argument(
            "--site-url", help="Where links to the live portal (signing in) point; default SITE_URL."
        )

    def handle(self, *args: Any, outdir: Path, site_url: str | None, **options: Any) -> None:
        try:
            files = export_site(outdir, site_url=site_url)
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {len(files)} files to {outdir}; open {outdir / 'index.html'}.")
