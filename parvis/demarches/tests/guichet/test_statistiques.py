"""Statistics per procedure at the guichet (issue 21 §8): counts by status and month and median
processing times exact on a built dataset (a request decided the same day, one still open and one
« sans suite » out of the median, month boundaries in Paris time, an even number of decisions),
another commune's and another service's requests never counted, drafts never, a bounded number
of queries whatever the number of requests."""

import itertools
from datetime import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from parvis.accounts.models import AgentRole
from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches.guichet.views_stats import duration_text
from parvis.demarches.models import Demande, Status
from parvis.demarches.tests.factories import ProcedureFactory
from parvis.testing.guichet import make_agent, text_of

pytestmark = pytest.mark.django_db

from zoneinfo import ZoneInfo  # noqa: E402

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 15, 12, 0, tzinfo=PARIS)
numbers = itertools.count(1)


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


def filed(procedure, status, submitted, closed=None):
    n = next(numbers)
    return Demande.objects.create(
        commune=procedure.commune, procedure=procedure, number=f"DEM-2026-{n:06d}",
        status=status, submitted_at=submitted, closed_at=closed,
    )  # fmt: skip


@pytest.fixture
def dataset(commune):
    etat_civil = ServiceFactory(commune=commune, kind="etat_civil", name="État civil")
    enfance = ServiceFactory(commune=commune, kind="enfance", name="Enfance")
    acte = ProcedureFactory(commune=commune, service=etat_civil, title="Acte de naissance")
    recensement = ProcedureFactory(commune=commune, service=etat_civil, title="Recensement")
    cantine = ProcedureFactory(commune=commune, service=enfance, title="Inscription cantine")
    # 1 November 00:30 in Paris is still 31 October in UTC: a November request, decided the
    # same day (3 h).
    filed(acte, Status.ACCEPTEE, paris(2026, 11, 1, 0, 30), paris(2026, 11, 1, 3, 30))
    # 31 October 23:30 in Paris: October; refused two days later to the minute.
    filed(acte, Status.REFUSEE, paris(2026, 10, 31, 23, 30), paris(2026, 11, 2, 23, 30))
    # September, accepted after five days and 2 h.
    filed(acte, Status.ACCEPTEE, paris(2026, 9, 30, 10, 0), paris(2026, 10, 5, 12, 0))
    # Still open, and « sans suite »: counted by status, not in the median.
    filed(acte, Status.EN_COURS, paris(2026, 10, 10, 9, 0))
    filed(acte, Status.SANS_SUITE, paris(2026, 10, 12, 9, 0), paris(2026, 10, 12, 10, 0))
    # A draft is never counted.
    Demande.objects.create(commune=commune, procedure=acte, status=Status.BROUILLON)
    # Two decisions: the median is their mean (4 h and 6 h: 5 h).
    filed(recensement, Status.ACCEPTEE, paris(2026, 11, 3, 8, 0), paris(2026, 11, 3, 12, 0))
    filed(recensement, Status.ACCEPTEE, paris(2026, 11, 4, 8, 0), paris(2026, 11, 4, 14, 0))
    # Another service's procedure (the État civil agent does not see it).
    filed(cantine, Status.ACCEPTEE, paris(2026, 11, 5, 8, 0), paris(2026, 11, 15, 8, 0))
    # Another commune's procedure of the same kind of service: never counted.
    other = CommuneFactory(slug="ailleurs", name="Ailleurs")
    theirs = ProcedureFactory(commune=other, title="Acte de naissance ailleurs")
    for day in (2, 3, 4):
        filed(theirs, Status.ACCEPTEE, paris(2026, 11, day, 8), paris(2026, 11, day, 9))
    return {"acte": acte, "recensement": recensement, "cantine": cantine}


def url(commune, **query):
    base = reverse("backoffice:statistiques", args=[commune.slug])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def etat_civil_client(client, commune):
    client.force_login(make_agent(commune, AgentRole.Role.ETAT_CIVIL, username="ec"))
    return client


def rows_of(response):
    return {row.procedure.title: row for row, _median in response.context["rows"]}


@time_machine.travel(NOW, tick=False)
def test_counts_by_status_and_medians_are_exact(etat_civil_client, commune, dataset):
    response = etat_civil_client.get(url(commune))
    assert response.status_code == 200
    rows = rows_of(response)
    assert set(rows) == {"Acte de naissance", "Recensement"}  # not the canteen's service
    acte = rows["Acte de naissance"]
    assert acte.total == 5
    assert acte.by_status == {
        Status.ACCEPTEE: 2, Status.REFUSEE: 1, Status.EN_COURS: 1, Status.SANS_SUITE: 1,
    }  # fmt: skip
    # 3 h, 2 days, 5 days 2 h: the median is 2 days (the open and « sans suite » ones left out).
    assert acte.decided == 3
    assert duration_text(acte.median) == "2 jours"
    assert duration_text(rows["Recensement"].median) == "5 h"
    overall = response.context["stats"].overall
    assert overall.total == 7
    # 3 h, 4 h, 6 h, 2 days, 5 days 2 h.
    assert duration_text(overall.median) == "6 h"
    text = text_of(response)
    assert "Acte de naissance 5 0 1 0 2 1 1 2 jours (3 décidées)" in text
    assert "Recensement 2 0 0 0 2 0 0 5 h (2 décidées)" in text
    assert "Inscription cantine" not in text
    assert "ailleurs" not in text


@time_machine.travel(NOW, tick=False)
def test_months_follow_paris_time(etat_civil_client, commune, dataset):
    response = etat_civil_client.get(url(commune, demarche=dataset["acte"].pk))
    months = {row.month.isoformat(): row.count for row in response.context["stats"].months}
    assert len(months) == 12
    assert next(iter(months)) == "2025-12-01"
    assert months["2026-09-01"] == 1
    assert months["2026-10-01"] == 3
    assert months["2026-11-01"] == 1
    assert sum(months.values()) == 5
    text = text_of(response)
    assert "novembre 2026 1" in text and "octobre 2026 3" in text
    # Every procedure: the État civil agent's November is the act's and the census's two.
    response = etat_civil_client.get(url(commune))
    months = {row.month.isoformat(): row.count for row in response.context["stats"].months}
    assert months["2026-11-01"] == 3
    assert "7 demandes déposées sur les douze derniers mois." in text_of(response)


@time_machine.travel(NOW, tick=False)
def test_the_administrator_sees_every_service_but_not_another_commune(client, commune, dataset):
    client.force_login(make_agent(commune, AgentRole.Role.ADMINISTRATEUR, username="adm"))
    response = client.get(url(commune))
    rows = rows_of(response)
    assert set(rows) == {"Acte de naissance", "Recensement", "Inscription cantine"}
    assert response.context["stats"].overall.total == 8
    assert duration_text(rows["Inscription cantine"].median) == "10 jours"


def test_another_services_or_communes_procedure_is_a_404(etat_civil_client, commune, dataset):
    assert etat_civil_client.get(url(commune, demarche=dataset["cantine"].pk)).status_code == 404
    theirs = Demande.objects.exclude(commune=commune).first().procedure
    assert etat_civil_client.get(url(commune, demarche=theirs.pk)).status_code == 404
    assert etat_civil_client.get(url(commune, demarche="x")).status_code == 404


def test_the_chart_is_drawn_from_the_table_and_hidden_from_screen_readers(
    etat_civil_client, commune, dataset
):
    with time_machine.travel(NOW, tick=False):
        page = etat_civil_client.get(url(commune)).content.decode()
    assert '<svg class="stats-chart"' in page
    assert 'aria-hidden="true"' in page
    assert "style=" not in page.split('<svg class="stats-chart"')[1].split("</svg>")[0]
    # October, the tallest bar (3): the whole height; November (3) too; September (1): a third.
    assert page.count('height="150"') == 2
    assert 'height="50"' in page


def test_the_queue_links_to_the_statistics(etat_civil_client, commune):
    page = etat_civil_client.get(reverse("backoffice:demandes", args=[commune.slug]))
    assert url(commune) in page.content.decode()


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (None, "—"),
        (5, "5 min"),
        (60, "1 h"),
        (185, "3 h 05"),
        (1440, "1 jour"),
        (1500, "1 jour 1 h"),
    ],
)
def test_duration_text(minutes, text):
    from datetime import timedelta

    assert duration_text(None if minutes is None else timedelta(minutes=minutes)) == text


@time_machine.travel(NOW, tick=False)
def test_queries_do_not_grow_with_the_requests(etat_civil_client, commune, dataset):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert etat_civil_client.get(url(commune)).status_code == 200
        return len(queries)

    before = count()
    for day in range(1, 11):
        filed(dataset["acte"], Status.ACCEPTEE, paris(2026, 8, day, 9), paris(2026, 8, day, 17))
        extra = ProcedureFactory(commune=commune, service=dataset["acte"].service)
        filed(extra, Status.REFUSEE, paris(2026, 7, day, 9), paris(2026, 7, day + 1, 9))
    assert count() == before
    assert before <= 10
