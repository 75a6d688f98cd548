"""The person's own account: settings, devices, the calendar on their phone, a copy of their
data, deleting the account, and signing out (this device with its saved pages cleared, or
every device at once)."""

import json
import time
from uuid import UUID

import qrcode
from allauth.account.views import LogoutView
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal import accounts, push, services
from portal.devices import list_devices
from portal.forms import EmailChangeForm, SettingsForm
from portal.http import AuthenticatedHttpRequest, came_from, remember_language
from portal.middleware import StaffSessionMiddleware, is_staff_request
from portal.models import CalendarFeed, Patient
from portal.queries import list_push_subscriptions_for, must_use_mfa
from portal.reminders.calendar import feed_url

# The browser then drops this site's HTTP cache and its storage (the service worker and its
# saved pages): a shared phone shows nothing of the person who signed out, even offline.
CLEAR_SITE_DATA = '"cache", "storage"'


def signed_out(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Clear what the browser saved, and keep the language the person was reading: signed out,
    the next page would follow the browser's language, under a message in theirs."""
    response["Clear-Site-Data"] = CLEAR_SITE_DATA
    remember_language(request, response, translation.get_language())
    return response


class SignOutView(LogoutView):
    def post(self, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        return signed_out(self.request, super().post(*args, **kwargs))


sign_out = SignOutView.as_view()


@login_required
def sign_out_everywhere(request: AuthenticatedHttpRequest) -> HttpResponse:
    """End every session of this person: a lost phone, a shared computer left signed in."""
    if request.method != "POST":
        return render(request, "portal/sign_out_everywhere.html")
    services.end_all_sessions(user=request.user)
    logout(request)
    messages.success(request, _("You are signed out on every device."))
    return signed_out(request, redirect("account_login"))


@login_required
def account(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/account.html",
        {"is_staff": must_use_mfa(request.user), "may_delete": accounts.may_delete_account(request.user)},
    )


@login_required
def email(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask to sign in with another address: a link goes there, and only opening it changes it."""
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.request_email_change(user=request.user, email=form.cleaned_data["email"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("We sent a link to %(email)s. Open it to confirm the new address.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("account")
    return render(request, "portal/account_email.html", {"form": form})


@login_required
def email_confirm(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    """A page with a button, not a change on opening: mail scanners open links too."""
    try:
        new = accounts.email_from_token(user=request.user, token=token)
        if request.method == "POST":
            accounts.confirm_email_change(user=request.user, token=token)
            messages.success(request, _("You now sign in with %(email)s.") % {"email": new})
            return redirect("account")
    except ValidationError as error:
        return render(
            request, "portal/account_email_confirm.html", {"error": " ".join(error.messages)}, status=400
        )
    return render(request, "portal/account_email_confirm.html", {"email": new})


@login_required
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    saved = accounts.current_settings(user)
    is_patient = Patient.objects.filter(user=user).exists()
    form = SettingsForm(
        request.POST or None, initial=saved.__dict__, is_patient=is_patient, current_zone=saved.time_zone
    )
    devices = list_push_subscriptions_for(user).count()
    if request.method == "POST" and form.is_valid():
        chosen = accounts.Settings(**{"discreet": True, **form.cleaned_data})
        try:
            accounts.save_settings(user=user, choice=chosen)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Said in the language just chosen: the next page is in it.
            with translation.override(chosen.language):
                messages.success(request, _("Your settings are saved."))
            return redirect("account-settings")
    shown = saved
    if form.is_bound and not form.errors:
        shown = accounts.Settings(**{"discreet": True, **form.cleaned_data})
    return render(
        request,
        "portal/account_settings.html",
        {
            "form": form,
            "warnings": accounts.settings_warnings(shown, devices=devices),
            "saved_zone": saved.time_zone,
        },
    )


@login_required
def devices(request: AuthenticatedHttpRequest) -> HttpResponse:
    subscriptions = list(list_push_subscriptions_for(request.user).order_by("created_at", "pk"))
    return render(
        request,
        "portal/account_devices.html",
        {
            "devices": list_devices(subscriptions, now=timezone.now()),
            "vapid_public_key": push.vapid_public_key(),
        },
    )


@login_required
def device_remove(request: AuthenticatedHttpRequest, code: UUID) -> HttpResponse:
    """Ask first, then remove: the device gets no more notifications."""
    subscription = list_push_subscriptions_for(request.user).filter(code=code).first()
    if subscription is None:
        raise Http404
    if request.method == "POST":
        services.unsubscribe_push(subscription=subscription)
        messages.success(request, _("The device is removed. It gets no more notifications."))
        return redirect("account-devices")
    [device] = list_devices([subscription], now=timezone.now())
    return render(request, "portal/account_device_remove.html", {"device": device})


def qr_svg(text: str, *, label: str) -> SafeString:
    """A QR code as a small inline SVG: one path of horizontal runs (a few KB, no image file)."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            x += 1
    return format_html(
        '<svg class="qr" viewBox="0 0 {0} {0}" role="img" aria-label="{1}" shape-rendering="crispEdges">'
        '<rect width="{0}" height="{0}" fill="#fff"/><path d="{2}"/></svg>',
        len(matrix),
        label,
        "".join(runs),
    )


def webcal(url: str) -> str:
    """Phones open webcal: addresses in their calendar app, as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


@login_required
def calendar(request: AuthenticatedHttpRequest) -> HttpResponse:
    feed = CalendarFeed.objects.filter(user=request.user).first()
    context = {}
    if feed is not None:
        address = feed_url(feed)
        context = {
            "address": address,
            "webcal": webcal(address),
            "qr": qr_svg(webcal(address), label=_("QR code of your calendar address")),
        }
    return render(request, "portal/account_calendar.html", context)


@login_required
@require_POST
def calendar_rotate(request: AuthenticatedHttpRequest) -> HttpResponse:
    had_one = CalendarFeed.objects.filter(user=request.user).exists()
    services.rotate_calendar_feed(user=request.user)
    if had_one:
        messages.success(request, _("You have a new calendar address. The old one no longer works."))
    return redirect("account-calendar")


@login_required
@require_POST
def calendar_revoke(request: AuthenticatedHttpRequest) -> HttpResponse:
    services.revoke_calendar_feed(user=request.user)
    messages.success(request, _("The calendar address no longer works."))
    return redirect("account-calendar")


@login_required
def data_download(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    data = accounts.export_account_data(user=request.user, now=now)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="home-care-companion-{now:%Y-%m-%d}.json"'
    return response


@login_required
def delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Two steps: this page says what happens, then the person ticks that they understand and
    confirms. Afterwards they are signed out and the device's saved pages are cleared."""
    if not accounts.may_delete_account(request.user):
        raise Http404
    error = ""
    if request.method == "POST":
        if request.POST.get("understood") != "on":
            error = _("Tick the box to confirm that you understand.")
        else:
            accounts.delete_account(user=request.user)
            logout(request)
            messages.success(request, _("Your account is deleted."))
            response = redirect("home")
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
            return response
    is_patient = Patient.objects.filter(user=request.user).exists()
    return render(
        request,
        "portal/account_delete.html",
        {"error": error, "is_patient": is_patient},
        status=400 if error else 200,
    )


def session_time(request: HttpRequest) -> HttpResponse:
    """How long a staff member's session has left, for the warning before the idle sign-out
    (static/js/staff-session.js; WCAG 2.2.1). Asking (GET) is not activity; pressing "Stay
    signed in" (POST) starts the idle time again at once. ``final``: the session's whole
    lifetime ends it, which no press can lengthen."""
    # Not staff, or signed out by this very request because their time was up. A bare 404: the
    # error page would show, and so use up, the note saying why they were signed out, which
    # the next page they open must show.
    if not is_staff_request(request):
        return JsonResponse({}, status=404)
    now = time.time()
    session = request.session
    if request.method == "POST":
        # At once: other requests refresh the idle time at most every half minute.
        StaffSessionMiddleware.touch(session, now)
        if "application/json" not in request.headers.get("Accept", ""):
            return redirect(came_from(request))  # the form sent without the script
    idle_end, life_end = StaffSessionMiddleware.limits(session, now)
    return JsonResponse({"left": max(0, round(min(idle_end, life_end) - now)), "final": life_end <= idle_end})
