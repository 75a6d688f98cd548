"""The patient's and caregiver's own pages, under /care/ (portal/urls.py includes them)."""

from django.urls import path

from portal import care_views

urlpatterns = [
    path("", care_views.home, name="care-home"),
    path("<uuid:code>/", care_views.today, name="care-today"),
    path("<uuid:code>/plan/", care_views.plan, name="care-plan"),
    path("<uuid:code>/read/<uuid:assignment>/", care_views.read, name="care-read"),
    path("<uuid:code>/read/<uuid:assignment>/done/", care_views.read_done, name="care-read-done"),
    path("<uuid:code>/read/<uuid:assignment>/answer/", care_views.answer, name="care-answer"),
    path("<uuid:code>/symptoms/", care_views.symptoms, name="care-symptoms"),
    path("<uuid:code>/symptoms/<uuid:check>/", care_views.symptom_result, name="care-symptom-result"),
    path("<uuid:code>/dressings/", care_views.dressings, name="care-dressings"),
]
