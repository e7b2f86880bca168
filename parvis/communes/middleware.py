"""The commune comes from the URL prefix: every view routed under `<slug:commune>/` receives
`request.commune` (an active commune) instead of the slug; an unknown slug is a 404. It is the
request's current commune too (parvis.communes.tenancy): every query of a commune's table says
its commune_id, until the response is made.

A logged-in account comes with its commune (parvis.accounts.backends reads both in one
statement): when the URL names that commune, and it is active, it is the one of the request, read
in the same request as a query of its slug would have read it, so a family's page does not read
it twice (issue 23, the per-request floor)."""

from django.http import Http404
from django.utils.translation import gettext as _

from parvis.communes import tenancy
from parvis.communes.selectors import commune_by_slug


def account_commune(request, slug: str):
    """The commune of the logged-in account when the URL names it, it is active and it was read
    with the account; None otherwise (then it is read by its slug)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.commune_id is None:
        return None
    field = user._meta.get_field("commune")
    if not field.is_cached(user):
        return None
    commune = field.get_cached_value(user)
    if commune.slug != slug or not commune.is_active:
        return None
    return commune


class CommuneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.commune = None
        token = tenancy.enter(None)
        try:
            return self.get_response(request)
        finally:
            tenancy.leave(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.pop("commune", None)
        if slug is None:
            return None
        commune = account_commune(request, slug) or commune_by_slug(slug)
        if commune is None:
            raise Http404(_("Aucune commune n'est hébergée à cette adresse."))
        request.commune = commune
        tenancy.enter(commune.pk)  # undone by __call__ once the response is made
        return None
