"""The commune comes from the URL prefix: every view routed under `<slug:commune>/` receives
`request.commune` (an active commune) instead of the slug; an unknown slug is a 404. It is the
request's current commune too (parvis.communes.tenancy): every query of a commune's table says
its commune_id, until the response is made."""

from django.http import Http404
from django.utils.translation import gettext as _

from parvis.communes import tenancy
from parvis.communes.selectors import commune_by_slug


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
        commune = commune_by_slug(slug)
        if commune is None:
            raise Http404(_("Aucune commune n'est hébergée à cette adresse."))
        request.commune = commune
        tenancy.enter(commune.pk)  # undone by __call__ once the response is made
        return None
