from django.contrib.auth.backends import ModelBackend

from parvis.accounts.models import User


class CommuneBackend(ModelBackend):
    """Citizens log in within their commune, by e-mail or « code famille » (per the commune's
    modes). Staff accounts never log in here."""

    def authenticate(self, request, commune=None, identifier=None, password=None, **kwargs):
        if commune is None or identifier is None or password is None:
            return None
        from parvis.accounts.services import find_citizen  # services import this module's models

        user = find_citizen(commune=commune, identifier=identifier)
        if user is None:
            # Hash anyway, so an unknown identifier takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
