"""The children's absences at the guichet, under /<commune>/guichet/activites/absences/: the
absences of the children of the activities the agent's services cover (filtered by day and
state, paginated, a constant number of queries), and one absence with its bookings, its
certificate and the decisions « Marquer justifiée » / « Marquer non justifiée » with a reason
(a strike, a school outing, a certificate given on paper).

Thin views: reads from `selectors_absences` (scoped to the commune and to the agent: anything
else is a 404), the decision through parvis.activities.services_absences.set_justified."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.agents import agent_required
from parvis.activities.guichet import selectors_absences as selectors
from parvis.activities.services_absences import COMMENT_MAX_LENGTH, set_justified
from parvis.demarches.guichet.selectors_documents import may_see

PER_PAGE = 25
SECTION = "guichet_activites:activites"
JUSTIFIED, NOT_JUSTIFIED = "justifiee", "non_justifiee"
BAD_DATE = gettext_lazy("Indiquez une date valide, par exemple 15/09/2026.")
NO_DECISION = gettext_lazy("Choisissez « Marquer justifiée » ou « Marquer non justifiée ».")


class AbsenceFilterForm(forms.Form):
    jour = forms.DateField(
        label=gettext_lazy("Absents le"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": BAD_DATE},
    )
    etat = forms.ChoiceField(
        label=gettext_lazy("État"),
        required=False,
        choices=[
            ("", gettext_lazy("Toutes")),
            (JUSTIFIED, gettext_lazy("Justifiées")),
            (NOT_JUSTIFIED, gettext_lazy("Non justifiées")),
        ],
    )

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "day": data.get("jour"),
            "justified": {JUSTIFIED: True, NOT_JUSTIFIED: False}.get(data.get("etat")),
        }


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(JUSTIFIED, JUSTIFIED), (NOT_JUSTIFIED, NOT_JUSTIFIED)],
        widget=forms.HiddenInput,
        error_messages={"required": NO_DECISION, "invalid_choice": NO_DECISION},
    )
    reason = forms.CharField(
        label=gettext_lazy("Raison de la décision"),
        max_length=COMMENT_MAX_LENGTH,
        help_text=gettext_lazy(
            "Dite à la famille : « grève », « sortie scolaire », « certificat remis au guichet "
            "le 12/11 », « certificat illisible »…"
        ),
        error_messages={
            "required": gettext_lazy(
                "Indiquez la raison de la décision : elle est dite à la famille."
            )
        },
    )


@agent_required
@require_GET
def absences(request):
    form = AbsenceFilterForm(request.GET or None)
    filters = form.filters()
    paginator = Paginator(selectors.absences(request.commune, request.agent, **filters), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "activities/guichet/absences.html",
        {
            "form": form,
            "filters_active": any(value is not None for value in filters.values()),
            "page": page,
            "rows": list(page.object_list),
            "current_section": SECTION,
        },
    )


@agent_required
@require_http_methods(["GET", "POST"])
def absence(request, pk: int):
    found = selectors.absence_for(request.commune, request.agent, pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        justified = form.cleaned_data["decision"] == JUSTIFIED
        try:
            set_justified(
                absence=found,
                justified=justified,
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error("reason", message)
        else:
            messages.success(
                request,
                (
                    _("L'absence est marquée justifiée ; la famille est prévenue par courriel.")
                    if justified
                    else _(
                        "L'absence est marquée non justifiée ; la famille est prévenue par "
                        "courriel."
                    )
                ),
            )
            return redirect("guichet_activites:absence", request.commune.slug, found.pk)
    certificate = found.certificate
    return render(
        request,
        "activities/guichet/absences_detail.html",
        {
            "absence": found,
            "form": form,
            "justified_value": JUSTIFIED,
            "not_justified_value": NOT_JUSTIFIED,
            "certificate_visible": certificate is not None and may_see(request.agent, certificate),
            "current_section": SECTION,
        },
        status=400 if form.errors else 200,
    )
