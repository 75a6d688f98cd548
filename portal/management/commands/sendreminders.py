import logging
import signal
import time
from collections import Counter
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from portal import outbox
from portal.reminders.clinics import replan_clinics
from portal.reminders.delivery import Sender

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Send waiting emails and due reminders on every channel, and re-plan clinics whose settings"
        " changed; loops until stopped (SIGTERM or Ctrl-C)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="One pass, then exit.")
        parser.add_argument("--limit", type=int, default=None, help="Reminders claimed per pass.")
        parser.add_argument("--idle", type=float, default=None, help="Seconds to sleep when nothing was due.")

    def handle(self, *args: Any, once: bool = False, limit: int | None = None, **options: Any) -> None:
        idle = options.get("idle") or settings.REMINDER_IDLE_SECONDS
        self.stopping = False
        if not once:
            # Finish the reminders in hand, then stop: a half-sent batch is safe (its claims
            # expire and another worker retries), but a clean stop needs no waiting.
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
            self.stdout.write("sendreminders: started")
        # One sender for the whole run: its thread pools send emails and pushes while the
        # next batches are claimed (a one-pass run tries every send of its batch now).
        sender = Sender(
            capacity=None if once else 2 * (settings.REMINDER_THREADS + settings.REMINDER_PUSHES_AT_ONCE)
        )
        while True:
            try:
                # Emails first: a sign-in code someone is waiting for must not queue behind a
                # large batch of reminders.
                done = outbox.send_due_emails()
                done += sender.step(limit=limit)
                # One short batch of a clinic-wide re-planning, between batches of reminders.
                done += replan_clinics()
                if once:
                    done += sender.close()
            except DatabaseError as error:
                # The database went away for a moment: wait and try again, do not die.
                if once:
                    raise
                logger.error("sendreminders: database error: %s", type(error).__name__)
                sender = self.restart(sender)
                done = Counter()
            busy = done["claimed"] or done["emails_claimed"] or done["replanned"] or done["replan_finished"]
            if busy:
                summary = ", ".join(f"{key} {value}" for key, value in sorted(done.items()) if value)
                self.stdout.write(f"sendreminders: {summary}")
            if once or self.stopping:
                break
            # Like a request boundary: drop connections that broke or outlived their age.
            close_old_connections()
            if not busy and not sender.flights:
                # Sleep in small steps so SIGTERM is honoured promptly, and wake up early
                # for a waiting email: someone may be looking at the sign-in page for a code.
                deadline = time.monotonic() + idle
                look_for_email = time.monotonic() + settings.EMAIL_POLL_SECONDS
                while not self.stopping and time.monotonic() < deadline:
                    time.sleep(0.1)
                    if time.monotonic() >= look_for_email:
                        if outbox.has_due_emails():
                            break
                        look_for_email = time.monotonic() + settings.EMAIL_POLL_SECONDS
            if self.stopping:
                break
        if not once:
            # Finish what is in flight: its outcomes are written, its batches closed.
            done = sender.close()
            if any(done.values()):
                summary = ", ".join(f"{key} {value}" for key, value in sorted(done.items()) if value)
                self.stdout.write(f"sendreminders: {summary}")
        self.stdout.write("sendreminders: stopped")

    def restart(self, sender: Sender) -> Sender:
        """After a database error: drop the batches in hand (their claims expire and are retried;
        sends already made are not recorded, so at most those repeat) and start afresh."""
        sender.shutdown(cancel=True)
        return Sender(capacity=sender.capacity)

    def stop(self, signum: int, frame: Any) -> None:
        self.stopping = True
