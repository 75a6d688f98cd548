from typing import Any

from django.core.management.base import BaseCommand

from portal.demo import DEMO_TOTP_SECRET, seed_demo


class Command(BaseCommand):
    help = "Create the demo clinic, staff, patient and caregiver (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        logins = seed_demo()
        self.stdout.write("Demo logins (http://127.0.0.1:8000/accounts/login/):")
        for login in logins:
            self.stdout.write(f"  {login.role:<10} {login.email:<26} password: {login.password}")
            if login.recovery_codes:
                self.stdout.write(f"             recovery codes: {' '.join(login.recovery_codes[:3])} …")
        self.stdout.write(
            f"Staff also need an authenticator code: add the secret {DEMO_TOTP_SECRET} to an "
            "authenticator app, or use a recovery code above."
        )
        self.stdout.write(
            "Patients and caregivers may also sign in with an emailed code; it prints in this terminal."
        )
