"""The agents' bulk decisions stay in the request (their e-mails leave through the queue): one
page of the queue at most (50 rows) is decided at once; more ticked (a forged form) changes
nothing and says so."""

import pytest

from parvis.activities.guichet.selectors import QUEUE_PAGE_SIZE
from parvis.activities.models import InscriptionStatus
from parvis.activities.tests.guichet.test_activites_queue import (  # noqa: F401 (fixtures)
    activity,
    day,
    filed,
    url,
)
from parvis.testing.guichet import text_of

pytestmark = pytest.mark.django_db


def test_at_most_a_page_of_rows_is_decided_at_once(agent_client, commune, activity):  # noqa: F811
    inscription = filed(commune, activity)
    # Ids of no row count as ticked: the limit is on what is sent.
    ids = [inscription.pk, *range(10**6, 10**6 + QUEUE_PAGE_SIZE)]
    response = agent_client.post(url("valider_inscriptions", commune), {"ids": ids}, follow=True)
    assert "Cochez au plus 50 lignes à la fois (une page de la liste) : rien n'a été fait." in (
        text_of(response)
    )
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.EN_ATTENTE

    response = agent_client.post(
        url("valider_inscriptions", commune), {"ids": ids[:QUEUE_PAGE_SIZE]}, follow=True
    )
    assert "Cochez au plus" not in text_of(response)
    inscription.refresh_from_db()
    assert inscription.status == InscriptionStatus.ACCEPTEE
