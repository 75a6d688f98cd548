"""JSON endpoints for the app (DRF, session authentication, under /api/v1/)."""

from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import push, services
from portal.models import Reminder
from portal.queries import access_reminder, list_inbox_for, list_push_subscriptions_for
from portal.reminders import reminder_title

# Why an endpoint is refused, in words (codes from push.BlockedAddress).
ENDPOINT_REFUSALS = {
    "scheme": _("A push endpoint must be an https address."),
    "url": _("This is not a push endpoint address."),
    "unresolvable": _("We could not find this push service. Try again later."),
    "address": _("This push endpoint points to an address we do not send to."),
}


class PushKeyOut(serializers.Serializer):
    public_key = serializers.CharField()


class PushSubscriptionOut(serializers.Serializer):
    code = serializers.UUIDField()


class PushKeyApi(APIView):
    """The VAPID public key for pushManager.subscribe({applicationServerKey})."""

    @extend_schema(responses=PushKeyOut)
    def get(self, request: Request) -> Response:
        return Response({"public_key": push.vapid_public_key()})


class PushKeysIn(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


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
    @extend_schema(request=SubscribePushIn, responses={201: PushSubscriptionOut, 409: None})
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
    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: UUID) -> Response:
        subscription = get_object_or_404(list_push_subscriptions_for(request.user), code=code)
        services.unsubscribe_push(subscription=subscription)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReminderOut(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    patient = serializers.UUIDField(source="patient.code")

    class Meta:
        model = Reminder
        fields = ["code", "title", "rule", "patient", "due_at", "read_at"]

    def get_title(self, reminder: Reminder) -> str:
        return reminder_title(reminder)


class ReminderListApi(generics.ListAPIView):
    """The user's in-app inbox, newest first."""

    serializer_class = ReminderOut

    def get_queryset(self) -> QuerySet[Reminder]:
        return list_inbox_for(self.request.user)


class ReminderReadApi(APIView):
    @extend_schema(request=None, responses=ReminderOut)
    def post(self, request: Request, code: UUID) -> Response:
        reminder = access_reminder(request.user, code)
        services.mark_reminder_read(reminder=reminder)
        return Response(ReminderOut(reminder).data)
