"""« Places proposées »: the seats the waiting list offered to the household (child, activity,
unit, day, « à accepter avant le … »), and for one of them « Accepter cette place » or
« Refuser ». Another family's or commune's reservation, or one that is not an offer, is a 404.

Thin views: reads and writes through parvis.activities.services_offres."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from parvis.accounts.decorators import citizen_required
from parvis.activities import selectors, services_offres
from parvis.activities.models import BookingStatus
from parvis.activities.rules import format_moment

SECTION = "activities:index"
ACCEPT = "accepter"
DECLINE = "refuser"


@never_cache
@require_GET
@citizen_required
def offres(request):
    now = timezone.now()
    offers = list(selectors.offers_of(user=request.user, commune=request.commune))
    for offer in offers:
        offer.expired = offer.offer_expires_at is not None and now >= offer.offer_expires_at
        offer.expires = format_moment(offer.offer_expires_at) if offer.offer_expires_at else ""
    return render(
        request,
        "activities/offres.html",
        {"offers": offers, "current_section": SECTION},
    )


def _back(request):
    return redirect("activities:offres", commune=request.commune.slug)


@never_cache
@require_http_methods(["GET", "POST"])
@citizen_required
def offre(request, pk):
    offer = selectors.offer_of(user=request.user, commune=request.commune, pk=pk)
    if offer is None:
        raise Http404(_("Cette page n'existe pas."))
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == ACCEPT:
                accepted = services_offres.accept_offer(reservation=offer, actor=request.user)
                text = (
                    _(
                        "Vous avez accepté la place : %(child)s, %(unit)s le %(day)s. Elle attend "
                        "la validation d'un agent."
                    )
                    if accepted.status == BookingStatus.EN_ATTENTE
                    else _("Vous avez accepté la place : %(child)s, %(unit)s le %(day)s.")
                )
            elif action == DECLINE:
                services_offres.decline_offer(reservation=offer, actor=request.user)
                text = _(
                    "Vous avez refusé la place : %(child)s, %(unit)s le %(day)s. Elle est "
                    "proposée à la famille suivante."
                )
            else:
                return redirect("activities:offre", commune=request.commune.slug, pk=offer.pk)
        except services_offres.OfferUnavailable as refused:
            messages.error(request, str(refused))
            return _back(request)
        messages.success(
            request,
            text
            % {
                "child": offer.child.first_names,
                "unit": f"{offer.unit.label} ({offer.unit.activity.name})",
                "day": offer.day.strftime("%d/%m/%Y"),
            },
        )
        return _back(request)
    expired = offer.offer_expires_at is not None and timezone.now() >= offer.offer_expires_at
    return render(
        request,
        "activities/offre.html",
        {
            "offer": offer,
            "activity": offer.unit.activity,
            "expired": expired,
            "expires": format_moment(offer.offer_expires_at) if offer.offer_expires_at else "",
            "accept": ACCEPT,
            "decline": DECLINE,
            "current_section": SECTION,
        },
    )
