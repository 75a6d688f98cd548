"""Signing out: this device (with its saved pages cleared) or every device at once."""

from allauth.account.views import LogoutView
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from portal import services
from portal.http import AuthenticatedHttpRequest

# The browser then drops this site's HTTP cache and its storage (the service worker and its
# saved pages): a shared phone shows nothing of the person who signed out, even offline.
CLEAR_SITE_DATA = '"cache", "storage"'


class SignOutView(LogoutView):
    def post(self, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        response = super().post(*args, **kwargs)
        response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


sign_out = SignOutView.as_view()


@login_required
def sign_out_everywhere(request: AuthenticatedHttpRequest) -> HttpResponse:
    """End every session of this person: a lost phone, a shared computer left signed in."""
    if request.method != "POST":
        return render(request, "portal/sign_out_everywhere.html")
    services.end_all_sessions(user=request.user)
    logout(request)
    messages.success(request, _("You are signed out on every device."))
    response = redirect("account_login")
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    return response
