"""URLs of the clinic workspace (issue 10), included by portal/urls.py."""

from django.conf import settings
from django.urls import path
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import admin_views, assignment_views, clinic_api, clinic_views, course_views

# Swagger UI styles itself inline; its page allows that, and nothing else changes.
DOCS_CSP = {**settings.SECURE_CSP, "style-src": ["'self'", "'unsafe-inline'"]}

api = [
    path("patients/", clinic_api.PatientListApi.as_view(), name="api-patients"),
    path("patients/<uuid:code>/", clinic_api.PatientDetailApi.as_view(), name="api-patient"),
    path(
        "patients/<uuid:code>/discharge/",
        clinic_api.PatientDischargeApi.as_view(),
        name="api-patient-discharge",
    ),
    path("patients/<uuid:code>/reopen/", clinic_api.PatientReopenApi.as_view(), name="api-patient-reopen"),
    path(
        "patients/<uuid:code>/course-proposal/",
        clinic_api.CourseProposalApi.as_view(),
        name="api-course-proposal",
    ),
    path("patients/<uuid:code>/courses/", clinic_api.CourseListApi.as_view(), name="api-courses"),
    path("patients/<uuid:code>/visits/", clinic_api.VisitListApi.as_view(), name="api-visits"),
    path("patients/<uuid:code>/assignments/", clinic_api.AssignmentListApi.as_view(), name="api-assignments"),
    path(
        "patients/<uuid:code>/reminders/",
        clinic_api.ReminderStateListApi.as_view(),
        name="api-patient-reminders",
    ),
    path("courses/<uuid:code>/pause/", clinic_api.CoursePauseApi.as_view(), name="api-course-pause"),
    path("visits/<uuid:code>/", clinic_api.VisitDetailApi.as_view(), name="api-visit"),
    path("visits/<uuid:code>/complete/", clinic_api.VisitCompleteApi.as_view(), name="api-visit-complete"),
    path("visits/<uuid:code>/move/", clinic_api.VisitMoveApi.as_view(), name="api-visit-move"),
    path("visits/<uuid:code>/shift/", clinic_api.VisitShiftApi.as_view(), name="api-visit-shift"),
    path("visits/<uuid:code>/cancel/", clinic_api.VisitCancelApi.as_view(), name="api-visit-cancel"),
    path("assignments/<uuid:code>/", clinic_api.AssignmentDetailApi.as_view(), name="api-assignment"),
    path("modules/", clinic_api.ModuleListApi.as_view(), name="api-modules"),
    path("care-plans/", clinic_api.CarePlanListApi.as_view(), name="api-care-plans"),
]

urlpatterns = [
    *[path("api/v1/" + str(route.pattern), route.callback, name=route.name) for route in api],
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        csp_override(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("clinic/", clinic_views.clinic_home, name="clinic-home"),
    path("patients/<uuid:code>/edit/", admin_views.patient_edit, name="patient-edit"),
    path("patients/<uuid:code>/discharge/", admin_views.patient_discharge, name="patient-discharge"),
    path("patients/<uuid:code>/reopen/", admin_views.patient_reopen, name="patient-reopen"),
    path("patients/<uuid:code>/erase/", admin_views.patient_erase, name="patient-erase"),
    path(
        "patients/<uuid:code>/invitation/resend/",
        admin_views.patient_invitation_resend,
        name="patient-invitation-resend",
    ),
    path(
        "patients/<uuid:code>/invitation/withdraw/",
        admin_views.patient_invitation_withdraw,
        name="patient-invitation-withdraw",
    ),
    path("clinics/<uuid:code>/settings/", admin_views.clinic_settings, name="clinic-settings"),
    path("clinics/<uuid:code>/staff/", admin_views.clinic_staff, name="clinic-staff"),
    path("clinics/<uuid:code>/staff/<uuid:user_code>/role/", admin_views.staff_role, name="staff-role"),
    path("clinics/<uuid:code>/staff/<uuid:user_code>/remove/", admin_views.staff_remove, name="staff-remove"),
    path(
        "clinics/<uuid:code>/staff/invitations/<uuid:invitation_code>/withdraw/",
        admin_views.staff_invitation_withdraw,
        name="staff-invitation-withdraw",
    ),
    path("staff-invitation/<str:token>/", admin_views.staff_invitation, name="staff-invitation"),
    path("clinics/<uuid:code>/api-keys/", admin_views.clinic_api_keys, name="clinic-api-keys"),
    path(
        "clinics/<uuid:code>/api-keys/<uuid:key_code>/revoke/",
        admin_views.clinic_api_key_revoke,
        name="clinic-api-key-revoke",
    ),
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
