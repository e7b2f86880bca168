from django.contrib.auth.backends import ModelBackend

from parvis.accounts.models import User
from parvis.communes.prepared import Prepared

# The account of every request and its commune in one statement written once: CommuneMiddleware
# takes the commune of the URL from it when it is the account's (issue 23, the per-request floor).
_ACCOUNT = Prepared(lambda pk: User._default_manager.select_related("commune").filter(pk=pk))


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

    def get_user(self, user_id):
        user = _ACCOUNT.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
