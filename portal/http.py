from django.http import HttpRequest

from portal.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
