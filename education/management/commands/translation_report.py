from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from education.review import Status, list_translation_states


class Command(BaseCommand):
    help = "List every translation that is missing, out of date or not clinically reviewed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="List reviewed translations too.")
        parser.add_argument(
            "--fail-on-stale",
            action="store_true",
            help="Exit with status 1 when a translation is out of date.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        states = list_translation_states()
        stale = [state for state in states if state.status == Status.OUT_OF_DATE]
        for state in states:
            if state.status == Status.REVIEWED and not options["all"]:
                continue
            line = f"{state.module.slug:<26} {state.language:<8} {state.status.value}"
            if state.status == Status.OUT_OF_DATE and state.document:
                line += f" (made from English v{state.document.source_version}, English is v{state.module.version})"
            if state.review:
                line += f" (by {state.review.reviewer_email}, {state.review.reviewed_at:%Y-%m-%d})"
            self.stdout.write(line)
        counts = {status: sum(state.status == status for state in states) for status in Status}
        self.stdout.write(
            ", ".join(f"{count} {status.value.replace('_', ' ')}" for status, count in counts.items())
        )
        if stale and options["fail_on_stale"]:
            raise SystemExit(1)
