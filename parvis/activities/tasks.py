"""The activities' background tasks: the summary e-mail of a « Valider », written off the request
(issue 23 §3: rendering it took about 4 ms of every « Valider »'s CPU, and writing it two more
statements).

« Valider » queues `send_baskets_summary` once its transaction has committed, with what it saved
as JSON (ids, days, statuses and waiting ranks: services.summary_of); the task reads the account,
the commune, the children, the activities and the units again by id and renders
activities/emails/basket.txt in the language of the page that validated. What the e-mail says is
what « Valider » saved, even when a booking has moved since (an offer taken, a day cancelled):
the facts travel in the task, only the names are read again."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task

from parvis.accounts.models import User
from parvis.activities.models import Activity, Unit
from parvis.communes import tenancy
from parvis.communes.models import Commune
from parvis.families.models import Personne
from parvis.mail import absolute_url, queue_email


# With the other e-mails (parvis.mail's priority): a family waits for this one.
@task(priority=20)
def send_baskets_summary(
    *, user_id: int, commune_id: int, summary: str, language: str | None = None
) -> bool:
    """The one e-mail of a « Valider » (one basket from the calendar, several from the household
    grid): `summary` the JSON of services.summary_of. False when there is nobody to write to
    (the account gone or without an address)."""
    with tenancy.scope(commune_id):  # every query says the commune (issue 18 §2)
        return _send(user_id=user_id, commune_id=commune_id, baskets=json.loads(summary),
                     language=language)  # fmt: skip


def _send(*, user_id: int, commune_id: int, baskets: list[dict], language: str | None) -> bool:
    user = User.objects.filter(pk=user_id).only("email").first()
    if user is None or not user.email:
        return False
    commune = Commune.objects.get(pk=commune_id)
    children = Personne.objects.filter(commune_id=commune_id).in_bulk({b["child"] for b in baskets})
    activities = Activity.objects.filter(commune_id=commune_id).in_bulk(
        {b["activity"] for b in baskets}
    )
    units = Unit.objects.filter(commune_id=commune_id).in_bulk(
        {line[0] for b in baskets for kind in ("added", "waiting", "removed") for line in b[kind]}
    )

    def booking(unit_id: int, day: str, status: str = "") -> SimpleNamespace:
        return SimpleNamespace(unit=units[unit_id], day=date.fromisoformat(day), status=status)

    with translation.override(language or translation.get_language()):
        queue_email(
            subject=_("%(commune)s — vos réservations sont enregistrées")
            % {"commune": commune.name},
            body=render_to_string(
                "activities/emails/basket.txt",
                {
                    "commune": commune,
                    "baskets": [
                        {
                            "child": children[b["child"]],
                            "activity": activities[b["activity"]],
                            "added": [booking(*line) for line in b["added"]],
                            "waiting": [
                                (booking(unit_id, day), rank) for unit_id, day, rank in b["waiting"]
                            ],
                            "removed": [
                                (units[unit_id], date.fromisoformat(day))
                                for unit_id, day in b["removed"]
                            ],
                        }
                        for b in baskets
                    ],
                    "url": absolute_url(f"/{commune.slug}/mon-espace/activites/"),
                },
            ),
            commune_id=commune.pk,
            to=[user.email],
        )
    return True
