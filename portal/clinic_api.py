"""The clinic API under /api/v1/ for clinic systems: patients, courses, visits, assignments,
reading progress and reminder delivery state.

Authentication is a per-clinic API key (``Authorization: Bearer hcc_…``, portal.api_keys);
every request is scoped to the key's clinic (anything else is a 404), rate-limited per key
through the shared cache, and audited under the key's name. The OpenAPI schema is at
/api/schema/ and its documentation at /api/docs/."""

import re
from datetime import date
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import authentication, exceptions, generics, permissions, serializers, status, throttling
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from education.catalog import load_catalog
from portal import assignments, courses, patients, scheduling, services
from portal.api import DetailOut
from portal.api_keys import find_api_key
from portal.courses import CourseChange, PlannedVisit
from portal.models import (
    Assignment,
    AssignmentProgress,
    CaregiverLink,
    CarePlan,
    ClinicApiKey,
    InjectionVisit,
    Patient,
    Reminder,
    TreatmentCourse,
    visit_date_error,
)
from portal.search import fold
from portal.timezones import TIME_ZONES
from portal.validators import LOCAL_TIME, LOCAL_TIME_REFUSED, validate_one_line

# --- Authentication, permission, rate limit, errors -------------------------------------


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ClinicApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, key = header.partition(" ")
        if scheme != self.keyword or not key.strip():
            raise exceptions.AuthenticationFailed(_("Send the API key as: Authorization: Bearer <key>."))
        api_key = find_api_key(key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or was revoked."))
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "portal.clinic_api.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A clinic API key (hcc_…), made by a clinic admin under the clinic's settings.",
        }


class HasClinicKey(permissions.BasePermission):
    """A live clinic key; changes need a key with write access."""

    message = _("This API key may only read.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = request.auth
        if not isinstance(key, ClinicApiKey):
            return False
        return request.method in permissions.SAFE_METHODS or key.scope == ClinicApiKey.Scope.WRITE


class ApiKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per key, counted in the default cache, which every process shares."""

    scope = "clinic_api"

    def get_rate(self) -> str:
        return settings.CLINIC_API_RATE

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        key = request.auth
        return f"throttle_clinic_api_{key.code}" if isinstance(key, ClinicApiKey) else None


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Django validation errors from services answer like DRF's: field name and reason."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    return exception_handler(exc, context)


class ClinicApi(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasClinicKey]
    throttle_classes = [ApiKeyThrottle]

    @property
    def key(self) -> ClinicApiKey:
        return self.request.auth  # type: ignore[return-value]

    def audit(self, action: str, patient: Patient | None = None, subject_code: UUID | None = None) -> None:
        services.record_audit(
            actor=self.request.user,
            action=action,
            patient=patient,
            clinic=self.key.clinic,
            subject_code=subject_code,
            request=self.request._request,
        )

    def patient(self, code: UUID) -> Patient:
        try:
            return Patient.objects.select_related("clinic", "user").get(code=code, clinic=self.key.clinic)
        except Patient.DoesNotExist:
            raise Http404 from None

    def visit(self, code: UUID) -> InjectionVisit:
        try:
            return InjectionVisit.objects.select_related("course__patient__clinic").get(
                code=code, course__patient__clinic=self.key.clinic
            )
        except InjectionVisit.DoesNotExist:
            raise Http404 from None


class ClinicListApi(ClinicApi, generics.ListAPIView):  # type: ignore[misc]
    pass


# --- Serializers ---------------------------------------------------------------------------


class PatientOut(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = Patient
        fields = ["code", "name", "email", "language", "time_zone", "status", "created_at", "discharged_at"]

    def get_status(self, patient: Patient) -> str:
        """invited (no account yet), active, or discharged."""
        if patient.discharged_at:
            return "discharged"
        return "active" if patient.user_id else "invited"


class PatientIn(serializers.Serializer):
    name = serializers.CharField(max_length=150, validators=[validate_one_line])
    email = serializers.EmailField(max_length=254)
    language = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES])
    time_zone = serializers.ChoiceField(choices=list(TIME_ZONES))


class PatientChangeIn(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False, validators=[validate_one_line])
    email = serializers.EmailField(max_length=254, required=False)
    language = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES], required=False)
    time_zone = serializers.ChoiceField(choices=list(TIME_ZONES), required=False)


class VisitOut(serializers.ModelSerializer):
    course = serializers.UUIDField(source="course.code")

    class Meta:
        model = InjectionVisit
        fields = ["code", "course", "local_date", "local_time", "status", "sites"]


class CourseOut(serializers.ModelSerializer):
    visits = VisitOut(many=True)

    class Meta:
        model = TreatmentCourse
        fields = ["code", "started_on", "ended_on", "paused_at", "visits"]


class WarningOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[kind.value for kind in scheduling.WarningKind])
    local_date = serializers.DateField()
    local_time = serializers.TimeField()
    message = serializers.CharField()


class PlannedReminderOut(serializers.Serializer):
    due_at = serializers.DateTimeField()
    rule = serializers.CharField()
    recipient = serializers.ChoiceField(choices=["patient", "caregiver"])


class CourseChangeOut(serializers.Serializer):
    course = CourseOut()
    planned_reminders = PlannedReminderOut(many=True, help_text="What will now be sent, soonest first.")


class ProposalOut(serializers.Serializer):
    visits = serializers.ListField(
        child=serializers.DictField(), help_text="local_date and local_time of each visit."
    )
    warnings = WarningOut(many=True)


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class LocalDateField(serializers.DateField):
    """YYYY-MM-DD in ASCII digits. A date the calendar lacks (2027-02-29) is refused as one
    that does not exist: DRF answered "wrong format", which sent people looking for a typo."""

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value.strip()):
            self.fail("invalid", format="YYYY-MM-DD")
        try:
            date.fromisoformat(value.strip())
        except ValueError:
            raise serializers.ValidationError(_("This date does not exist."), code="invalid") from None
        return super().to_internal_value(value.strip())


class LocalTimeField(serializers.TimeField):
    """The wall time of the clinic's zone (portal.validators.LOCAL_TIME): an offset or a
    fraction of a second is refused in words, not dropped or kept."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not LOCAL_TIME.fullmatch(value.strip()):
            raise serializers.ValidationError(LOCAL_TIME_REFUSED, code="invalid")
        return super().to_internal_value(value.strip())


class WholeNumberField(serializers.IntegerField):
    """A number in ASCII digits: DRF's took "１" (full-width) as 1."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, str) and not data.isascii():
            self.fail("invalid")
        return super().to_internal_value(data)


class ProposalQuery(serializers.Serializer):
    first_date = LocalDateField()
    first_time = LocalTimeField()
    count = WholeNumberField(min_value=1, max_value=scheduling.MAX_VISITS, required=False)
    until = LocalDateField(required=False)
    restart = serializers.BooleanField(default=False)

    def validate_first_date(self, value: date) -> date:
        return bounded(value)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("count" in data) == ("until" in data):
            raise serializers.ValidationError({"count": [_("Give either count or until, not both.")]})
        if (
            "until" in data
            and not data["first_date"] <= data["until"] <= data["first_date"] + scheduling.LATEST
        ):
            raise serializers.ValidationError(
                {"until": [_("Give a date after first_date, at most two years later.")]}
            )
        return data


def bounded(value: date) -> date:
    from django.utils import timezone

    if error := visit_date_error(value, timezone.localdate()):
        raise serializers.ValidationError(error.messages)
    return value


class VisitIn(serializers.Serializer):
    local_date = LocalDateField()
    local_time = LocalTimeField()
    sites = serializers.ListField(child=serializers.CharField(max_length=80), max_length=20, default=list)

    def validate_local_date(self, value: date) -> date:
        return bounded(value)


class PlanIn(serializers.Serializer):
    visits = VisitIn(many=True, max_length=scheduling.MAX_VISITS, min_length=1)
    restart = serializers.BooleanField(default=False, help_text="Restart a paused course.")
    confirm_warnings = serializers.BooleanField(default=False, help_text="Save despite warnings.")


class CompleteIn(serializers.Serializer):
    sites = serializers.ListField(child=serializers.CharField(max_length=80), max_length=20)


class MoveIn(serializers.Serializer):
    local_date = LocalDateField()
    local_time = LocalTimeField()
    confirm_warnings = serializers.BooleanField(default=False)

    def validate_local_date(self, value: date) -> date:
        return bounded(value)


class ShiftIn(serializers.Serializer):
    days = WholeNumberField(min_value=-scheduling.MAX_SHIFT_DAYS, max_value=scheduling.MAX_SHIFT_DAYS)
    confirm_warnings = serializers.BooleanField(default=False)

    def validate_days(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError(_("Give a number of days other than 0."))
        return value


class ModuleOut(serializers.Serializer):
    slug = serializers.CharField()
    audience = serializers.ChoiceField(choices=["patient", "caregiver", "both"])
    version = serializers.IntegerField()
    title = serializers.CharField()


class CarePlanOut(serializers.ModelSerializer):
    modules = serializers.SerializerMethodField()

    class Meta:
        model = CarePlan
        fields = ["code", "name", "is_default", "modules"]

    def get_modules(self, plan: CarePlan) -> list[str]:
        return [item.module_slug for item in plan.items.all()]


class TeachBackOut(serializers.Serializer):
    answered = serializers.IntegerField()
    correct = serializers.IntegerField()


class ProgressOut(serializers.Serializer):
    reader = serializers.ChoiceField(choices=["patient", "caregiver"])
    reader_code = serializers.UUIDField()
    state = serializers.ChoiceField(choices=["assigned", *AssignmentProgress.State.values])
    opened_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    questions_at = serializers.DateTimeField(
        allow_null=True, help_text="When the reader last pressed “I have questions”."
    )
    module_version = serializers.IntegerField(allow_null=True)
    language = serializers.CharField(allow_null=True)
    teach_back = TeachBackOut()


class AssignmentOut(serializers.Serializer):
    code = serializers.UUIDField()
    module = serializers.CharField(source="module_slug")
    audience = serializers.CharField()
    assigned_at = serializers.DateTimeField()
    care_plan = serializers.UUIDField(source="care_plan.code", allow_null=True, default=None)
    progress = serializers.SerializerMethodField()

    @extend_schema_field(ProgressOut(many=True))
    def get_progress(self, assignment: Assignment) -> list[dict[str, Any]]:
        lines = assignments.readers_of(assignment, self.context["patient_user"], self.context["caregivers"])
        return ProgressOut(
            [
                {
                    "reader": "patient" if line.is_patient else "caregiver",
                    "reader_code": line.reader.code,
                    "state": line.progress.state if line.progress else "assigned",
                    "opened_at": line.progress.opened_at if line.progress else None,
                    "finished_at": line.progress.finished_at if line.progress else None,
                    "acknowledged_at": line.progress.acknowledged_at if line.progress else None,
                    "questions_at": line.progress.questions_at if line.progress else None,
                    "module_version": line.progress.module_version if line.progress else None,
                    "language": line.progress.language if line.progress else None,
                    "teach_back": {"answered": line.answered, "correct": line.correct},
                }
                for line in lines
            ],
            many=True,
        ).data


class AssignIn(serializers.Serializer):
    modules = serializers.ListField(
        child=serializers.CharField(max_length=80), max_length=50, required=False, help_text="Module slugs."
    )
    care_plan = serializers.UUIDField(required=False, help_text="Assign every module of this care plan.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if bool(data.get("modules")) == bool(data.get("care_plan")):
            raise serializers.ValidationError({"modules": [_("Give either modules or care_plan.")]})
        return data


class DeliveryOut(serializers.Serializer):
    channel = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    sent_at = serializers.DateTimeField(allow_null=True)


class ReminderStateOut(serializers.ModelSerializer):
    recipient = serializers.SerializerMethodField()
    deliveries = DeliveryOut(many=True)

    class Meta:
        model = Reminder
        fields = ["code", "rule", "recipient", "day", "due_at", "status", "deliveries"]

    def get_recipient(self, reminder: Reminder) -> str:
        return "patient" if reminder.audience == "patient" else "caregiver"


# --- Examples ---------------------------------------------------------------------------------

PATIENT = {
    "code": "3f0c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f",
    "name": "María Núñez",
    "email": "maria@example.org",
    "language": "es",
    "time_zone": "America/New_York",
    "status": "invited",
    "created_at": "2027-01-04T15:00:00Z",
    "discharged_at": None,
}
VISIT = {
    "code": "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d",
    "course": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    "local_date": "2027-01-25",
    "local_time": "10:00:00",
    "status": "scheduled",
    "sites": ["left forearm"],
}
COURSE = {
    "code": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    "started_on": "2027-01-04",
    "ended_on": None,
    "paused_at": None,
    "visits": [VISIT],
}
CHANGE = {
    "course": COURSE,
    "planned_reminders": [
        {"due_at": "2027-01-24T14:00:00Z", "rule": "visit_reminder", "recipient": "patient"}
    ],
}
WARNINGS_400 = OpenApiExample(
    "Warnings not confirmed",
    value={
        "warnings": [
            {
                "kind": "too_close",
                "local_date": "2027-01-20",
                "local_time": "10:00:00",
                "message": "20 Jan 2027 is closer to the visit on 4 Jan 2027 than the schedule allows (21 days).",
            }
        ],
        "confirm_warnings": ["Check the warnings, then send confirm_warnings: true to save anyway."],
    },
    response_only=True,
    status_codes=["400"],
)
INVALID_400 = OpenApiExample(
    "Invalid field",
    value={"email": ["Enter a valid email address."]},
    response_only=True,
    status_codes=["400"],
)
NOT_FOUND = OpenApiExample(
    "Not found",
    value={"detail": "No Assignment matches the given query."},
    response_only=True,
    status_codes=["404"],
)
ERRORS = {400: OpenApiResponse(description="Each invalid field's name with the reasons.")}


def planned_reminders(patient: Patient) -> list[dict[str, Any]]:
    return [
        {
            "due_at": r.due_at,
            "rule": r.rule,
            "recipient": "patient" if r.audience == "patient" else "caregiver",
        }
        for r in courses.upcoming_reminders(patient)
    ]


def course_data(course: TreatmentCourse) -> dict[str, Any]:
    course = TreatmentCourse.objects.prefetch_related(
        Prefetch(
            "visits",
            queryset=InjectionVisit.objects.select_related("course").order_by("local_date", "local_time"),
        )
    ).get(pk=course.pk)
    return CourseOut(course).data


def change_response(change: CourseChange, code: int = status.HTTP_200_OK) -> Response:
    return Response(
        {"course": course_data(change.course), "planned_reminders": planned_reminders(change.course.patient)},
        status=code,
    )


def warnings_response(warnings: list[scheduling.ScheduleWarning]) -> Response:
    from portal.course_views import describe

    return Response(
        {
            "warnings": [
                {
                    "kind": w.kind.value,
                    "local_date": w.local_date,
                    "local_time": w.local_time,
                    "message": describe(w),
                }
                for w in warnings
            ],
            "confirm_warnings": [_("Check the warnings, then send confirm_warnings: true to save anyway.")],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


# --- Patients -------------------------------------------------------------------------------------


class PatientListApi(ClinicListApi):
    """The clinic's patients, by name; ``q`` searches name and email ignoring case and accents."""

    serializer_class = PatientOut

    @extend_schema(
        operation_id="patients_list",
        parameters=[OpenApiParameter("q", str, description="Search text, e.g. nunez finds Núñez.")],
        examples=[OpenApiExample("Patients", value=[PATIENT], response_only=True)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        self.audit("patients.listed")
        return response

    def get_queryset(self) -> QuerySet[Patient]:
        patients = Patient.objects.filter(clinic=self.key.clinic).order_by("name", "pk")
        for word in fold(self.request.query_params.get("q", "").replace("\x00", "")[:100]).split():
            patients = patients.filter(search_text__contains=word)
        return patients

    @extend_schema(
        operation_id="patients_create",
        request=PatientIn,
        responses={201: PatientOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Enrol",
                value={
                    "name": "María Núñez",
                    "email": "maria@example.org",
                    "language": "es",
                    "time_zone": "America/New_York",
                },
                request_only=True,
            ),
            OpenApiExample("Enrolled", value=PATIENT, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Email taken",
                value={"email": ["This person is already enrolled at this clinic."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        """Enrol a patient; they get an emailed invitation."""
        data = PatientIn(data=request.data)
        data.is_valid(raise_exception=True)
        patient = services.enrol_patient(
            clinic=self.key.clinic, by=request.user, request=request._request, **data.validated_data
        )
        return Response(PatientOut(patient).data, status=status.HTTP_201_CREATED)


class PatientDetailApi(ClinicApi):
    @extend_schema(
        operation_id="patients_retrieve",
        responses=PatientOut,
        examples=[OpenApiExample("Patient", value=PATIENT)],
    )
    def get(self, request: Request, code: UUID) -> Response:
        patient = self.patient(code)
        self.audit("patient.viewed", patient)
        return Response(PatientOut(patient).data)

    @extend_schema(
        operation_id="patients_partial_update",
        request=PatientChangeIn,
        responses={200: PatientOut, **ERRORS},
        examples=[
            OpenApiExample("Change language", value={"language": "en"}, request_only=True),
            OpenApiExample("Changed", value=PATIENT | {"language": "en"}, response_only=True),
            INVALID_400,
        ],
    )
    def patch(self, request: Request, code: UUID) -> Response:
        """Change name, email (only before the patient has an account), language or time zone."""
        patient = self.patient(code)
        data = PatientChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = {
            "name": patient.name,
            "email": patient.email,
            "language": patient.language,
            "time_zone": patient.time_zone,
        } | data.validated_data
        patient = patients.edit_patient(patient=patient, by=request.user, request=request._request, **values)
        return Response(PatientOut(patient).data)


class PatientDischargeApi(ClinicApi):
    @extend_schema(
        operation_id="patients_discharge",
        request=None,
        responses={200: PatientOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Discharged",
                value=PATIENT | {"status": "discharged", "discharged_at": "2027-07-01T12:00:00Z"},
            )
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Discharge: reminders stop, the record stays."""
        patient = patients.discharge_patient(
            patient=self.patient(code), by=request.user, request=request._request
        )
        return Response(PatientOut(patient).data)


class PatientReopenApi(ClinicApi):
    @extend_schema(
        operation_id="patients_reopen",
        request=None,
        responses={200: PatientOut, **ERRORS},
        examples=[OpenApiExample("Reopened", value=PATIENT)],
    )
    def post(self, request: Request, code: UUID) -> Response:
        patient = patients.reopen_patient(
            patient=self.patient(code), by=request.user, request=request._request
        )
        return Response(PatientOut(patient).data)


# --- Courses and visits -----------------------------------------------------------------


class CourseProposalApi(ClinicApi):
    @extend_schema(
        operation_id="courses_propose",
        parameters=[ProposalQuery],
        responses={200: ProposalOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Proposal",
                value={
                    "visits": [
                        {"local_date": "2027-01-04", "local_time": "10:00:00"},
                        {"local_date": "2027-01-25", "local_time": "10:00:00"},
                        {"local_date": "2027-02-08", "local_time": "10:00:00"},
                    ],
                    "warnings": [],
                },
            ),
            OpenApiExample(
                "No length",
                value={"count": ["Give either count or until, not both."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def get(self, request: Request, code: UUID) -> Response:
        """The label's schedule from a first date (second treatment after 3 weeks, then every
        2 weeks; a restart every 2 weeks), with the warnings saving it would raise. Saves nothing."""
        patient = self.patient(code)
        query = ProposalQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        dates = scheduling.propose_dates(
            data["first_date"], count=data.get("count"), until=data.get("until"), restart=data["restart"]
        )
        planned = [PlannedVisit(day, data["first_time"]) for day in dates]
        from portal.course_views import describe

        warnings = courses.plan_warnings(patient, planned, restart=data["restart"])
        return Response(
            {
                "visits": [{"local_date": v.local_date, "local_time": v.local_time} for v in planned],
                "warnings": WarningOut(
                    [
                        {
                            "kind": w.kind.value,
                            "local_date": w.local_date,
                            "local_time": w.local_time,
                            "message": describe(w),
                        }
                        for w in warnings
                    ],
                    many=True,
                ).data,
            }
        )


class CourseListApi(ClinicApi):
    @extend_schema(
        operation_id="courses_list",
        responses=CourseOut(many=True),
        examples=[OpenApiExample("Courses", value=[COURSE])],
    )
    def get(self, request: Request, code: UUID) -> Response:
        """The patient's courses, each with its visits."""
        patient = self.patient(code)
        self.audit("course.viewed", patient)
        found = patient.courses.order_by("started_on", "pk").prefetch_related(
            Prefetch(
                "visits",
                queryset=InjectionVisit.objects.select_related("course").order_by("local_date", "local_time"),
            )
        )
        return Response(CourseOut(found, many=True).data)

    @extend_schema(
        operation_id="courses_plan",
        request=PlanIn,
        responses={201: CourseChangeOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Plan",
                value={
                    "visits": [
                        {"local_date": "2027-01-04", "local_time": "10:00", "sites": ["left forearm"]},
                        {"local_date": "2027-01-25", "local_time": "10:00", "sites": ["left forearm"]},
                    ],
                    "restart": False,
                    "confirm_warnings": False,
                },
                request_only=True,
            ),
            OpenApiExample("Planned", value=CHANGE, response_only=True, status_codes=["201"]),
            WARNINGS_400,
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Add visits in one step: a whole course, or the visits after a pause (``restart``).
        Warnings (past dates, duplicates, visits too close, clock changes) stop the save unless
        ``confirm_warnings`` is true. Answers with what will now be sent."""
        patient = self.patient(code)
        data = PlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        planned = [
            PlannedVisit(v["local_date"], v["local_time"], tuple(v["sites"]))
            for v in data.validated_data["visits"]
        ]
        restart = data.validated_data["restart"]
        warnings = courses.plan_warnings(patient, planned, restart=restart)
        if warnings and not data.validated_data["confirm_warnings"]:
            return warnings_response(warnings)
        try:
            change = courses.plan_course(
                patient=patient, by=request.user, visits=planned, restart=restart, request=request._request
            )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"visits": error.messages}) from None
        return change_response(change, status.HTTP_201_CREATED)


class CoursePauseApi(ClinicApi):
    @extend_schema(
        operation_id="courses_pause",
        request=None,
        responses={200: CourseChangeOut, **ERRORS},
        examples=[OpenApiExample("Paused", value=CHANGE)],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Pause: visits from today on are cancelled. Restart with courses_plan and restart: true."""
        try:
            course = TreatmentCourse.objects.select_related("patient__clinic").get(
                code=code, patient__clinic=self.key.clinic
            )
        except TreatmentCourse.DoesNotExist:
            raise Http404 from None
        return change_response(courses.pause_course(course=course, by=request.user, request=request._request))


class VisitListApi(ClinicListApi):
    serializer_class = VisitOut

    @extend_schema(
        operation_id="visits_list", examples=[OpenApiExample("Visits", value=[VISIT], response_only=True)]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every visit of the patient, by date."""
        self.audit("course.viewed", self.patient(self.kwargs["code"]))
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[InjectionVisit]:
        return (
            InjectionVisit.objects.filter(
                course__patient__code=self.kwargs["code"], course__patient__clinic=self.key.clinic
            )
            .select_related("course")
            .order_by("local_date", "local_time", "pk")
        )


class VisitDetailApi(ClinicApi):
    @extend_schema(
        operation_id="visits_retrieve", responses=VisitOut, examples=[OpenApiExample("Visit", value=VISIT)]
    )
    def get(self, request: Request, code: UUID) -> Response:
        visit = self.visit(code)
        self.audit("visit.viewed", visit.course.patient, visit.code)
        return Response(VisitOut(visit).data)


class VisitCompleteApi(ClinicApi):
    @extend_schema(
        operation_id="visits_complete",
        request=CompleteIn,
        responses={200: CourseChangeOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Sites injected", value={"sites": ["left forearm", "left upper arm"]}, request_only=True
            ),
            OpenApiExample("Done", value=CHANGE, response_only=True),
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """The treatment happened, with these sites injected."""
        visit = self.visit(code)
        data = CompleteIn(data=request.data)
        data.is_valid(raise_exception=True)
        change = courses.complete_visit(
            visit=visit, by=request.user, sites=data.validated_data["sites"], request=request._request
        )
        return change_response(change)


class VisitMoveApi(ClinicApi):
    @extend_schema(
        operation_id="visits_move",
        request=MoveIn,
        responses={200: CourseChangeOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Move",
                value={"local_date": "2027-01-26", "local_time": "09:30", "confirm_warnings": False},
                request_only=True,
            ),
            OpenApiExample("Moved", value=CHANGE, response_only=True),
            WARNINGS_400,
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Move one scheduled visit to another date and time."""
        visit = self.visit(code)
        data = MoveIn(data=request.data)
        data.is_valid(raise_exception=True)
        new = (data.validated_data["local_date"], data.validated_data["local_time"])
        warnings = courses.change_warnings(visit.course.patient, {str(visit.code): new})
        if warnings and not data.validated_data["confirm_warnings"]:
            return warnings_response(warnings)
        change = courses.move_visit(
            visit=visit, by=request.user, local_date=new[0], local_time=new[1], request=request._request
        )
        return change_response(change)


class VisitShiftApi(ClinicApi):
    @extend_schema(
        operation_id="visits_shift",
        request=ShiftIn,
        responses={200: CourseChangeOut, **ERRORS},
        examples=[
            OpenApiExample(
                "Shift a week later", value={"days": 7, "confirm_warnings": False}, request_only=True
            ),
            OpenApiExample("Shifted", value=CHANGE, response_only=True),
            WARNINGS_400,
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Move this visit and every later scheduled visit of the course by the same number of days."""
        from datetime import timedelta

        visit = self.visit(code)
        data = ShiftIn(data=request.data)
        data.is_valid(raise_exception=True)
        days = data.validated_data["days"]
        moves = {
            str(v.code): (v.local_date + timedelta(days=days), v.local_time)
            for v in courses.later_visits(visit)
        }
        warnings = courses.change_warnings(visit.course.patient, moves)
        if warnings and not data.validated_data["confirm_warnings"]:
            return warnings_response(warnings)
        try:
            change = courses.shift_visits(visit=visit, by=request.user, days=days, request=request._request)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"days": error.messages}) from None
        return change_response(change)


class VisitCancelApi(ClinicApi):
    @extend_schema(
        operation_id="visits_cancel",
        request=None,
        responses={200: CourseChangeOut, **ERRORS},
        examples=[OpenApiExample("Cancelled", value=CHANGE)],
    )
    def post(self, request: Request, code: UUID) -> Response:
        return change_response(
            courses.cancel_visit(visit=self.visit(code), by=request.user, request=request._request)
        )


# --- Education -------------------------------------------------------------------------------


class ModuleListApi(ClinicApi):
    @extend_schema(
        operation_id="modules_list",
        responses=ModuleOut(many=True),
        examples=[
            OpenApiExample(
                "Modules",
                value=[
                    {
                        "slug": "dressing-care",
                        "audience": "both",
                        "version": 1,
                        "title": "How to care for your dressing",
                    }
                ],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        """The education modules, in reading order, with their English titles."""
        return Response(
            ModuleOut(
                [
                    {
                        "slug": m.slug,
                        "audience": m.audience,
                        "version": m.version,
                        "title": m.documents["en"].title,
                    }
                    for m in load_catalog().modules
                ],
                many=True,
            ).data
        )


class CarePlanListApi(ClinicApi):
    @extend_schema(
        operation_id="care_plans_list",
        responses=CarePlanOut(many=True),
        examples=[
            OpenApiExample(
                "Care plans",
                value=[
                    {
                        "code": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                        "name": "Home care after T-VEC treatment",
                        "is_default": True,
                        "modules": ["about-your-treatment", "dressing-care"],
                    }
                ],
            )
        ],
    )
    def get(self, request: Request) -> Response:
        """The clinic's care plans; the default one is made on first use."""
        assignments.default_care_plan(self.key.clinic)
        plans = self.key.clinic.care_plans.prefetch_related("items").order_by("-is_default", "name")
        return Response(CarePlanOut(plans, many=True).data)


ASSIGNMENT = {
    "code": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
    "module": "dressing-care",
    "audience": "both",
    "assigned_at": "2027-01-04T15:05:00Z",
    "care_plan": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "progress": [
        {
            "reader": "patient",
            "reader_code": "0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b",
            "state": "acknowledged",
            "opened_at": "2027-01-05T08:00:00Z",
            "finished_at": "2027-01-05T08:06:00Z",
            "acknowledged_at": "2027-01-05T08:06:00Z",
            "questions_at": None,
            "module_version": 1,
            "language": "es",
            "teach_back": {"answered": 3, "correct": 3},
        }
    ],
}


class AssignmentListApi(ClinicApi):
    def assignment_data(self, patient: Patient) -> list[dict[str, Any]]:
        live = (
            patient.assignments.filter(withdrawn_at__isnull=True)
            .select_related("care_plan")
            .prefetch_related(
                Prefetch("progress", queryset=AssignmentProgress.objects.prefetch_related("answers"))
            )
            .order_by("assigned_at", "pk")
        )
        caregivers = [
            link.caregiver
            for link in patient.caregiver_links.filter(status=CaregiverLink.Status.ACTIVE).select_related(
                "caregiver"
            )
            if link.caregiver is not None
        ]
        return AssignmentOut(
            live, many=True, context={"patient_user": patient.user, "caregivers": caregivers}
        ).data

    @extend_schema(
        operation_id="assignments_list",
        responses=AssignmentOut(many=True),
        examples=[OpenApiExample("Who read what", value=[ASSIGNMENT])],
    )
    def get(self, request: Request, code: UUID) -> Response:
        """The patient's assigned modules with each reader's progress (patient and caregivers)."""
        patient = self.patient(code)
        self.audit("assignments.viewed", patient)
        return Response(self.assignment_data(patient))

    @extend_schema(
        operation_id="assignments_create",
        request=AssignIn,
        responses={201: AssignmentOut(many=True), **ERRORS},
        examples=[
            OpenApiExample(
                "Default care plan",
                value={"care_plan": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
                request_only=True,
            ),
            OpenApiExample(
                "Modules", value={"modules": ["dressing-care", "when-to-call"]}, request_only=True
            ),
            OpenApiExample("Assigned", value=[ASSIGNMENT], response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Unknown module",
                value={"modules": ["There is no module called wound-care."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Assign modules, or every module of a care plan; ones already assigned stay as they are.
        Answers with all the patient's assignments."""
        patient = self.patient(code)
        data = AssignIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            if plan_code := data.validated_data.get("care_plan"):
                plan = self.key.clinic.care_plans.filter(code=plan_code).first()
                if plan is None:
                    raise serializers.ValidationError(
                        {"care_plan": [_("This clinic has no care plan with this code.")]}
                    )
                assignments.assign_care_plan(
                    patient=patient, by=request.user, care_plan=plan, request=request._request
                )
            else:
                assignments.assign_modules(
                    patient=patient,
                    by=request.user,
                    slugs=data.validated_data["modules"],
                    request=request._request,
                )
        except DjangoValidationError as error:
            raise serializers.ValidationError({"modules": error.messages}) from None
        return Response(self.assignment_data(patient), status=status.HTTP_201_CREATED)


class AssignmentDetailApi(ClinicApi):
    @extend_schema(
        operation_id="assignments_withdraw",
        responses={
            204: None,
            404: OpenApiResponse(DetailOut, description="No live assignment with this code."),
        },
        examples=[NOT_FOUND],
    )
    def delete(self, request: Request, code: UUID) -> Response:
        """Withdraw an assignment; progress so far stays as history."""
        try:
            assignment = Assignment.objects.select_related("patient__clinic").get(
                code=code, patient__clinic=self.key.clinic, withdrawn_at__isnull=True
            )
        except Assignment.DoesNotExist:
            raise Http404 from None
        assignments.withdraw_assignment(assignment=assignment, by=request.user, request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Reminders ---------------------------------------------------------------------------------


class ReminderStateListApi(ClinicListApi):
    serializer_class = ReminderStateOut

    @extend_schema(
        operation_id="reminders_list",
        examples=[
            OpenApiExample(
                "Delivery state",
                value=[
                    {
                        "code": "7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7",
                        "rule": "dressing_check",
                        "recipient": "patient",
                        "day": "2027-01-05",
                        "due_at": "2027-01-05T14:00:00Z",
                        "status": "sent",
                        "deliveries": [
                            {
                                "channel": "email",
                                "status": "sent",
                                "attempts": 1,
                                "sent_at": "2027-01-05T14:00:03Z",
                            }
                        ],
                    }
                ],
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The patient's reminders, newest first, with each channel's delivery state."""
        self.audit("patient.reminders_viewed", self.patient(self.kwargs["code"]))
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Reminder]:
        return (
            Reminder.objects.filter(patient__code=self.kwargs["code"], patient__clinic=self.key.clinic)
            .prefetch_related("deliveries")
            .order_by("-due_at", "pk")
        )
