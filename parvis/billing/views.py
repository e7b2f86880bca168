"""« Mon compte », under /<commune>/mon-espace/factures/: the family's invoices grouped by
category with their status in words and the balance (« FACTURATION UNIQUE »), one invoice's
detail with its lines, and its « Paiements » with the « Payer » button.

The seed's path: « Cliquez sur la facture, Vérifiez le montant et cliquez sur « Paiements »,
Cliquez sur le bouton « Payer » ». « Payer » posts only the invoices' ids (`factures`) to
payments:payer, which recomputes every amount: no amount ever leaves the browser.

Thin views: reads through parvis.billing.selectors, scoped to the commune of the URL and to the
families of the logged-in account (another family's or commune's invoice → 404)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from parvis.accounts.decorators import citizen_required
from parvis.billing import direct_debit, selectors, selectors_compte, selectors_plans

SECTION = "billing:mon_compte"
PER_PAGE = 24


def _with_state(invoices, today, debit_dates=None):
    if debit_dates is None:
        debit_dates = direct_debit.debit_dates(invoices)  # « prélevé le … » (issue 19)
    for invoice in invoices:
        invoice.state = selectors.invoice_state(
            invoice, today=today, debit_on=debit_dates.get(invoice.pk)
        )
    return invoices


def _groups(invoices) -> list[dict]:
    """The page's invoices under their headings: their category (« CLASSES TRANSPLANTÉES »),
    then « Factures annulées » for the cancelled ones, which the selector orders last."""
    groups: list[dict] = []
    for invoice in invoices:
        if invoice.state.code == "annulee":
            heading = _("Factures annulées")
        else:
            heading = invoice.category or _("Autres factures")
        if not groups or groups[-1]["heading"] != heading:
            groups.append({"heading": heading, "invoices": []})
        groups[-1]["invoices"].append(invoice)
    return groups


def _invoice_or_404(request, pk):
    invoice = selectors.invoice_of(famille=_families(request), commune=request.commune, pk=pk)
    if invoice is None:
        raise Http404(_("Cette facture n'existe pas."))
    _with_state([invoice], timezone.localdate())
    return invoice


def _families(request):
    return selectors.citizen_families(user=request.user, commune=request.commune)


@never_cache
@require_safe
@citizen_required
def mon_compte(request):
    """The family's invoices (newest first in each category), their status in words, the
    balance and a form to pay several due invoices at once; who pays them, and « Adhésion à la
    facture en ligne »: the current choice and the procedure that changes it."""
    commune, today = request.commune, timezone.localdate()
    families = list(_families(request))
    paginator = Paginator(selectors.invoices_of(famille=families, commune=commune), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    invoices = list(page.object_list)
    payable = selectors.payable_invoices(famille=families, commune=commune)
    debit_dates = direct_debit.debit_dates([*invoices, *payable])  # once for both lists
    _with_state(invoices, today, debit_dates)
    return render(
        request,
        "billing/mon_compte.html",
        {
            "families": families,
            "several_families": len(families) > 1,
            "page": page,
            "groups": _groups(invoices),
            "payable": [
                invoice
                for invoice in _with_state(payable, today, debit_dates)
                if invoice.state.payable  # not those a direct debit pays
            ],
            "debit_panel": direct_debit.compte_panel(families=families, commune=commune),
            "balance": selectors.balance_of(famille=families, commune=commune),
            "plans": selectors_plans.family_plans(famille=families, commune=commune),
            "choices": selectors_compte.billing_choices(families=families, commune=commune),
            "adhesion_url": selectors_compte.paperless_procedure_url(commune),
            "current_section": SECTION,
        },
    )


@never_cache
@require_safe
@citizen_required
def facture(request, pk):
    """One invoice: what it bills, its lines, its total, what is paid and what remains."""
    invoice = _invoice_or_404(request, pk)
    return render(
        request,
        "billing/facture.html",
        {"invoice": invoice, "lines": list(invoice.lines.all()), "current_section": SECTION},
    )


@never_cache
@require_safe
@citizen_required
def paiements(request, pk):
    """« Paiements » of one invoice: its amount, the payments received, what remains and
    « Payer » while something is due."""
    invoice = _invoice_or_404(request, pk)
    allocations = selectors.payments_of_invoice(
        famille=_families(request), commune=request.commune, invoice=invoice
    )
    return render(
        request,
        "billing/paiements.html",
        {"invoice": invoice, "allocations": allocations, "current_section": SECTION},
    )
