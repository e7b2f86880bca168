from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse


def is_citizen_of(user, commune) -> bool:
    return (
        user.is_authenticated
        and user.is_active
        and not user.is_staff
        and commune is not None
        and user.commune_id == commune.pk
    )


def citizen_required(view):
    """A logged-in citizen of the commune in the URL; anyone else goes to its login page. An
    account of another commune is never let in (it is asked to log in here)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_citizen_of(request.user, request.commune):
            login = reverse("accounts:connexion", kwargs={"commune": request.commune.slug})
            return redirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        if request.user.must_choose_password:
            return redirect("accounts:premiere_connexion", commune=request.commune.slug)
        return view(request, *args, **kwargs)

    return wrapper
