"""The demo's API Particulier (issue 20 §2): Carrières-sous-Poissy offers its families to fetch
their CAF/MSA quotient, with the token of the local server (parvis.families.api_particulier_local,
started by `make run`). Françoise DURAND, born DURAND on 09/04/1986 (any commune code, e.g. 78498),
gets a QF of 612 € for the current month: the canteen's price falls from 3,30 € to 1,35 €.
Idempotent; an administrator's own token is never overwritten."""

from parvis.communes.models import ApiParticulierConfig, Commune
from parvis.families.api_particulier_local import DEMO_TOKEN

SLUG = "carrieres-sous-poissy"


def load() -> None:
    commune = Commune.objects.filter(slug=SLUG).first()
    if commune is None:
        return
    ApiParticulierConfig.objects.get_or_create(
        commune=commune, defaults={"enabled": True, "token": DEMO_TOKEN}
    )
