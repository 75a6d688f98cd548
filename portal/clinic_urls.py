"""URLs of the clinic workspace (issue 10), included by portal/urls.py."""

from django.urls import path

from portal import assignment_views, clinic_views, course_views

urlpatterns = [
    path("clinic/", clinic_views.clinic_home, name="clinic-home"),
    path("patients/<uuid:code>/pack/", clinic_views.handout_pack, name="handout-pack"),
    path("patients/<uuid:code>/course/", course_views.course_detail, name="course-detail"),
    path("patients/<uuid:code>/course/plan/", course_views.course_plan, name="course-plan"),
    path("courses/<uuid:code>/pause/", course_views.course_pause, name="course-pause"),
    path("courses/<uuid:code>/restart/", course_views.course_restart, name="course-restart"),
    path("visits/<uuid:code>/", course_views.visit_manage, name="visit-manage"),
    path("patients/<uuid:code>/reading/", assignment_views.patient_assignments, name="patient-assignments"),
    path(
        "assignments/<uuid:code>/withdraw/", assignment_views.assignment_withdraw, name="assignment-withdraw"
    ),
    path("clinics/<uuid:code>/care-plans/", assignment_views.care_plan_list, name="care-plan-list"),
    path("clinics/<uuid:code>/care-plans/add/", assignment_views.care_plan_add, name="care-plan-add"),
    path("care-plans/<uuid:code>/", assignment_views.care_plan_edit, name="care-plan-edit"),
    path("care-plans/<uuid:code>/delete/", assignment_views.care_plan_delete, name="care-plan-delete"),
]
