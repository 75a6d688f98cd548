"""URLs of the clinic workspace (issue 10), included by portal/urls.py."""

from django.urls import path

from portal import course_views

urlpatterns = [
    path("patients/<uuid:code>/course/", course_views.course_detail, name="course-detail"),
    path("patients/<uuid:code>/course/plan/", course_views.course_plan, name="course-plan"),
    path("courses/<uuid:code>/pause/", course_views.course_pause, name="course-pause"),
    path("courses/<uuid:code>/restart/", course_views.course_restart, name="course-restart"),
    path("visits/<uuid:code>/", course_views.visit_manage, name="visit-manage"),
]
