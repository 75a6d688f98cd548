"""allauth behaviour for this product: invitation-only accounts, and clinic staff
who must sign in with a password (and then their authenticator app)."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from portal.queries import is_clinic_staff


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created from a clinic's or a patient's invitation only.
        return False

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        records = get_authentication_records(request)
        if records and records[-1].get("method") == "code" and is_clinic_staff(user):
            from allauth.account.internal.stagekit import clear_login

            clear_login(request)
            messages.error(request, _("Clinic staff sign in with a password and an authenticator code."))
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)
