"""« Récupérer mon quotient familial CAF ou MSA » (issue 20 §2), under
/<commune>/mon-espace/quotient-familial/caf-msa/: a family whose commune has an API Particulier
token asks, with its explicit consent, for its quotient; Parvis records it as the household's QF
(families.services_api_particulier) and the tariffs use it at once. A failure says what happened
in French and leaves the tax-notice path of the administrative file open; nothing is blocked.

Thin view: reads through selectors_citizen (the account's own households in the commune of the
URL), the write through the service."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.communes.links import url_if_exists
from parvis.families import api_particulier, selectors_citizen, services_api_particulier
from parvis.families.api_particulier import ApiParticulierError
from parvis.families.forms_quotient import QuotientApiForm
from parvis.ids import parse_id

TAX_NOTICE = gettext_lazy(
    "Vous pouvez aussi faire calculer votre quotient familial à partir de votre avis "
    "d'imposition, dans le dossier administratif."
)
FAILURES = {
    ApiParticulierError.NOT_FOUND: gettext_lazy(
        "La CAF et la MSA ne trouvent pas de dossier d'allocataire à cette identité. Vérifiez "
        "votre nom de naissance, vos prénoms, votre date et votre lieu de naissance."
    ),
    ApiParticulierError.UNAVAILABLE: gettext_lazy(
        "Le service de la CAF et de la MSA ne répond pas pour le moment. Réessayez plus tard."
    ),
    ApiParticulierError.INVALID: gettext_lazy(
        "Le service de la CAF et de la MSA ne répond pas pour le moment. Réessayez plus tard."
    ),
    ApiParticulierError.REFUSED: gettext_lazy(
        "La commune ne peut pas interroger la CAF et la MSA pour le moment : ses services en "
        "sont avertis. Réessayez plus tard."
    ),
    ApiParticulierError.BAD_REQUEST: gettext_lazy(
        "La CAF et la MSA n'ont pas pu lire ces informations : vérifiez-les."
    ),
    services_api_particulier.NOT_OFFERED: gettext_lazy(
        "La commune ne propose plus ce service pour le moment. Réessayez plus tard."
    ),
}


def _pick_link(links, raw):
    """The household asked for (?foyer=<its id>), among the account's own; the first one
    otherwise (most accounts have one)."""
    wanted = parse_id(raw) if raw else None
    for link in links:
        if link.famille_id == wanted:
            return link
    return links[0]


@never_cache
@sensitive_post_parameters("birth_name", "usage_name", "first_names", "birth_date")
@require_http_methods(["GET", "POST"])
@citizen_required
def quotient_api_particulier(request):
    commune, user = request.commune, request.user
    if services_api_particulier.commune_config(commune) is None:
        raise Http404
    links = selectors_citizen.family_links(user=user, commune=commune)
    if not links:
        raise Http404
    link = _pick_link(links, request.POST.get("foyer") or request.GET.get("foyer"))
    famille = link.famille
    # The FranceConnect identity, when the account has one, fills the identity in; otherwise
    # what the household file knows of the responsable behind the account.
    certified = api_particulier.certified_identity(user)
    initial = (
        api_particulier.identity_initial(certified)
        if certified
        else QuotientApiForm.initial_for(link.personne)
    )
    form = QuotientApiForm(request.POST if request.method == "POST" else None, initial=initial)
    failure = None
    if form.is_bound and form.is_valid():
        try:
            quotient = services_api_particulier.fetch_quotient(
                famille=famille,
                actor=user,
                identity=form.identity(),
                consent=form.cleaned_data["consent"],
            )
        except ApiParticulierError as error:
            failure = FAILURES.get(error.kind, FAILURES[ApiParticulierError.UNAVAILABLE])
        else:
            details = quotient.details
            year, month = (int(part) for part in details["month"].split("-"))
            messages.success(
                request,
                _(
                    "Votre quotient familial de %(value)s € (%(regime)s, %(month)s) est "
                    "enregistré : les tarifs de vos prochaines réservations en tiennent compte."
                )
                % {
                    "value": formats.number_format(
                        quotient.value, decimal_pos=2, use_l10n=True, force_grouping=True
                    ),
                    "regime": "MSA" if details.get("regime") == "MSA" else "CAF",
                    "month": formats.date_format(date(year, month, 1), "F Y"),
                },
            )
            back = reverse("accounts:mes_informations", kwargs={"commune": commune.slug})
            return redirect(f"{back}#quotient-familial")
    return render(
        request,
        "families/quotient/api_particulier.html",
        {
            "form": form,
            "famille": famille,
            "links": links if len(links) > 1 else [],
            "certified": certified is not None,
            "failure": failure,
            "tax_notice": TAX_NOTICE,
            "dossier_url": url_if_exists("inscriptions:dossier_administratif", commune.slug),
            "back_url": reverse("accounts:mes_informations", kwargs={"commune": commune.slug}),
        },
    )
