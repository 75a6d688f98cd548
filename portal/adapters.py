"""allauth behaviour for this product: invitation-only accounts, clinic staff who
sign in with a password and then their authenticator app, and every email written to
the outbox (portal/outbox.py) so a mail server that is down never fails a request."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.sites.shortcuts import get_current_site
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from portal import emails, outbox
from portal.middleware import passed_mfa
from portal.models import User
from portal.queries import must_use_mfa


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Accounts are created from a clinic's or a patient's invitation only.
        return False

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        # Staff start with their password; an emailed code or a passkey alone is refused
        # (the authenticator step follows the password).
        methods = {record.get("method") for record in get_authentication_records(request, user)}
        if must_use_mfa(user) and "password" not in methods:
            # Forget the half-done sign-in, so no later step can complete it.
            request.session.flush()
            messages.error(request, _("Clinic staff sign in with a password and an authenticator code."))
            return redirect("account_login")
        return super().pre_login(request, user, **kwargs)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        # The code page says "We sent a code to …" in its own words and leaves this note out
        # by its tag (account/confirm_login_code.html); any other page still shows it.
        if message_template == "account/messages/login_code_sent.txt":
            extra_tags = f"{extra_tags} code-sent".strip()
        super().add_message(request, level, message_template, message_context, extra_tags, message)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Patients and caregivers land on today's care; staff on the clinic (LOGIN_REDIRECT_URL).
        if request.user.is_authenticated and not must_use_mfa(request.user):
            return reverse("care-home")
        return super().get_login_redirect_url(request)

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        # A staff session that has not used the authenticator proves itself with it, not with
        # the password (which would only lead back to this question).
        methods = super().get_reauthentication_methods(user)
        request = self.request
        for method in methods:
            if method["id"] == "mfa_reauthenticate:webauthn":
                method["description"] = _("Use a passkey")  # allauth says "security key"
        if request is not None and must_use_mfa(user) and not passed_mfa(request):
            return [method for method in methods if method["id"] != "reauthenticate"] or methods
        return methods

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Rendered now, in the reader's language (their account's, else the page's); sent by
        the worker from the outbox."""
        from allauth.account import app_settings

        request = self.request
        ctx = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
            "code_minutes": max(1, app_settings.LOGIN_BY_CODE_TIMEOUT // 60),
            **context,
        }
        reader = User.objects.filter(email__iexact=email).values_list("language", flat=True).first()
        with translation.override(reader or translation.get_language()):
            message = self.render_mail(template_prefix, email, ctx)
            message.from_email = emails.sender()
        outbox.enqueue(
            message, kind=template_prefix.rsplit("/", 1)[-1], expires_in=outbox_lifetime(template_prefix)
        )


class MFAAdapter(DefaultMFAAdapter):
    def generate_authenticator_name(self, user: Any, type: Authenticator.Type) -> str:
        # The name a new passkey gets unless its owner gives one: allauth's "Master key" and
        # "Backup key" are its words for what the app calls passkeys (mfa/webauthn/*.html).
        if type != Authenticator.Type.WEBAUTHN:
            return super().generate_authenticator_name(user, type)
        count = Authenticator.objects.filter(user_id=user.pk, type=type).count()
        return _("Passkey %(number)s") % {"number": count + 1}


def outbox_lifetime(template_prefix: str) -> int | None:
    """Seconds after which an unsent email is no use: a sign-in code expires."""
    from allauth.account import app_settings

    if template_prefix.endswith("login_code"):
        return app_settings.LOGIN_BY_CODE_TIMEOUT
    return None
