"""The operator's status report: /healthz stays a cheap « the process and the database answer »
for the load balancer; /healthz/status checks every part and is for the operator only."""

import hmac

from django.conf import settings
from django.http import Http404, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from parvis import health


def _presented_token(request) -> str:
    authorization = request.headers.get("Authorization", "")
    scheme, _space, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("X-Parvis-Status-Token", "").strip()


def is_operator(request) -> bool:
    """The monitoring's token (PARVIS_STATUS_TOKEN) or a superuser's session."""
    expected = settings.PARVIS_STATUS_TOKEN
    presented = _presented_token(request)
    if expected and presented and hmac.compare_digest(presented.encode(), expected.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user and user.is_active and user.is_superuser)


@never_cache
@require_GET
def status(request):
    # 404, not 403: to anyone else the address does not exist.
    if not is_operator(request):
        raise Http404
    result = health.report()
    return JsonResponse(result, status=200 if result["status"] == "ok" else 503)
