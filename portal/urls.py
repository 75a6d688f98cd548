"""The whole site on one screen."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from portal import views

patient_urls = [
    path("", views.patient_list, name="patient-list"),
    path("enrol/", views.patient_enrol, name="patient-enrol"),
    path("<uuid:code>/", views.patient_detail, name="patient-detail"),
    path("<uuid:code>/reinvite/", views.patient_reinvite, name="patient-reinvite"),
    path("<uuid:code>/visits/add/", views.visit_add, name="visit-add"),
    path("<uuid:code>/caregivers/invite/", views.caregiver_invite, name="caregiver-invite"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("patients/", include(patient_urls)),
    path("clinics/<uuid:code>/audit/", views.clinic_audit, name="clinic-audit"),
    path("visits/<uuid:code>/edit/", views.visit_edit, name="visit-edit"),
    path("caregivers/<uuid:code>/revoke/", views.caregiver_revoke, name="caregiver-revoke"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("accounts/profile/", RedirectView.as_view(pattern_name="home"), name="account-profile"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
