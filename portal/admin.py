"""The operators' admin: read-mostly, scoped to site operators (is_staff)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from portal.models import (
    AuditEvent,
    CaregiverLink,
    Clinic,
    ClinicReminderSettings,
    Delivery,
    InjectionVisit,
    Invitation,
    Patient,
    PushSubscription,
    Reminder,
    StaffMembership,
    TreatmentCourse,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "phone_daytime", "phone_after_hours", "emergency_number", "time_zone"]
    inlines = [MembershipInline]


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["name", "clinic", "language", "time_zone"]
    list_select_related = ["clinic"]
    list_filter = ["clinic"]
    search_fields = ["name", "email"]
    raw_id_fields = ["user"]


@admin.register(CaregiverLink)
class CaregiverLinkAdmin(admin.ModelAdmin):
    list_display = ["email", "patient", "status", "handles_dressings", "pregnant_or_immunocompromised"]
    list_select_related = ["patient"]
    list_filter = ["status"]
    raw_id_fields = ["patient", "caregiver", "consent_recorded_by"]


class VisitInline(admin.TabularInline):
    model = InjectionVisit
    extra = 0


@admin.register(TreatmentCourse)
class TreatmentCourseAdmin(admin.ModelAdmin):
    list_display = ["patient", "started_on", "ended_on"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient"]
    inlines = [VisitInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["kind", "email", "created_at", "expires_at", "accepted_at", "withdrawn_at"]
    raw_id_fields = ["patient", "caregiver_link", "invited_by", "accepted_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_email", "action", "clinic", "patient_code"]
    list_filter = ["action"]
    list_select_related = ["clinic"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(ClinicReminderSettings)
class ClinicReminderSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "clinic",
        "visit_reminder_on",
        "dressing_check_on",
        "dressing_review_on",
        "symptom_watch_on",
        "dressing_days",
    ]
    list_select_related = ["clinic"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    readonly_fields = ["channel", "device", "status", "attempts", "next_attempt_at", "error", "sent_at"]
    can_delete = False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """For operators watching the worker; changes go through planning, not this page."""

    list_display = ["code", "rule", "audience", "day", "due_at", "status", "claimed_until"]
    list_filter = ["status", "rule"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient", "patient", "visit"]
    readonly_fields = [field.name for field in Reminder._meta.fields]
    inlines = [DeliveryInline]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["code", "user", "created_at"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
