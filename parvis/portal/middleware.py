from django.conf import settings
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
