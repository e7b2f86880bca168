"""« S'identifier avec FranceConnect », under /<commune>/franceconnect/: the way out to the
provider, the way back, the first login (link an existing space or create one), the e-mailed
link, and the way back from FranceConnect's logout. The OpenID Connect checks are in
parvis.accounts.franceconnect, the writes in services_franceconnect."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts import franceconnect, services, services_franceconnect
from parvis.accounts.decorators import is_citizen_of
from parvis.accounts.forms_franceconnect import (
    FranceConnectSignupForm,
    LinkByEmailForm,
    LinkWithPasswordForm,
)
from parvis.communes.links import safe_next, url_if_exists

security_log = logging.getLogger("parvis.security")

ID_TOKEN_KEY = "parvis.franceconnect.id_token"  # noqa: S105 — the logged-in session's, for the logout


def _identity_key(commune) -> str:
    return f"parvis.franceconnect.identity.{commune.pk}"


def _next_key(commune) -> str:
    return f"parvis.franceconnect.next.{commune.pk}"


ERRORS = {
    franceconnect.FranceConnectError.CANCELLED: (
        gettext_lazy("Connexion avec FranceConnect annulée"),
        gettext_lazy(
            "Vous avez annulé l'identification sur FranceConnect : vous n'êtes pas connecté."
        ),
        200,
    ),
    franceconnect.FranceConnectError.STATE: (
        gettext_lazy("Connexion avec FranceConnect interrompue"),
        gettext_lazy(
            "La réponse de FranceConnect ne correspond pas à une demande de ce navigateur (lien "
            "ancien, ouvert dans un autre onglet ou session expirée). Par sécurité, vous n'êtes "
            "pas connecté : recommencez."
        ),
        400,
    ),
    franceconnect.FranceConnectError.CODE: (
        gettext_lazy("Connexion avec FranceConnect expirée"),
        gettext_lazy(
            "FranceConnect a refusé l'autorisation, expirée ou déjà utilisée. Vous n'êtes pas "
            "connecté : recommencez."
        ),
        400,
    ),
    franceconnect.FranceConnectError.TOKEN: (
        gettext_lazy("Identité FranceConnect non vérifiée"),
        gettext_lazy(
            "L'identité transmise n'a pas passé les contrôles de sécurité (signature, émetteur, "
            "destinataire, validité ou niveau de garantie). Par sécurité, vous n'êtes pas "
            "connecté."
        ),
        400,
    ),
    franceconnect.FranceConnectError.UNAVAILABLE: (
        gettext_lazy("FranceConnect ne répond pas"),
        gettext_lazy(
            "FranceConnect est indisponible pour le moment ou a répondu une erreur. Réessayez "
            "plus tard, ou connectez-vous avec votre identifiant et votre mot de passe."
        ),
        502,
    ),
    franceconnect.FranceConnectError.DISABLED: (
        gettext_lazy("FranceConnect n'est pas proposé"),
        gettext_lazy("La commune ne propose pas FranceConnect : connectez-vous avec votre compte."),
        404,
    ),
}


def _error_page(request, error: franceconnect.FranceConnectError):
    title, text, status = ERRORS[error.kind]
    if error.kind != franceconnect.FranceConnectError.CANCELLED:
        security_log.warning(
            "franceconnect %s commune=%s ip=%s detail=%s",
            error.kind,
            request.commune.slug,
            services.client_ip(request),
            error.detail[:300],
        )
    return render(
        request,
        "accounts/franceconnect/erreur.html",
        {
            "title": title,
            "text": text,
            "retry": error.kind != franceconnect.FranceConnectError.DISABLED,
        },
        status=status,
    )


def _config_or_error(request):
    config = franceconnect.config_for(request.commune)
    if config is None:
        raise franceconnect.FranceConnectError(franceconnect.FranceConnectError.DISABLED)
    return config


def _callback_url(request) -> str:
    return request.build_absolute_uri(
        reverse("accounts:franceconnect_retour", kwargs={"commune": request.commune.slug})
    )


@never_cache
@require_GET
def connexion(request):
    """« S'identifier avec FranceConnect »: off to the provider (a link, not a form: the
    Content-Security-Policy's form-action would stop a form's redirection to another site)."""
    commune = request.commune
    try:
        config = _config_or_error(request)
        url = franceconnect.authorize_url(request, config, _callback_url(request))
    except franceconnect.FranceConnectError as error:
        return _error_page(request, error)
    next_url = safe_next(request, request.GET.get("next"))
    if next_url:
        request.session[_next_key(commune)] = next_url
    return redirect(url)


def _log_in(request, user, identity) -> None:
    services.log_in(request, user)
    request.session[ID_TOKEN_KEY] = identity.id_token


def _home(request) -> str:
    commune = request.commune
    return request.session.pop(_next_key(commune), None) or reverse(
        "accounts:accueil", kwargs={"commune": commune.slug}
    )


@never_cache
@require_GET
def retour(request):
    """The way back from FranceConnect: every check, then the linked space or the first login."""
    commune = request.commune
    try:
        config = _config_or_error(request)
        identity = franceconnect.complete(request, config)
    except franceconnect.FranceConnectError as error:
        return _error_page(request, error)
    user = services_franceconnect.linked_account(commune=commune, sub=identity.sub)
    if user is not None:
        _log_in(request, user, identity)
        if user.must_choose_password:
            return redirect("accounts:premiere_connexion", commune=commune.slug)
        return redirect(_home(request))
    request.session[_identity_key(commune)] = identity.as_session()
    return redirect("accounts:franceconnect_premiere", commune=commune.slug)


def _pending_identity(request):
    data = request.session.get(_identity_key(request.commune))
    if not data:
        return None
    try:
        return franceconnect.Identity.from_session(data)
    except TypeError:
        return None


@sensitive_post_parameters("relier-password")
@never_cache
@require_http_methods(["GET", "POST"])
def premiere_connexion(request):
    """First login with FranceConnect: link the space one already has (its password, or a link
    e-mailed to it) or create a new one around the certified identity."""
    commune = request.commune
    identity = _pending_identity(request)
    if identity is None or is_citizen_of(request.user, commune):
        return redirect("accounts:connexion", commune=commune.slug)
    action = request.POST.get("action") if request.method == "POST" else None
    signup_open = commune.login_with_email
    password_form = LinkWithPasswordForm(
        request.POST if action == "relier" else None, commune=commune, prefix="relier"
    )
    email_form = LinkByEmailForm(request.POST if action == "lien" else None, prefix="lien")
    signup_form = FranceConnectSignupForm(
        request.POST if action == "creer" else None,
        commune=commune,
        prefix="creer",
        initial={"email": identity.email},
    )
    if action == "relier" and password_form.is_valid():
        result = services.attempt_login(
            request=request,
            commune=commune,
            identifier=password_form.cleaned_data["username"],
            password=password_form.cleaned_data["password"],
        )
        user = result.user or result.unconfirmed  # the password proves it is theirs
        if user is not None:
            try:
                services_franceconnect.link_identity(user=user, identity=identity)
            except services_franceconnect.AlreadyLinked:
                password_form.add_error(
                    None,
                    _(
                        "Cet espace est déjà relié à une autre identité FranceConnect, ou cette "
                        "identité à un autre espace : adressez-vous à la mairie."
                    ),
                )
            else:
                del request.session[_identity_key(commune)]
                _log_in(request, user, identity)
                messages.success(
                    request,
                    _(
                        "Votre espace est relié à FranceConnect : vous pourrez désormais vous "
                        "identifier avec FranceConnect."
                    ),
                )
                if user.must_choose_password:
                    return redirect("accounts:premiere_connexion", commune=commune.slug)
                return redirect(_home(request))
        elif result.locked_until is not None:
            password_form.add_error(None, services.staff_retry_message(result.locked_until))
        else:
            password_form.add_error(None, commune.identifiant_incorrect)
    elif action == "lien" and signup_open and email_form.is_valid():
        services_franceconnect.send_link_email(
            commune=commune, email=email_form.cleaned_data["email"], identity=identity
        )
        messages.success(
            request,
            _(
                "Si un espace correspond à l'adresse %(email)s, un courriel vient de lui être "
                "envoyé : son lien, valable %(minutes)s minutes, relie cet espace à votre "
                "identité FranceConnect."
            )
            % {
                "email": email_form.cleaned_data["email"],
                "minutes": services_franceconnect.LINK_MAX_AGE // 60,
            },
        )
        return redirect("accounts:franceconnect_premiere", commune=commune.slug)
    elif action == "creer" and signup_open and signup_form.is_valid():
        data = signup_form.cleaned_data
        user = services_franceconnect.create_account(
            commune=commune,
            identity=identity,
            email=data["email"],
            phone=data["phone"],
            address=data["address"],
            postal_code=data["postal_code"],
            city=data["city"],
        )
        del request.session[_identity_key(commune)]
        _log_in(request, user, identity)
        messages.success(
            request,
            _(
                "Votre espace est créé avec votre identité FranceConnect. Un courriel de "
                "confirmation part à %(email)s. Pour relier votre espace à votre famille, "
                "saisissez la clé que le service vous a remise."
            )
            % {"email": user.email},
        )
        return redirect(_home(request))
    return render(
        request,
        "accounts/franceconnect/premiere_connexion.html",
        {
            "identity": identity,
            "password_form": password_form,
            "email_form": email_form if signup_open else None,
            "signup_form": signup_form if signup_open else None,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def lien(request, token: str):
    """The e-mailed link: a page with a button (a mail scanner opening it uses nothing up)."""
    commune = request.commune
    try:
        user, identity = services_franceconnect.read_link(commune=commune, token=token)
    except services_franceconnect.InvalidLink:
        return render(request, "accounts/franceconnect/lien_invalide.html", status=400)
    if request.method == "POST":
        try:
            services_franceconnect.link_from_email(commune=commune, token=token)
        except services_franceconnect.InvalidLink:
            return render(request, "accounts/franceconnect/lien_invalide.html", status=400)
        messages.success(
            request,
            _(
                "Votre espace est relié à FranceConnect : identifiez-vous maintenant avec "
                "FranceConnect."
            ),
        )
        return redirect("accounts:connexion", commune=commune.slug)
    return render(
        request,
        "accounts/franceconnect/lien.html",
        {"account": user, "identity": identity},
    )


def logout_page(request, *, id_token: str):
    """After Django's logout: the way to FranceConnect's (None when the commune has none).
    A page, not a redirection: the logout is a form, and the Content-Security-Policy's
    form-action stops a form's redirection to another site."""
    config = franceconnect.config_for(request.commune)
    if config is None or not id_token:
        return None
    back_to = request.build_absolute_uri(
        reverse("accounts:franceconnect_sortie", kwargs={"commune": request.commune.slug})
    )
    try:
        url = franceconnect.logout_url(request, config, id_token=id_token, back_to=back_to)
    except franceconnect.FranceConnectError:
        return None  # logged out here; FranceConnect's own session ends with its own
    return render(request, "accounts/franceconnect/deconnexion.html", {"logout_url": url})


@never_cache
@require_GET
def sortie(request):
    """The way back from FranceConnect's logout."""
    commune = request.commune
    try:
        config = _config_or_error(request)
        franceconnect.check_logout(request, config)
    except franceconnect.FranceConnectError as error:
        if error.kind == franceconnect.FranceConnectError.DISABLED:
            return _error_page(request, error)
        messages.info(request, _("Vous êtes déconnecté de votre espace."))
        return redirect("portal:home", commune=commune.slug)
    messages.success(
        request, _("Vous êtes déconnecté de votre espace et de FranceConnect. À bientôt !")
    )
    return redirect("portal:home", commune=commune.slug)


def button_url(commune) -> str | None:
    """The « S'identifier avec FranceConnect » address when the commune offers it."""
    if franceconnect.config_for(commune) is None:
        return None
    return url_if_exists("accounts:franceconnect_connexion", commune.slug)


urlpatterns = [
    path("franceconnect/connexion/", connexion, name="franceconnect_connexion"),
    path("franceconnect/retour/", retour, name="franceconnect_retour"),
    path(
        "franceconnect/premiere-connexion/",
        premiere_connexion,
        name="franceconnect_premiere",
    ),
    path("franceconnect/lien/<str:token>/", lien, name="franceconnect_lien"),
    path("franceconnect/deconnexion/", sortie, name="franceconnect_sortie"),
]
