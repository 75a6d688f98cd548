"""JSON endpoints for the app (DRF, session authentication, under /api/v1/)."""

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import caregivers, push, pwa, services
from portal.models import Reminder
from portal.queries import (
    INBOX_ROW_FIELDS,
    access_reminder,
    count_inbox_for,
    list_assigned_module_slugs_for,
    list_followed_clinics_for,
    list_inbox_for,
    list_push_subscriptions_for,
)
from portal.reminders import reminder_title
from portal.sqlonce import Counted

# Why an endpoint is refused, in words (codes from push.BlockedAddress).
ENDPOINT_REFUSALS = {
    "scheme": _("A push endpoint must be an https address."),
    "url": _("This is not a push endpoint address."),
    "unresolvable": _("We could not find this push service. Try again later."),
    "address": _("This push endpoint points to an address we do not send to."),
}


class DetailOut(serializers.Serializer):
    detail = serializers.CharField()


class PushKeyOut(serializers.Serializer):
    public_key = serializers.CharField()


class PushSubscriptionOut(serializers.Serializer):
    code = serializers.UUIDField()


class PushKeyApi(APIView):
    """The VAPID public key for pushManager.subscribe({applicationServerKey})."""

    @extend_schema(
        responses=PushKeyOut,
        examples=[
            OpenApiExample(
                "Key",
                value={
                    "public_key": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response({"public_key": push.vapid_public_key()})


class PushKeysIn(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)

    # A key the worker cannot encrypt with is refused here: stored, it would only fail at
    # every send, be retried with backoff, and never be removed.
    def validate_p256dh(self, value: str) -> str:
        try:
            push.check_browser_key(value)
        except ValueError:
            raise serializers.ValidationError(
                _("This push key (p256dh) is not a P-256 public key in base64url.")
            ) from None
        return value

    def validate_auth(self, value: str) -> str:
        try:
            push.check_auth_secret(value)
        except ValueError:
            raise serializers.ValidationError(
                _("This push secret (auth) is not 16 bytes in base64url.")
            ) from None
        return value


class SubscribePushIn(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysIn()

    def validate_endpoint(self, value: str) -> str:
        # The worker POSTs to this address: public https push services only, so a user cannot
        # make the server call into its own network (the worker checks again at each send).
        try:
            push.check_endpoint(value)
        except push.BlockedAddress as refused:
            raise serializers.ValidationError(ENDPOINT_REFUSALS[refused.reason]) from None
        return value


class PushSubscriptionListApi(APIView):
    @extend_schema(
        request=SubscribePushIn,
        responses={201: PushSubscriptionOut, 409: None},
        examples=[
            OpenApiExample(
                "Subscription",
                value={
                    "endpoint": "https://push.example.net/send/abc",
                    "keys": {"p256dh": "BNcR…", "auth": "tBHI…"},
                },
                request_only=True,
            ),
            OpenApiExample(
                "Stored",
                value={"code": "2b1a0f9e-8d7c-4b6a-9e5f-4d3c2b1a0f9e"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request) -> Response:
        data = SubscribePushIn(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            subscription = services.subscribe_push(
                user=request.user,
                endpoint=data.validated_data["endpoint"],
                p256dh=data.validated_data["keys"]["p256dh"],
                auth=data.validated_data["keys"]["auth"],
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ValidationError as refused:
            return Response({"endpoint": refused.messages, "code": "taken"}, status=status.HTTP_409_CONFLICT)
        return Response({"code": str(subscription.code)}, status=status.HTTP_201_CREATED)


class PushSubscriptionDetailApi(APIView):
    @extend_schema(
        responses={204: None, 404: OpenApiResponse(DetailOut, description="Not one of your devices.")},
        examples=[
            OpenApiExample(
                "Not found", value={"detail": "Not found."}, response_only=True, status_codes=["404"]
            )
        ],
    )
    def delete(self, request: Request, code: UUID) -> Response:
        subscription = get_object_or_404(list_push_subscriptions_for(request.user), code=code)
        services.unsubscribe_push(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OfflineModuleOut(serializers.Serializer):
    slug = serializers.SlugField()
    url = serializers.CharField()


class OfflinePhonesOut(serializers.Serializer):
    clinic = serializers.CharField()
    daytime = serializers.CharField()
    after_hours = serializers.CharField()


class OfflineListOut(serializers.Serializer):
    reader = serializers.CharField()
    until = serializers.DateTimeField()
    language = serializers.CharField()
    modules = OfflineModuleOut(many=True)
    phones = OfflinePhonesOut(many=True)
    hide_dressing_steps = serializers.BooleanField(
        help_text="A caregiver who must not handle dressings: guide pages leave out the dressing-change steps."
    )


class OfflineListApi(APIView):
    """What the signed-in person needs with no network: the modules their care team gave them
    (in their language) and their care team's numbers. The service worker keeps it on the
    device until the sign-in ends (``until``) or someone else signs in."""

    @extend_schema(
        responses=OfflineListOut,
        examples=[
            OpenApiExample(
                "A patient's list",
                value={
                    "reader": "3f9c0a51d2e84b7c6a10",
                    "until": "2026-03-15T09:00:00Z",
                    "language": "es",
                    "modules": [{"slug": "dressing-care", "url": "/es/guide/dressing-care/"}],
                    "phones": [
                        {"clinic": "North Clinic", "daytime": "+1 555 0100", "after_hours": "+1 555 0199"}
                    ],
                    "hide_dressing_steps": False,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        user = request.user
        with translation.override(user.language):
            modules = [
                {"slug": slug, "url": reverse("education:module-detail", args=[slug])}
                for slug in list_assigned_module_slugs_for(user)
            ]
        phones = [
            {"clinic": clinic.name, "daytime": clinic.phone_daytime, "after_hours": clinic.phone_after_hours}
            for clinic in list_followed_clinics_for(user)
        ]
        data = {
            "reader": pwa.reader_tag(user),
            "until": request.session.get_expiry_date(),
            "language": user.language,
            "modules": modules,
            "phones": phones,
            "hide_dressing_steps": caregivers.hides_dressing_steps(user),
        }
        return Response(OfflineListOut(data).data)


class ReminderOut(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    patient = serializers.UUIDField(source="patient.code")

    class Meta:
        model = Reminder
        fields = ["code", "title", "rule", "patient", "due_at", "read_at"]

    def get_title(self, reminder: Reminder) -> str:
        return reminder_title(reminder)

    def to_representation(self, reminder: Reminder) -> dict[str, Any]:
        """DRF's own walk over the fields, written out (50 rows a page): the same fields, in
        the same order, each turned into JSON by its own field."""
        fields = self.fields
        read_at = reminder.read_at
        return {
            "code": fields["code"].to_representation(reminder.code),
            "title": reminder_title(reminder),
            "rule": fields["rule"].to_representation(reminder.rule),
            "patient": fields["patient"].to_representation(reminder.patient.code),
            "due_at": fields["due_at"].to_representation(reminder.due_at),
            "read_at": None if read_at is None else fields["read_at"].to_representation(read_at),
        }


REMINDER = {
    "code": "7c6b5a49-3827-4615-a4b3-c2d1e0f9a8b7",
    "title": "Check the dressings today",
    "rule": "dressing_check",
    "patient": "3f0c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f",
    "due_at": "2027-01-05T14:00:00Z",
    "read_at": None,
}


class ReminderListApi(generics.ListAPIView):
    """The user's in-app inbox, newest first."""

    serializer_class = ReminderOut

    @extend_schema(examples=[OpenApiExample("Inbox", value=[REMINDER], response_only=True)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Reminder]:
        return list_inbox_for(self.request.user).only(*INBOX_ROW_FIELDS)

    def paginate_queryset(self, queryset: QuerySet[Reminder]) -> list[Reminder] | None:
        # The inbox's size from SQL built once per process (portal/sqlonce.py).
        user = self.request.user
        rows = super().paginate_queryset(Counted(queryset, count_inbox_for(user)))  # type: ignore[arg-type]
        if rows is None:
            return None
        for reminder in rows:
            reminder.recipient = user  # the inbox's rows are the reader's own (its WHERE)
        # As the HTML inbox shows them: a caregiver who must no longer handle dressings reads an
        # old dressing check as the safety reminder.
        handles: dict[int, bool] = {}
        return [caregivers.as_seen_by(user, reminder, handles=handles) for reminder in rows]


class ReminderReadApi(APIView):
    @extend_schema(request=None, responses=ReminderOut, examples=[OpenApiExample("Read", value=REMINDER)])
    def post(self, request: Request, code: UUID) -> Response:
        reminder = access_reminder(request.user, code)
        services.mark_reminder_read(reminder=reminder)
        return Response(ReminderOut(caregivers.as_seen_by(request.user, reminder)).data)
