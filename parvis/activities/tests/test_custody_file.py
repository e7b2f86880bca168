"""Separated parents and the administrative file (issue 19 §2): when the other parent books the
shared child, the completeness an activity requires is that of their own household (the
booking household), not of the child's household."""

import pytest
from django.utils import timezone

from parvis.activities.tests.test_custody_citizen import (  # noqa: F401 (fixtures)
    BACKEND,
    calendar_url,
    clock,
    text_of,
    world,
)
from parvis.families.models import RequiredDocument
from parvis.families.tests.factories import make_document

pytestmark = pytest.mark.django_db

INCOMPLETE = "dossier administratif incomplet"


@pytest.fixture
def required(world):  # noqa: F811
    activity = world["activity"]
    activity.requires_complete_file = True
    activity.save()
    RequiredDocument.objects.create(
        commune=world["commune"], school_year=activity.start.year if activity.start.month >= 9
        else activity.start.year - 1, doc_type="justificatif_domicile", service=activity.service,
    )  # fmt: skip
    return world


def proof_of_address(famille):
    make_document(
        famille=famille, doc_type="justificatif_domicile", status="valide",
        document_date=timezone.localdate(),
    )  # fmt: skip


def open_cells(client, data) -> tuple[int, str]:
    response = client.get(calendar_url(data), {"semaine": "2026-11-30"})
    assert response.status_code == 200
    return sum(1 for cell in response.context["cal"].cells() if cell.editable), text_of(response)


def test_the_father_books_on_his_own_complete_file_not_the_mothers(client, required):
    w = required
    proof_of_address(w["father"])  # the mother's file lacks it
    client.force_login(w["father_user"], backend=BACKEND)
    count, text = open_cells(client, w)
    assert count > 0 and INCOMPLETE not in text
    client.force_login(w["mother_user"], backend=BACKEND)
    count, text = open_cells(client, w)
    assert count == 0 and INCOMPLETE in text


def test_the_fathers_incomplete_file_locks_his_booking_even_with_the_mothers_complete(
    client, required
):
    w = required
    proof_of_address(w["mother"])
    client.force_login(w["father_user"], backend=BACKEND)
    count, text = open_cells(client, w)
    assert count == 0 and INCOMPLETE in text
    client.force_login(w["mother_user"], backend=BACKEND)
    count, _text = open_cells(client, w)
    assert count > 0


def open_grid_cells(client, data) -> int:
    """The household grid (« Mon foyer ») of the account, the month of 30 November."""
    from django.urls import reverse

    response = client.get(
        reverse("activities:foyer", kwargs={"commune": data["commune"].slug}),
        {"vue": "mois", "debut": "2026-12-01"},
    )
    assert response.status_code == 200
    lea = data["lea"].pk
    return sum(
        1 for key, cell in response.context["grid"].cells.items() if key[0] == lea and cell.editable
    )


def test_the_household_grid_checks_the_booking_households_file_too(client, required):
    w = required
    proof_of_address(w["father"])  # the mother's file lacks it
    client.force_login(w["father_user"], backend=BACKEND)
    assert open_grid_cells(client, w) > 0
    client.force_login(w["mother_user"], backend=BACKEND)
    assert open_grid_cells(client, w) == 0
