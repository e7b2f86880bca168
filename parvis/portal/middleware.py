from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation


class FrenchFirstLocaleMiddleware:
    """French unless the visitor chose another language with the language switch (the cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language and serve English to a
    resident whose phone is set in English; a commune's portal speaks French first.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response


# The response attributes by which a view (csp.decorators, payments' form-action) changes its
# own policy: a response carrying any of them has its header built by django-csp as it is.
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)

# The two headers built from the settings alone (report_only → header), emptied when a test
# changes the settings (setting_changed below).
_settings_policies: dict[bool, str] = {}


def settings_policy(report_only: bool) -> str:
    """django-csp's header for a response without a policy of its own and without a nonce: a
    function of the settings only, built once per process instead of on every response (issue
    23, the per-request floor: build_policy and its dataclass walk cost about 0.1 ms twice a
    request)."""
    policy = _settings_policies.get(report_only)
    if policy is None:
        policy = _settings_policies[report_only] = build_policy(report_only=report_only)
    return policy


@receiver(setting_changed)
def _forget_policies(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _settings_policies.clear()


class SettingsPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, the same headers, the settings' policy built once: a response
    with a policy of its own (csp_update, csp_replace, …) or a request that used its nonce goes
    through django-csp unchanged."""

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_POLICY
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response
        for report_only, header, exempt, setting in (
            (False, HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (True, HEADER_REPORT_ONLY, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = settings_policy(report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
