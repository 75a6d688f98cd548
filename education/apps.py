from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.autoreload import autoreload_started


class EducationConfig(AppConfig):
    name = "education"
    verbose_name = "Education"

    def ready(self) -> None:
        checks.register(check_content, checks.Tags.translation)
        # The catalog is read once per process: runserver restarts when a document changes.
        autoreload_started.connect(watch_content)
        # A change to the clinical reviews changes public guide pages (education/pagecache.py).
        from django.db.models.signals import post_delete, post_save

        from education.models import TranslationReview
        from education.pagecache import bump_stamp_on_commit

        post_save.connect(bump_stamp_on_commit, sender=TranslationReview, dispatch_uid="guide-stamp-save")
        post_delete.connect(bump_stamp_on_commit, sender=TranslationReview, dispatch_uid="guide-stamp-delete")


def watch_content(sender: Any, **kwargs: Any) -> None:
    from education.catalog import CONTENT_DIR

    sender.watch_dir(CONTENT_DIR, "**/*")


def check_content(
    app_configs: Any = None, content_dir: Path | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Invalid content is an error; a module without a document in one of
    settings.LANGUAGES is a warning, so translation gaps show up in CI, not in clinic."""
    from education.catalog import CONTENT_DIR, scan_content
    from education.teachback import scan_teachback

    catalog, problems = scan_content(content_dir or CONTENT_DIR)
    messages: list[checks.CheckMessage] = [
        checks.Error(problem, hint="Fix the file in education/content/.", id="education.E001")
        for problem in problems
    ]
    messages += [
        checks.Error(problem, hint="Fix the teach-back file in education/content/.", id="education.E002")
        for problem in scan_teachback(content_dir or CONTENT_DIR, catalog)[1]
    ]
    codes = [code for code, _name in settings.LANGUAGES]
    for module in catalog.modules:
        if missing := [code for code in codes if code not in module.languages]:
            messages.append(
                checks.Warning(
                    f"Module {module.slug!r} has no document in {', '.join(missing)}; readers get English.",
                    hint=f"Add education/content/{module.slug}/<language>.html for each.",
                    id="education.W001",
                )
            )
    return messages
