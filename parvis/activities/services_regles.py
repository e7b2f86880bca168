"""Changing an activity's booking rules (issue 21 §7): the agents' « Règles de réservation » page
and the admin both write through here, in one transaction with an audit row (old → new rules)."""

from __future__ import annotations

from django.db import transaction

from parvis.accounts.models import User
from parvis.accounts.services import audit
from parvis.activities.models import Activity
from parvis.activities.rules import validate_rule
from parvis.activities.rules_text import BOOKING, CANCEL, OPENING, sentence
from parvis.communes.models import Commune

RULE_NAMES = {"booking_opens": OPENING, "booking_deadline": BOOKING, "cancel_deadline": CANCEL}


@transaction.atomic
def set_booking_rules(
    *,
    commune: Commune,
    activity: Activity,
    actor: User | None,
    booking_opens: dict | None,
    booking_deadline: dict,
    cancel_deadline: dict,
) -> list[str]:
    """Store the three rules (each checked by rules.validate_rule); returns the names of the
    rules that changed (none: nothing written, no audit row)."""
    if activity.commune_id != commune.pk:
        raise ValueError("activity of another commune")
    new = {
        "booking_opens": validate_rule(booking_opens, opening=True),
        "booking_deadline": validate_rule(booking_deadline),
        "cancel_deadline": validate_rule(cancel_deadline),
    }
    locked = Activity.objects.select_for_update().get(pk=activity.pk, commune=commune)
    # The journal reads the rules as their sentences (the JSON stays on the activity).
    changes = {
        name: [sentence(getattr(locked, name), RULE_NAMES[name]), sentence(value, RULE_NAMES[name])]
        for name, value in new.items()
        if getattr(locked, name) != value
    }
    if not changes:
        return []
    for name, value in new.items():
        setattr(locked, name, value)
        setattr(activity, name, value)
    locked.save(update_fields=[*changes])
    audit(actor=actor, action="activite.regles", commune=commune, target=locked, changes=changes)
    return list(changes)
