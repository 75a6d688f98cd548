"""The operators' admin (site operators, is_staff): behind the site's own sign-in with the
authenticator (portal/urls.py), audited, and read-only for clinical rows, whose changes
must go through portal.services (re-planning, the audit log)."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from portal import services
from portal.models import (
    AuditEvent,
    CaregiverLink,
    Clinic,
    ClinicReminderSettings,
    Delivery,
    InjectionVisit,
    Invitation,
    OutgoingEmail,
    Patient,
    PushSubscription,
    Reminder,
    StaffMembership,
    TreatmentCourse,
    User,
)


class AuditedAdmin(admin.ModelAdmin):
    """Every list, record and change an operator opens here is in the audit log."""

    def audit(self, request: HttpRequest, verb: str, obj: Model | None = None) -> None:
        patient = self.patient_of(obj) if obj is not None else None
        services.record_audit(
            actor=request.user,  # type: ignore[arg-type]
            action=f"admin.{self.model._meta.model_name}.{verb}",
            patient=patient,
            clinic=self.clinic_of(obj) if obj is not None and patient is None else None,
            subject_code=getattr(obj, "code", None),
            request=request,
        )

    def patient_of(self, obj: Model) -> Patient | None:
        return None

    def clinic_of(self, obj: Model) -> Clinic | None:
        return None

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        self.audit(request, "listed")
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET" and (obj := self.get_object(request, object_id)) is not None:
            self.audit(request, "viewed", obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self.audit(request, "added", obj)
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        self.audit(request, "changed", obj)
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        for obj in queryset:
            self.audit(request, "deleted", obj)
        return super().log_deletions(request, queryset)


class ClinicalAdmin(AuditedAdmin):
    """Read-only: a change here would skip re-planning and the clinic's audit trail."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "language", "is_active", "is_staff"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "language", "time_zone"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = StaffMembership
    extra = 0
    raw_id_fields = ["user"]
    # Removing someone ends their sessions: through the staff membership page (below).
    can_delete = False


@admin.register(Clinic)
class ClinicAdmin(AuditedAdmin):
    list_display = ["name", "phone_daytime", "phone_after_hours", "emergency_number", "time_zone"]
    inlines = [MembershipInline]

    def clinic_of(self, obj: Model) -> Clinic | None:
        return obj  # type: ignore[return-value]


@admin.register(StaffMembership)
class StaffMembershipAdmin(AuditedAdmin):
    list_display = ["user", "clinic", "role"]
    list_select_related = ["user", "clinic"]
    list_filter = ["clinic"]
    raw_id_fields = ["user"]

    def clinic_of(self, obj: Model) -> Clinic | None:
        return obj.clinic  # type: ignore[attr-defined]

    def delete_model(self, request: HttpRequest, obj: StaffMembership) -> None:
        services.remove_staff_member(membership=obj, by=request.user, request=request)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for membership in queryset:
            self.delete_model(request, membership)


@admin.register(Patient)
class PatientAdmin(ClinicalAdmin):
    list_display = ["name", "clinic", "language", "time_zone"]
    list_select_related = ["clinic"]
    list_filter = ["clinic"]
    search_fields = ["name", "email"]

    def patient_of(self, obj: Model) -> Patient | None:
        return obj  # type: ignore[return-value]


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(ClinicalAdmin):
    list_display = ["email", "patient", "status", "handles_dressings", "pregnant_or_immunocompromised"]
    list_select_related = ["patient"]
    list_filter = ["status"]

    def patient_of(self, obj: Model) -> Patient | None:
        return obj.patient  # type: ignore[attr-defined]


class VisitInline(ReadOnlyInline):
    model = InjectionVisit
    exclude = ["patient"]


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(ClinicalAdmin):
    list_display = ["patient", "started_on", "ended_on"]
    list_select_related = ["patient"]
    inlines = [VisitInline]

    def patient_of(self, obj: Model) -> Patient | None:
        return obj.patient  # type: ignore[attr-defined]


@admin.register(Invitation)
class InvitationAdmin(ClinicalAdmin):
    list_display = ["kind", "email", "created_at", "expires_at", "accepted_at", "withdrawn_at"]

    def patient_of(self, obj: Model) -> Patient | None:
        return obj.patient  # type: ignore[attr-defined]


@admin.register(AuditEvent)
class AuditEventAdmin(ClinicalAdmin):
    list_display = ["at", "actor_email", "action", "clinic", "patient_code"]
    list_filter = ["action"]
    list_select_related = ["clinic"]


@admin.register(ClinicReminderSettings)
class ClinicReminderSettingsAdmin(ClinicalAdmin):
    list_display = [
        "clinic",
        "visit_reminder_on",
        "dressing_check_on",
        "dressing_review_on",
        "symptom_watch_on",
        "dressing_days",
    ]
    list_select_related = ["clinic"]

    def clinic_of(self, obj: Model) -> Clinic | None:
        return obj.clinic  # type: ignore[attr-defined]


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    readonly_fields = ["channel", "device", "status", "attempts", "next_attempt_at", "error", "sent_at"]


@admin.register(Reminder)
class ReminderAdmin(ClinicalAdmin):
    """For operators watching the worker; changes go through planning, not this page."""

    list_display = ["code", "rule", "audience", "day", "due_at", "status", "claimed_until"]
    list_filter = ["status", "rule"]
    inlines = [DeliveryInline]

    def patient_of(self, obj: Model) -> Patient | None:
        return obj.patient  # type: ignore[attr-defined]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(ClinicalAdmin):
    list_display = ["code", "user", "created_at"]
    list_select_related = ["user"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ClinicalAdmin):
    """The outbox, for operators watching the worker: who and how it went, never the text."""

    list_display = ["kind", "to", "status", "attempts", "error", "created_at", "sent_at"]
    list_filter = ["status", "kind"]
    exclude = ["body_text", "body_html"]
