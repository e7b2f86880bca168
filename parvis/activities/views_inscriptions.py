"""« Inscrire un enfant à une activité », at /<commune>/mon-espace/activites/inscrire/:

* without ?activite=: the commune's activities whose period has not ended, with their period and
  description, each with a link to choose it;
* ?activite=<slug>: the children of the account's families, those the activity takes with a box,
  the others with why not (already registered, request waiting, level); « Envoyer la demande »
  (POST) files one numbered request per child (services_inscriptions.request_inscriptions), then
* ?demandes=<numbers>: the confirmation with the requests' numbers.

Also `activities_offer`, the entry of « Créer une inscription » (added to
demarches.views_dossier.OFFERS by apps.py).

Thin views: reads scoped to the commune of the URL and to the families the account is linked to
(an activity of another commune or whose period has ended: 404; another family's child: an error
next to the field, nothing filed)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.activities import selectors_inscriptions
from parvis.activities.forms_inscriptions import InscriptionForm
from parvis.activities.models import InscriptionStatus
from parvis.activities.services_inscriptions import (
    InscriptionRefused,
    household_children,
    open_activities,
    period_label,
    request_inscriptions,
    why_not_offered,
)
from parvis.communes.links import url_if_exists
from parvis.demarches.views_dossier import Offer, OfferLine
from parvis.families.selectors_citizen import has_family, key_services

SECTION = "activities:index"
MAX_NUMBERS = 20  # requests one confirmation may list


def _url(commune, **query) -> str:
    url = reverse("activities:inscrire", kwargs={"commune": commune.slug})
    return f"{url}?{urlencode(query)}" if query else url


def activities_offer(request, household_list, today) -> Offer:
    """« Inscription à une activité » in « Créer une inscription »: each open activity, a link
    to its inscription page. One query, whatever the number of activities."""
    commune = request.commune
    offer = Offer(
        title=_("Inscription à une activité"),
        description=_(
            "Inscrivez un enfant à une activité périscolaire ou extrascolaire pour sa période : "
            "le service accepte l'inscription, puis vous réservez les jours."
        ),
        url=_url(commune),
        empty_text=_("Aucune activité n'est ouverte aux inscriptions pour le moment."),
    )
    for activity in selectors_inscriptions.open_activities_listed(commune=commune, today=today):
        offer.lines.append(
            OfferLine(
                label=_("%(name)s, %(period)s")
                % {"name": activity.name, "period": period_label(activity)},
                url=_url(commune, activite=activity.slug),
            )
        )
    return offer


def _context(request, **extra) -> dict:
    return {"current_section": SECTION, **extra}


def _render_activities(request, *, unknown: bool = False):
    """Step 1: the open activities; `unknown` when ?activite= named none of them (404)."""
    activities = list(open_activities(commune=request.commune, today=timezone.localdate()))
    return render(
        request,
        "activities/inscrire.html",
        _context(
            request,
            activities=[(a, _url(request.commune, activite=a.slug)) for a in activities],
            unknown=unknown,
        ),
        status=404 if unknown else 200,
    )


def _render_children(request, activity, children, *, form=None, status=200):
    """Step 2: the activity, the children it takes (a box each) and the others with why not.
    Two queries."""
    existing = selectors_inscriptions.inscriptions_by_child(activity=activity, children=children)
    offered, others, refused = [], [], []
    for child in children:
        inscription = existing.get(child.pk)
        reason = why_not_offered(activity=activity, child=child, inscription=inscription)
        if reason:
            others.append((child, reason))
            continue
        offered.append(child)
        if inscription is not None and inscription.status == InscriptionStatus.REFUSEE:
            refused.append((child, inscription.refusal_reason))
    shown = InscriptionForm(offered=offered, children=children)
    if form is None:
        form = shown
    else:  # the posted form, sent back with its errors and the boxes of now
        form.fields["enfants"].choices = shown.fields["enfants"].choices
    return render(
        request,
        "activities/inscrire.html",
        _context(
            request,
            activity=activity,
            form=form,
            offered=offered,
            others=others,
            refused=refused,
            back_url=_url(request.commune),
        ),
        status=status,
    )


def _confirmation(request):
    """The requests just filed, by their numbers: only those of the account's families."""
    commune = request.commune
    numbers = [n.strip().upper() for n in request.GET["demandes"].split(",") if n.strip()]
    demandes = selectors_inscriptions.inscription_requests(
        user=request.user, commune=commune, numbers=numbers[:MAX_NUMBERS]
    )
    if not demandes:
        raise Http404(_("Aucune de vos demandes d'inscription ne porte ce numéro."))
    rows = [
        {
            "demande": demande,
            "inscription": getattr(demande, "inscription", None),
            # Another parent's request is in their own dashboard, not this account's.
            "url": url_if_exists("demarches:ma_demande", commune.slug, number=demande.number)
            if demande.requester_id == request.user.pk
            else None,
        }
        for demande in demandes
    ]
    return render(
        request,
        "activities/inscrire_confirmation.html",
        _context(
            request,
            rows=rows,
            tableau_url=url_if_exists("demarches:tableau_de_bord", commune.slug),
            inscrire_url=_url(commune),
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def inscrire(request):
    commune = request.commune
    if request.method == "GET" and "demandes" in request.GET:
        return _confirmation(request)
    if not has_family(user=request.user, commune=commune):
        return render(
            request,
            "activities/inscrire.html",
            _context(
                request,
                no_family=True,
                key_services=key_services(commune=commune),
                modifier_espace_url=url_if_exists("accounts:modifier_espace", commune.slug),
            ),
        )
    data = request.POST if request.method == "POST" else request.GET
    if "activite" not in data:
        return _render_activities(request)
    today = timezone.localdate()
    activity = selectors_inscriptions.open_activity(
        commune=commune, today=today, slug=data["activite"]
    )
    if activity is None:
        if request.method == "POST":
            raise Http404(_("Cette activité n'est pas ouverte aux inscriptions."))
        return _render_activities(request, unknown=True)
    children = list(household_children(user=request.user, commune=commune))
    if request.method == "GET":
        return _render_children(request, activity, children)
    form = InscriptionForm(request.POST, offered=[], children=children)
    if form.is_valid():
        try:
            filed = request_inscriptions(
                user=request.user,
                commune=commune,
                activity=activity,
                children=form.chosen,
                today=today,
            )
        except InscriptionRefused as refused:
            names = {child.pk: child.first_names for child in children}
            for pk, reason in refused.problems.items():
                if pk is None:
                    form.add_error(None, reason)
                else:
                    form.add_error(
                        "enfants",
                        _("%(name)s : %(reason)s") % {"name": names.get(pk, ""), "reason": reason},
                    )
        else:
            numbers = ",".join(item.demande.number for item in filed)
            return redirect(_url(commune, demandes=numbers))
    return _render_children(request, activity, children, form=form, status=400)
