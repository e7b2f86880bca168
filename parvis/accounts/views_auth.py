"""Logging in (e-mail or code famille) and out, first login with a code famille, forgotten
password, and « Mon accueil », under /<commune>/."""

from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from parvis.accounts import selectors, services, views_franceconnect
from parvis.accounts.decorators import is_citizen_of
from parvis.accounts.forms_auth import (
    FirstLoginForm,
    LoginForm,
    PasswordResetRequestForm,
    SetNewPasswordForm,
)
from parvis.accounts.models import User
from parvis.communes.links import safe_next, url_if_exists

# The reset token goes from the e-mailed URL into the session, and the page is served at a URL
# with this placeholder instead (as Django's PasswordResetConfirmView does), so the token never
# sits in the address bar, the history or a Referer header. (A « Referrer-Policy: no-referrer »
# header instead would make browsers send « Origin: null » with the form, which Django's CSRF
# check refuses.)
RESET_SESSION_KEY = "_parvis_password_reset_token"
RESET_URL_TOKEN = "choisir"  # noqa: S105 — a placeholder; a real token always holds a dash


def _home_of_space(commune) -> str:
    return reverse("accounts:accueil", kwargs={"commune": commune.slug})


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def connexion(request):
    commune = request.commune
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and is_citizen_of(request.user, commune):
        return redirect(next_url or _home_of_space(commune))
    form = LoginForm(request.POST if request.method == "POST" else None, commune=commune)
    unconfirmed = None
    if form.is_valid():
        result = services.attempt_login(
            request=request,
            commune=commune,
            identifier=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
        )
        if result.user is not None:
            services.log_in(request, result.user)
            if result.user.must_choose_password:
                return redirect("accounts:premiere_connexion", commune=commune.slug)
            return redirect(next_url or _home_of_space(commune))
        if result.locked_until is not None:
            form.add_error(None, _retry_message(result.locked_until))
        elif result.unconfirmed is not None:
            unconfirmed = result.unconfirmed
            form.add_error(
                None,
                _(
                    "Votre adresse électronique n'est pas encore confirmée : cliquez d'abord sur "
                    "le lien du courriel reçu à la création de votre espace."
                ),
            )
        else:
            form.add_error(None, commune.identifiant_incorrect)
    return render(
        request,
        "accounts/auth/connexion.html",
        {
            "form": form,
            "next_url": next_url,
            "unconfirmed": unconfirmed,
            "resend_url": url_if_exists("accounts:renvoyer_confirmation", commune.slug)
            if unconfirmed is not None
            else None,
            "signup_url": url_if_exists("accounts:creer_mon_espace", commune.slug),
        },
    )


def _retry_message(until) -> str:
    """The same words whatever holds the attempt back (this address, this identifier, both):
    they never tell whether the identifier has an account."""
    seconds = services.seconds_to_wait(until)
    if seconds < 60:
        return ngettext(
            "Trop d'essais infructueux. Réessayez dans %(seconds)d seconde.",
            "Trop d'essais infructueux. Réessayez dans %(seconds)d secondes.",
            seconds,
        ) % {"seconds": seconds}
    return _("Trop d'essais infructueux. Réessayez après %(time)s.") % {
        "time": services.retry_time(until)
    }


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def premiere_connexion(request):
    """First login with a code famille: the family's own password and e-mail."""
    commune = request.commune
    user = request.user
    if not is_citizen_of(user, commune):
        return redirect("accounts:connexion", commune=commune.slug)
    if not user.must_choose_password:
        return redirect("accounts:accueil", commune=commune.slug)
    form = FirstLoginForm(
        request.POST if request.method == "POST" else None,
        user=user,
        initial={"email": user.pending_email or user.email},
    )
    if form.is_valid():
        services.complete_first_login(
            user=user,
            password=form.cleaned_data["new_password1"],
            email=form.cleaned_data["email"],
        )
        update_session_auth_hash(request, user)
        messages.success(
            request,
            _(
                "Votre mot de passe est enregistré. Un lien de confirmation vient de partir à "
                "%(email)s : cliquez dessus pour confirmer votre adresse. En attendant, "
                "connectez-vous avec votre code famille."
            )
            % {"email": form.cleaned_data["email"]},
        )
        return redirect("accounts:accueil", commune=commune.slug)
    return render(request, "accounts/auth/premiere_connexion.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def mot_de_passe_oublie(request):
    """The same answer whether or not the identifier names an account, and when over the rate
    limit: nothing tells which identifiers exist."""
    commune = request.commune
    form = PasswordResetRequestForm(
        request.POST if request.method == "POST" else None, commune=commune
    )
    if form.is_valid():
        services.request_password_reset(
            commune=commune,
            identifier=form.cleaned_data["identifier"],
            ip=services.client_ip(request),
        )
        return render(request, "accounts/auth/mot_de_passe_oublie_envoye.html")
    return render(request, "accounts/auth/mot_de_passe_oublie.html", {"form": form})


def _reset_user(commune, uidb64: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError, ValidationError):
        return None
    return selectors.resettable_account(commune=commune, pk=pk)


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def nouveau_mot_de_passe(request, uidb64: str, token: str):
    """The link of the e-mail: single use (the token signs the password hash and the last login)
    and valid PASSWORD_RESET_TIMEOUT (one hour)."""
    commune = request.commune
    user = _reset_user(commune, uidb64)
    if token != RESET_URL_TOKEN:
        if user is not None and default_token_generator.check_token(user, token):
            request.session[RESET_SESSION_KEY] = token
            return redirect(
                "accounts:nouveau_mot_de_passe",
                commune=commune.slug,
                uidb64=uidb64,
                token=RESET_URL_TOKEN,
            )
        return render(request, "accounts/auth/lien_invalide.html")
    token = request.session.get(RESET_SESSION_KEY, "")
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "accounts/auth/lien_invalide.html")
    form = SetNewPasswordForm(request.POST if request.method == "POST" else None, user=user)
    if form.is_valid():
        services.set_password(user=user, password=form.cleaned_data["new_password1"])
        del request.session[RESET_SESSION_KEY]
        messages.success(
            request,
            _("Votre mot de passe est changé. Connectez-vous avec votre nouveau mot de passe."),
        )
        return redirect("accounts:connexion", commune=commune.slug)
    return render(
        request, "accounts/auth/nouveau_mot_de_passe.html", {"form": form, "account": user}
    )


@require_POST
def deconnexion(request):
    id_token = request.session.get(views_franceconnect.ID_TOKEN_KEY, "")
    logout(request)
    if id_token:
        # Opened with FranceConnect: its own session ends too (id_token_hint, state).
        page = views_franceconnect.logout_page(request, id_token=id_token)
        if page is not None:
            return page
    messages.success(request, _("Vous êtes déconnecté de votre espace. À bientôt !"))
    return redirect("portal:home", commune=request.commune.slug)


urlpatterns = [
    path("connexion/", connexion, name="connexion"),
    path("premiere-connexion/", premiere_connexion, name="premiere_connexion"),
    path("mot-de-passe-oublie/", mot_de_passe_oublie, name="mot_de_passe_oublie"),
    path(
        "mot-de-passe-oublie/<str:uidb64>/<str:token>/",
        nouveau_mot_de_passe,
        name="nouveau_mot_de_passe",
    ),
    path("deconnexion/", deconnexion, name="deconnexion"),
]
