"""The whole site on one screen."""

from allauth.account.decorators import secure_admin_login
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from education.urls import review_urlpatterns as education_review_urls
from portal import (
    account_views,
    api,
    audit_views,
    care_urls,
    caregiver_views,
    clinic_urls,
    clinic_views,
    pwa,
    reminder_views,
    views,
)
from portal.keep import kept
from portal.reminders.calendar import calendar_feed

patient_urls = [
    path("", clinic_views.patient_list, name="patient-list"),
    path("enrol/", views.patient_enrol, name="patient-enrol"),
    path("<uuid:code>/", views.patient_detail, name="patient-detail"),
    path("<uuid:code>/reminders/", reminder_views.patient_reminder_log, name="patient-reminders"),
    path("<uuid:code>/caregivers/invite/", views.caregiver_invite, name="caregiver-invite"),
]

reminder_urls = [
    path("", reminder_views.reminder_list, name="reminder-list"),
    # Older links: the settings are the account's now.
    path("settings/", RedirectView.as_view(pattern_name="account-settings")),
    path("<uuid:code>/", reminder_views.reminder_detail, name="reminder-detail"),
    path("<uuid:code>/dressing/", reminder_views.reminder_dressing_report, name="reminder-dressing-report"),
]

account_urls = [
    path("", account_views.account, name="account"),
    path("email/", account_views.email, name="account-email"),
    path("email/<str:token>/", account_views.email_confirm, name="account-email-confirm"),
    path("settings/", account_views.settings_page, name="account-settings"),
    path("devices/", account_views.devices, name="account-devices"),
    path("devices/<uuid:code>/remove/", account_views.device_remove, name="account-device-remove"),
    path("calendar/", account_views.calendar, name="account-calendar"),
    path("calendar/rotate/", account_views.calendar_rotate, name="calendar-rotate"),
    path("calendar/revoke/", account_views.calendar_revoke, name="calendar-revoke"),
    path("data/", account_views.data_download, name="account-data"),
    path("delete/", account_views.delete, name="account-delete"),
    path("session/", account_views.session_time, name="account-session"),
]

api_urls = [
    path("offline/", api.OfflineListApi.as_view(), name="api-offline"),
    path("reminders/", kept(api.ReminderListApi.as_view()), name="api-reminder-list"),
    path("reminders/<uuid:code>/read/", api.ReminderReadApi.as_view(), name="api-reminder-read"),
    path("push/key/", api.PushKeyApi.as_view(), name="api-push-key"),
    path("push/subscriptions/", api.PushSubscriptionListApi.as_view(), name="api-push-subscriptions"),
    path(
        "push/subscriptions/<uuid:code>/",
        api.PushSubscriptionDetailApi.as_view(),
        name="api-push-subscription",
    ),
]

# The admin signs in through the site's own sign-in (password, then the authenticator, rate
# limited); its own password-only form is never used.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.language, name="language"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("care/", include(care_urls)),
    path("patients/", include(patient_urls)),
    path("", include(clinic_urls.urlpatterns)),
    path("reminders/", include(reminder_urls)),
    path("account/", include(account_urls)),
    path("calendar/<str:token>.ics", calendar_feed, name="calendar-feed"),
    path(
        "clinics/<uuid:code>/reminders/",
        reminder_views.clinic_reminder_settings,
        name="clinic-reminder-settings",
    ),
    path("api/v1/", include(api_urls)),
    path("clinics/<uuid:code>/audit/", audit_views.audit_log, name="clinic-audit"),
    path("translations/", include(education_review_urls)),
    path("caregivers/<uuid:code>/edit/", views.caregiver_edit, name="caregiver-edit"),
    path("caregivers/", caregiver_views.caregiver_list, name="caregivers"),
    path("caregivers/switch/", caregiver_views.caregiver_switch, name="caregiver-switch"),
    path(
        "caregivers/invitations/<uuid:code>/", caregiver_views.invitation_answer, name="caregiver-invitation"
    ),
    path(
        "caregivers/<uuid:code>/answer/",
        caregiver_views.caregiver_request_answer,
        name="caregiver-request-answer",
    ),
    path("caregivers/<uuid:code>/revoke/", caregiver_views.caregiver_revoke, name="caregiver-revoke"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("accounts/profile/", RedirectView.as_view(pattern_name="home"), name="account-profile"),
    # The app's own account page instead of the library's email screen: an address is
    # the person's sign-in and their clinic's contact, changed by the clinic.
    path("accounts/email/", RedirectView.as_view(pattern_name="account-email")),
    # Before allauth's: signing out also clears what the browser saved of the site.
    path("accounts/logout/", account_views.sign_out, name="account_logout"),
    path(
        "accounts/sign-out-everywhere/",
        account_views.sign_out_everywhere,
        name="account-sign-out-everywhere",
    ),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]

# Public pages: every language has its own prefix, English too (/en/guide/). First, because
# they are the busiest pages and resolving an address walks the list in order (a guide page
# after every other pattern cost a quarter of its time); the prefix turns every other
# address away with one comparison.
urlpatterns = [*i18n_patterns(path("", include("education.urls"))), *urlpatterns]
