"""Who asks on the citizen's side of « démarches », and the one guard of the pages of a
procedure (its page, the wizard's steps, the summary).

An account holder's draft is theirs; an anonymous draft is tied to the browser's session by a
random key kept in the session (`DRAFT_KEY_SESSION`), so only that session continues it.
"""

from __future__ import annotations

import secrets
from functools import wraps

from django.http import Http404
from django.shortcuts import redirect

from parvis.accounts.decorators import is_citizen_of
from parvis.communes.links import url_if_exists
from parvis.demarches import selectors, services
from parvis.demarches.links import OWN_PAGES, login_url, page_url
from parvis.demarches.models import Audience, Procedure

DRAFT_KEY_SESSION = "parvis.demarches.draft_key"  # ties anonymous drafts to the session


def citizen(request):
    """The logged-in citizen of this commune, or None (anonymous, an agent, another commune's
    account: they file as anyone without an account)."""
    return request.user if is_citizen_of(request.user, request.commune) else None


def session_draft_key(request, *, create: bool = False) -> str:
    key = request.session.get(DRAFT_KEY_SESSION, "")
    if not key and create:
        key = secrets.token_urlsafe(32)
        request.session[DRAFT_KEY_SESSION] = key
    return key


def _own_page_redirect(request, slug: str):
    """A procedure of OWN_PAGES is not filled through the wizard: its page, its steps and its
    summary lead to its own page (GET), nothing is created (POST); 404 while that page does not
    exist. None for any other procedure."""
    if slug not in OWN_PAGES:
        return None
    url = url_if_exists(OWN_PAGES[slug], request.commune.slug)
    if url is None:
        raise Http404
    return redirect(url)


def _gate(request, procedure: Procedure):
    """The answer when this visitor may not go on with `procedure`'s wizard, else None: the
    login page for a procedure that needs an account, the first-login page, or the procedure's
    page (which says why) when the account may not file it."""
    if procedure.audience == Audience.ANYONE:
        return None
    user = citizen(request)
    if user is None:
        next_url = request.get_full_path() if request.method == "GET" else page_url(procedure)
        return redirect(login_url(request.commune, next_url))
    if user.must_choose_password:
        return redirect("accounts:premiere_connexion", commune=request.commune.slug)
    if not services.may_file(procedure, user):
        return redirect(page_url(procedure))
    return None


def procedure_view(view=None, *, open_page: bool = False):
    """The guard of a procedure's pages, in order: a procedure filled in its own page leads
    there; a procedure the commune does not offer is a 404; a visitor who may not file it goes
    to the login page, the first-login page or the procedure's page (`_gate`). The view is
    called with the procedure in place of its slug: `view(request, procedure, **kwargs)`.

    `open_page`: the procedure's own page, whose GET anyone may read (it says why they may not
    go on); only its POST (« Commencer ») is guarded."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, slug: str, **kwargs):
            response = _own_page_redirect(request, slug)
            if response is not None:
                return response
            procedure = selectors.offered_procedure(commune=request.commune, slug=slug)
            if procedure is None:
                raise Http404
            if not (open_page and request.method == "GET"):
                response = _gate(request, procedure)
                if response is not None:
                    return response
            return view(request, procedure, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate
