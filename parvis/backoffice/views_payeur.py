"""« Payeur des factures » in a family's file at the guichet: the responsable whose name the
family's invoices carry. Agents who edit family files and the régie choose it; the write goes
through families.services.choose_payeur (audited)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from parvis.accounts.agents import REGIE_ROLES, agent_required, forbidden
from parvis.backoffice.forms import PAYEUR_PAR_DEFAUT, PayeurForm
from parvis.backoffice.views import _famille_url
from parvis.families import selectors
from parvis.families import services as family_services


def may_choose_payeur(agent) -> bool:
    return agent.can_edit_families or bool(agent.roles & REGIE_ROLES)


@agent_required
@require_http_methods(["GET", "POST"])
def payeur(request, number: int):
    if not may_choose_payeur(request.agent):
        return forbidden(request, _("Votre rôle ne permet pas de choisir le payeur des factures."))
    famille = selectors.famille_by_number(request.commune, number)
    members = selectors.responsables_of(famille)
    default = selectors.default_payeur(members)
    chosen = selectors.payeur(famille, members)
    form = PayeurForm(
        request.POST or None,
        responsables=members,
        default_name=selectors.full_name(default) if default else "",
        initial={
            "payeur": str(chosen.pk)
            if chosen is not None and chosen.pk == famille.payeur_id
            else PAYEUR_PAR_DEFAUT
        },
    )
    if request.method == "POST" and form.is_valid():
        family_services.choose_payeur(
            famille=famille, actor=request.user, payeur=form.cleaned_data["payeur"]
        )
        messages.success(request, _("Le payeur des factures est enregistré."))
        return redirect(_famille_url(famille))
    return render(
        request,
        "backoffice/famille_element_form.html",
        {"form": form, "famille": famille, "heading": _("Payeur des factures")},
    )
