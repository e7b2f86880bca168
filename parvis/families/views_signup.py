"""« Créer mon espace » (seed 000) and the confirmation of the e-mail address.

The wizard has four steps (Identité, Adresse, Moyens de contact, Authentification), one address
each; the entries wait in the session (never the password: it is asked on the last step only) and
the account is created on « Valider » only. The answer is the same whether the address already
had an account or not (its owner gets an e-mail instead), and the confirmation link is used by a
button (POST), so that a mail scanner opening the link does not use it up.

The wizard lives in families (it links the new account to households through their service
keys; accounts is below families in the app chain) but keeps its URL names in the « accounts »
namespace (parvis/urls.py) and its templates under accounts/signup/.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts import services
from parvis.accounts.fields import use_commune_postal_code
from parvis.accounts.models import User
from parvis.families.forms_signup import (
    LAST_STEP,
    STEPS,
    CredentialsForm,
    ResendForm,
    key_field_name,
    key_services,
)
from parvis.families.services import KeyRefused, check_service_key, redeem_service_key

APPROXIMATE_MINUTES = 3


class Draft:
    """The wizard's entries in the session, per commune: {"entries": {step: {field: value}},
    "done": [steps validated], "robot": honeypot filled at some step}."""

    def __init__(self, request):
        self.session = request.session
        self.key = f"parvis.signup.{request.commune.pk}"
        stored = self.session.get(self.key) or {}
        self.entries = {int(step): values for step, values in stored.get("entries", {}).items()}
        self.done = set(stored.get("done", []))
        self.robot = bool(stored.get("robot"))

    def save(self):
        self.session[self.key] = {
            "entries": {str(step): values for step, values in self.entries.items()},
            "done": sorted(self.done),
            "robot": self.robot,
        }

    def clear(self):
        self.session.pop(self.key, None)

    def keep(self, step: int, values: dict, *, done: bool):
        self.entries[step] = values
        if done:
            self.done.add(step)
        else:
            self.done.discard(step)
        self.save()

    def first_missing_before(self, step: int) -> int | None:
        """The first step before `step` not validated yet (None when all are)."""
        return next((n for n in range(1, step) if n not in self.done), None)

    def validated_steps(self) -> tuple[dict, int | None]:
        """The cleaned values of the steps before the last, and the first step whose entries
        no longer validate (None when all do)."""
        cleaned = {}
        for step in range(1, LAST_STEP):
            form = STEPS[step][1](data=self.entries.get(step, {}))
            if not form.is_valid():
                return cleaned, step
            cleaned.update(form.cleaned_data)
        return cleaned, None


def _step_url(commune, step: int) -> str:
    if step == 1:
        return reverse("accounts:creer_mon_espace", kwargs={"commune": commune.slug})
    return reverse(
        "accounts:creer_mon_espace_etape", kwargs={"commune": commune.slug, "step": step}
    )


def _sent_key(commune) -> str:
    return f"parvis.signup_sent.{commune.pk}"


def _future_account(cleaned: dict) -> User:
    """An unsaved account with the entries of steps 1-3, for the password's similarity check."""
    return User(
        email=cleaned.get("email", ""),
        first_name=cleaned.get("first_name", ""),
        last_name=cleaned.get("last_name", ""),
    )


def _step_form(request, step: int, draft: Draft, *, data=None, cleaned=None):
    form_class = STEPS[step][1]
    initial = draft.entries.get(step, {})
    if form_class is CredentialsForm:
        return form_class(
            data=data,
            initial=initial,
            services=key_services(request.commune),
            person=_future_account(cleaned or {}),
        )
    form = form_class(data=data, initial=initial)
    use_commune_postal_code(form, request.commune)
    return form


def _render_step(request, step: int, form, *, email: str = "", status: int = 200):
    steps = [{"number": n, "label": label} for n, (label, _form) in STEPS.items()]
    return render(
        request,
        "accounts/signup/step.html",
        {
            "step": step,
            "step_label": STEPS[step][0],
            "steps": steps,
            "last_step": LAST_STEP,
            "next_step": step + 1,
            "form": form,
            "email": email,
            "minutes": APPROXIMATE_MINUTES,
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def wizard_step(request, step: int = 1):
    commune = request.commune
    if not commune.login_with_email:
        # Code famille communes give their accounts at the desk (seed 003).
        if step == 1 and request.method == "GET":
            return render(request, "accounts/signup/unavailable.html")
        raise Http404
    if step not in STEPS:
        raise Http404
    if step == 1 and request.resolver_match.url_name != "creer_mon_espace":
        return redirect(_step_url(commune, 1))  # one address per step
    draft = Draft(request)
    missing = draft.first_missing_before(step)
    if missing is not None:
        return redirect(_step_url(commune, missing))
    cleaned = {}
    if step == LAST_STEP:
        cleaned, invalid = draft.validated_steps()
        if invalid is not None:
            return redirect(_step_url(commune, invalid))

    if request.method == "GET":
        form = _step_form(request, step, draft, cleaned=cleaned)
        return _render_step(request, step, form, email=cleaned.get("email", ""))

    action = request.POST.get("action", "suivant")
    if action == "annuler":
        draft.clear()
        messages.info(request, _("Votre démarche « Créer mon espace » est annulée."))
        return redirect("portal:home", commune=commune.slug)
    form = _step_form(request, step, draft, data=request.POST, cleaned=cleaned)
    if form.robot:
        draft.robot = True
    if action == "precedent" and step > 1:
        # Keep what was typed, valid or not, so that coming back shows it again.
        draft.keep(step, form.stored(), done=step < LAST_STEP and form.is_valid())
        return redirect(_step_url(commune, step - 1))
    if step == LAST_STEP:
        return _finish(request, draft, form, cleaned)
    if not form.is_valid():
        draft.save()
        return _render_step(request, step, form)
    draft.keep(step, form.stored(), done=True)
    return redirect(_step_url(commune, step + 1))


def _finish(request, draft: Draft, form: CredentialsForm, cleaned: dict):
    """« Valider »: create the account, then redeem the keys typed on the last step."""
    commune = request.commune
    ip = services.client_ip(request)
    if form.is_valid():
        if draft.robot:
            # A robot filled the honeypot: answer as if it worked, create nothing.
            return _sent(request, draft, email=cleaned["email"], keys=[])
        if services.signup_rate_limited(commune=commune, ip=ip):
            form.add_error(
                None,
                _(
                    "Trop d'espaces ont été créés depuis votre connexion Internet au cours de la "
                    "dernière heure. Réessayez dans une heure, ou adressez-vous à la mairie."
                ),
            )
            return _render_step(request, LAST_STEP, form, email=cleaned["email"], status=429)
    # The keys are checked before the account exists (even when another field is wrong, so
    # that every error shows at once): a mistyped key is corrected here with every other entry
    # kept. They are redeemed once the account exists.
    typed_keys = form.typed_keys()
    for service, key in typed_keys:
        try:
            check_service_key(commune=commune, raw_key=key, ip=ip)
        except KeyRefused as refusal:
            form.add_error(key_field_name(service), str(refusal))
    if not form.is_valid():
        draft.save()  # the honeypot mark
        return _render_step(request, LAST_STEP, form, email=cleaned["email"])

    password = form.cleaned_data["password1"]
    user = services.create_citizen_account(
        commune=commune,
        email=cleaned["email"],
        password=password,
        civility=cleaned["civility"],
        first_name=cleaned["first_name"],
        last_name=cleaned["last_name"],
        phone=cleaned["phone"],
        address=cleaned["address"],
        postal_code=cleaned["postal_code"],
        city=cleaned["city"],
        ip=ip,
    )
    keys = []
    if user is None:
        # The address already has an account, whose owner got an e-mail. Hash anyway, so that
        # this answer takes as long as a creation; the page below is the same.
        make_password(password)
        keys = [{"label": service.key_label, "refused": ""} for service, _key in typed_keys]
    else:
        for service, key in typed_keys:
            try:
                redeem_service_key(user=user, raw_key=key, ip=ip)
            except KeyRefused as refusal:
                # Taken or revoked between the check and now: the account stays created.
                keys.append({"label": service.key_label, "refused": str(refusal)})
            else:
                keys.append({"label": service.key_label, "refused": ""})
    return _sent(request, draft, email=cleaned["email"], keys=keys)


def _sent(request, draft: Draft, *, email: str, keys: list[dict]):
    draft.clear()
    request.session[_sent_key(request.commune)] = {"email": email, "keys": keys}
    return redirect("accounts:inscription_envoyee", commune=request.commune.slug)


def _require_email_accounts(request):
    if not request.commune.login_with_email:
        raise Http404


@never_cache
@require_GET
def inscription_envoyee(request):
    """« Vérifiez vos courriels »: the same page whether an account was created or not."""
    _require_email_accounts(request)
    sent = request.session.get(_sent_key(request.commune)) or {}
    return render(
        request,
        "accounts/signup/sent.html",
        {
            "email": sent.get("email", ""),
            "keys": sent.get("keys", []),
            "refused_keys": [key for key in sent.get("keys", []) if key["refused"]],
            "days": services.EMAIL_CONFIRMATION_MAX_AGE.days,
            "resend_form": ResendForm(initial={"email": sent.get("email", "")}),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def renvoyer_confirmation(request):
    """« Renvoyer le courriel »: the same answer whatever the address."""
    form = ResendForm(data=request.POST if request.method == "POST" else None)
    status = 200
    if form.is_valid():
        email = form.cleaned_data["email"]
        if services.resend_email_confirmation(
            commune=request.commune, email=email, ip=services.client_ip(request)
        ):
            messages.success(
                request,
                _(
                    "Si un espace correspond à l'adresse %(email)s, un nouveau courriel vient "
                    "de lui être envoyé."
                )
                % {"email": email},
            )
            return redirect("accounts:renvoyer_confirmation", commune=request.commune.slug)
        form.add_error(
            None,
            _(
                "Trop de demandes depuis votre connexion Internet au cours de la dernière "
                "heure. Réessayez dans une heure."
            ),
        )
        status = 429
    return render(request, "accounts/signup/resend.html", {"form": form}, status=status)


def _invalid_link(request, error: services.InvalidToken):
    expired = isinstance(error.__cause__, signing.SignatureExpired)
    return render(
        request,
        "accounts/signup/invalid_link.html",
        {
            "expired": expired,
            "days": services.EMAIL_CONFIRMATION_MAX_AGE.days,
            "resend_form": ResendForm(),
        },
        status=410 if expired else 400,
    )


def _confirmed_key(commune) -> str:
    return f"parvis.email_confirmed.{commune.pk}"


@never_cache
@require_http_methods(["GET", "POST"])
def confirmer_courriel(request, token: str):
    """The link of the confirmation e-mail: a page with a button; the button confirms."""
    commune = request.commune
    try:
        user = services.check_email_confirmation_token(commune=commune, token=token)
    except services.InvalidToken as error:
        return _invalid_link(request, error)
    email_change = bool(user.pending_email)
    if request.method == "GET":
        return render(
            request,
            "accounts/signup/confirm.html",
            {"address": user.pending_email or user.email, "email_change": email_change},
        )
    try:
        services.confirm_email(commune=commune, token=token)
    except services.InvalidToken as error:
        return _invalid_link(request, error)
    request.session[_confirmed_key(commune)] = {"email_change": email_change}
    return redirect("accounts:courriel_confirme", commune=commune.slug)


@never_cache
@require_GET
def courriel_confirme(request):
    confirmed = request.session.get(_confirmed_key(request.commune))
    if confirmed is None:
        return redirect("portal:home", commune=request.commune.slug)
    return render(request, "accounts/signup/confirmed.html", confirmed)


urlpatterns = [
    path("creer-mon-espace/", wizard_step, name="creer_mon_espace"),
    path("creer-mon-espace/etape-<int:step>/", wizard_step, name="creer_mon_espace_etape"),
    path(
        "creer-mon-espace/verifiez-vos-courriels/",
        inscription_envoyee,
        name="inscription_envoyee",
    ),
    path("creer-mon-espace/renvoyer/", renvoyer_confirmation, name="renvoyer_confirmation"),
    path("confirmer/<str:token>/", confirmer_courriel, name="confirmer_courriel"),
    path("courriel-confirme/", courriel_confirme, name="courriel_confirme"),
]
