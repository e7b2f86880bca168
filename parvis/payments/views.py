"""Online payment, under /<commune>/paiement/: « Payer » (starts a transaction and sends the
browser to the provider), the simulator's bank page, the browser's return (shows a status,
changes nothing) and the provider's server notification (the only thing that pays).

Thin views: reads through parvis.payments.selectors (scoped to the commune of the URL and to
the logged-in citizen), writes through parvis.payments.services."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.accounts.services import client_ip
from parvis.billing.pricing import money
from parvis.billing.selectors import invoice_state
from parvis.payments import selectors, services
from parvis.payments.forms import SimulatorCardForm
from parvis.payments.models import Provider, TransactionStatus
from parvis.payments.providers import simulateur as simulator
from parvis.payments.providers.base import RETURN_CANCELLED, RETURN_REFUSED

SECTION = "billing:mon_compte"
SIMULATOR_ACTIONS = {
    "payer": simulator.PAID,
    "refuser": simulator.REFUSED,
    "abandonner": simulator.CANCELLED,
}
DEFERRED = "differer"


def _mon_compte(commune):
    return redirect("billing:mon_compte", commune=commune.slug)


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def payer(request):
    """« Payer » for the invoices ticked (`factures`): the amount is what they have due, computed
    by the server; the browser sends only invoice numbers."""
    commune = request.commune
    if request.method != "POST":
        return _mon_compte(commune)
    ids = request.POST.getlist("factures")
    families = selectors.families_paying(user=request.user, commune=commune, ids=ids)
    if len(families) > 1:
        messages.error(request, _("Réglez les factures d'un seul dossier famille à la fois."))
        return _mon_compte(commune)
    try:
        if not families:
            raise ValidationError(_("Aucune facture à régler parmi celles choisies."))
        transaction, target = services.start_payment(
            famille=families[0], user=request.user, commune=commune, invoice_ids=ids
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return _mon_compte(commune)
    if not target.is_form:
        return redirect(target.url)
    provider = services.provider_for_transaction(transaction)
    response = render(
        request,
        "payments/formulaire.html",
        {
            "transaction": transaction,
            "target": target,
            "provider": provider,
            "amount": money(transaction.amount),
            "current_section": SECTION,
        },
    )
    origin = provider.form_origin()
    if origin:
        # The page posts its form to the provider: the CSP lets this one page do it.
        response._csp_update = {"form-action": [origin]}
    return response


@never_cache
@require_http_methods(["GET"])
@citizen_required
def retour(request, reference):
    """Where the provider sends the browser back: the transaction's state as the server knows
    it (only the notification changes it). Logged; changes nothing."""
    commune = request.commune
    transaction = selectors.family_transaction(
        user=request.user, commune=commune, reference=reference
    )
    if transaction is None:
        raise Http404(_("Ce paiement n'existe pas."))
    state = transaction.status
    if state == TransactionStatus.EN_ATTENTE:
        try:
            claimed = services.provider_for_transaction(transaction).handle_return(request.GET)
        except LookupError:
            claimed = None
        # What the browser says is shown, not believed: only a refusal or an abandonment,
        # which leaves the invoices due either way.
        if claimed == RETURN_REFUSED:
            state = TransactionStatus.REFUSEE
        elif claimed == RETURN_CANCELLED:
            state = TransactionStatus.ABANDONNEE
    services.log_return(
        transaction=transaction,
        query_string=request.META.get("QUERY_STRING", ""),
        remote_addr=client_ip(request),
        shown=state,
    )
    invoices = [share.invoice for share in transaction.shares.all()]
    today = timezone.localdate()
    for invoice in invoices:
        # In words, never by colour: « Facture réglée : 73,80 € », « À régler : … avant le … ».
        invoice.status_words = invoice_state(invoice, today=today).text
    return render(
        request,
        "payments/retour.html",
        {
            "transaction": transaction,
            "state": state,
            "invoices": invoices,
            # An instalment of a payment plan pays part of its invoices: not « réglée(s) ».
            "settled": all(invoice.due_amount <= 0 for invoice in invoices),
            "amount": money(transaction.amount),
            "current_section": SECTION,
        },
    )


NOTIFICATION_MAX_BODY = 64 * 1024


@csrf_exempt
@never_cache
def notification(request, provider):
    """The provider's server notification (GET or POST, as each provider sends it): 200 « OK »
    once handled (a replay included), 400 or 403 otherwise; never a server error."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    if provider not in Provider.values:
        raise Http404
    # A bank's notification is a few hundred bytes: a larger body is refused before it is read.
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > NOTIFICATION_MAX_BODY:
        return HttpResponse(
            "trop volumineuse", status=413, content_type="text/plain; charset=utf-8"
        )
    outcome = services.handle_notification(
        commune=request.commune,
        provider=provider,
        query_string=request.META.get("QUERY_STRING", ""),
        body=request.body,
        remote_addr=client_ip(request),
        method=request.method,
    )
    text = "OK" if outcome.handled else outcome.text
    return HttpResponse(text, status=outcome.status, content_type="text/plain; charset=utf-8")


@never_cache
@require_http_methods(["GET", "POST"])
def simulateur(request, reference):
    """The simulator's « bank » page for a transaction waiting for it: no login (a bank's page),
    only known references of this commune still « en attente »."""
    commune = request.commune
    transaction = selectors.pending_simulator_transaction(commune=commune, reference=reference)
    if transaction is None or not settings.PARVIS_PAYMENT_SIMULATOR:
        raise Http404(_("Ce paiement n'existe pas ou est terminé."))
    form = SimulatorCardForm()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in SIMULATOR_ACTIONS and action != DEFERRED:
            return redirect("payments:simulateur", commune=commune.slug, reference=reference)
        paying = action in ("payer", DEFERRED)
        form = SimulatorCardForm(request.POST)
        if not paying or form.is_valid():
            if action != DEFERRED:
                services.simulate_notification(
                    transaction=transaction,
                    result=SIMULATOR_ACTIONS[action],
                    remote_addr=client_ip(request),
                )
            return redirect("payments:retour", commune=commune.slug, reference=reference)
    regies = sorted({share.invoice.regie.name for share in transaction.shares.all()})
    return render(
        request,
        "payments/simulateur.html",
        {
            "transaction": transaction,
            "form": form,
            "merchant": ", ".join(regies) or commune.name,
            "amount": money(transaction.amount),
        },
    )
