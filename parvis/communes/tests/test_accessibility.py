"""The RGAA self-assessment grid, the rate and status rules, a commune's own audit (model and
admin), and the migration from the old free choice of status."""

import re
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from parvis.communes import rgaa
from parvis.communes.models import AccessibilityStatus, Commune
from parvis.communes.tests.factories import CommuneAdminFactory, CommuneFactory
from parvis.communes.tests.test_admin import change_url, form_data, fr_date, page

# RGAA 4.1: how many criteria each of the 13 themes has.
RGAA_41_COUNTS = {
    1: 9,
    2: 2,
    3: 3,
    4: 13,
    5: 8,
    6: 2,
    7: 5,
    8: 10,
    9: 4,
    10: 14,
    11: 13,
    12: 11,
    13: 12,
}


# --- The grid ----------------------------------------------------------------------------------


def test_the_grid_has_the_106_criteria_of_rgaa_41_in_order():
    numbers = [criterion.number for criterion in rgaa.GRID]
    expected = [
        f"{theme}.{n}" for theme, count in RGAA_41_COUNTS.items() for n in range(1, count + 1)
    ]
    assert len(expected) == 106
    assert numbers == expected
    assert rgaa.CRITERIA_PER_THEME == RGAA_41_COUNTS


def test_the_13_themes_are_rgaas():
    assert [str(label) for label in rgaa.THEMES.values()] == [
        "Images",
        "Cadres",
        "Couleurs",
        "Multimédia",
        "Tableaux",
        "Liens",
        "Scripts",
        "Éléments obligatoires",
        "Structuration de l'information",
        "Présentation de l'information",
        "Formulaires",
        "Navigation",
        "Consultation",
    ]
    assert [(number, len(criteria)) for number, _label, criteria in rgaa.by_theme()] == list(
        RGAA_41_COUNTS.items()
    )


@pytest.mark.parametrize("criterion", rgaa.GRID, ids=lambda c: c.number)
def test_each_criterion_is_filled_in(criterion):
    assert criterion.status in {rgaa.CONFORME, rgaa.NON_CONFORME, rgaa.NON_APPLICABLE}
    assert str(criterion.title).strip()
    assert set(criterion.pages) <= set(rgaa.SAMPLE)
    if criterion.status == rgaa.NON_APPLICABLE:
        # Nothing to check where the criterion does not apply; it says why.
        assert criterion.pages == ()
        assert str(criterion.note).strip()
    else:
        # Conforme or not, it was looked at on pages of the sample.
        assert criterion.pages
    if criterion.status == rgaa.NON_CONFORME:
        # The statement lists each non-conformity with what is wrong.
        assert str(criterion.note).strip()


def test_no_multimedia_means_not_applicable():
    assert {c.status for c in rgaa.GRID if c.theme == 4} == {rgaa.NON_APPLICABLE}


def test_the_grid_gives_a_self_assessment_rate():
    rate = rgaa.compliance_rate(rgaa.GRID)
    conformes = sum(c.status == rgaa.CONFORME for c in rgaa.GRID)
    non_conformes = sum(c.status == rgaa.NON_CONFORME for c in rgaa.GRID)
    assert rate == Fraction(100 * conformes, conformes + non_conformes)
    assert 0 < rate < 100


# --- The rate and the status -------------------------------------------------------------------


def grid_of(conformes: int, non_conformes: int, non_applicables: int = 0):
    return (
        [rgaa.Criterion("1.1", "t", rgaa.CONFORME, ("accueil",))] * conformes
        + [rgaa.Criterion("1.1", "t", rgaa.NON_CONFORME, ("accueil",), "n")] * non_conformes
        + [rgaa.Criterion("1.1", "t", rgaa.NON_APPLICABLE, (), "n")] * non_applicables
    )


def test_the_rate_leaves_non_applicables_out():
    assert rgaa.compliance_rate(grid_of(3, 1, 50)) == 75
    assert rgaa.compliance_rate(grid_of(3, 1)) == 75
    assert rgaa.compliance_rate(grid_of(0, 0, 5)) is None
    assert rgaa.compliance_rate(grid_of(0, 4)) == 0


@pytest.mark.parametrize(
    ("rate", "status"),
    [
        (Decimal("0"), "non"),
        (Decimal("49.99"), "non"),
        (Fraction(4999, 100), "non"),
        (Decimal("50"), "partiel"),
        (Fraction(1, 2) * 100, "partiel"),
        (Decimal("50.01"), "partiel"),
        (Decimal("99.99"), "partiel"),
        (Fraction(105, 106) * 100, "partiel"),
        (Decimal("100"), "total"),
        (Decimal("100.00"), "total"),
    ],
)
def test_the_brackets_of_a_rate(rate, status):
    assert rgaa.status_for_rate(rate) == status
    # An audit's rate gives that status; no audit gives « non conforme » whatever the grid says.
    assert rgaa.status_for(audit_rate=rate) == status
    assert rgaa.status_for(audit_rate=None) == "non"


@given(conformes=st.integers(0, 106), non_conformes=st.integers(0, 106))
def test_a_grids_status_follows_its_counts(conformes, non_conformes):
    rate = rgaa.compliance_rate(grid_of(conformes, non_conformes))
    if conformes + non_conformes == 0:
        assert rate is None
        return
    status = rgaa.status_for_rate(rate)
    if non_conformes == 0:
        assert status == "total"
    elif 2 * conformes >= conformes + non_conformes:
        assert status == "partiel"
    else:
        assert status == "non"


@given(rate=st.fractions(min_value=0, max_value=100))
def test_a_shown_rate_never_reads_as_the_next_bracket(rate):
    shown = rgaa.format_rate(rate)
    assert re.fullmatch(r"\d{1,3}(,\d)? %", shown)
    value = Decimal(shown.removesuffix(" %").replace(",", "."))
    assert value <= rate < value + Decimal("0.1")
    assert rgaa.status_for_rate(value) == rgaa.status_for_rate(rate)


@pytest.mark.parametrize(
    ("rate", "shown"),
    [
        (Fraction(4999, 100), "49,9 %"),
        (Decimal("50"), "50 %"),
        (Decimal("99.99"), "99,9 %"),
        (Decimal("100.00"), "100 %"),
        (Fraction(2, 3) * 100, "66,6 %"),
    ],
)
def test_a_rate_is_written_the_french_way(rate, shown):
    assert rgaa.format_rate(rate) == shown


# --- A commune's audit -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rate", "status"),
    [
        (None, AccessibilityStatus.NON_CONFORME),
        (Decimal("49.99"), AccessibilityStatus.NON_CONFORME),
        (Decimal("50.00"), AccessibilityStatus.PARTIELLEMENT),
        (Decimal("99.99"), AccessibilityStatus.PARTIELLEMENT),
        (Decimal("100.00"), AccessibilityStatus.TOTALEMENT),
    ],
)
def test_a_communes_status_comes_from_its_audit(rate, status):
    commune = CommuneFactory(
        accessibility_audit_date=date(2026, 6, 1) if rate is not None else None,
        accessibility_auditor="Cabinet Audit" if rate is not None else "",
        accessibility_audit_rate=rate,
    )
    assert Commune.objects.get(pk=commune.pk).accessibility_status == status


@pytest.mark.django_db
def test_a_rate_without_an_audit_date_is_no_audit():
    commune = CommuneFactory(accessibility_audit_rate=Decimal("100"))
    assert not commune.has_accessibility_audit
    assert commune.accessibility_status == AccessibilityStatus.NON_CONFORME


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"accessibility_audit_rate": Decimal("80")}, {"date", "auditor"}),
        ({"accessibility_audit_date": date(2026, 6, 1)}, {"auditor", "rate"}),
        ({"accessibility_auditor": "Cabinet Audit"}, {"date", "rate"}),
        (
            {"accessibility_auditor": "  ", "accessibility_audit_rate": Decimal("80")},
            {"date", "auditor"},
        ),
    ],
)
def test_an_audit_is_recorded_whole(given, missing):
    commune = CommuneFactory.build(**given)
    with pytest.raises(ValidationError) as error:
        commune.clean()
    fields = {
        "accessibility_audit_date": "date",
        "accessibility_auditor": "auditor",
        "accessibility_audit_rate": "rate",
    }
    assert {fields[name] for name in error.value.message_dict} == missing


@pytest.mark.django_db
def test_an_audit_cannot_be_dated_in_the_future():
    tomorrow = timezone.localdate() + timedelta(days=1)
    commune = CommuneFactory.build(
        accessibility_audit_date=tomorrow,
        accessibility_auditor="Cabinet Audit",
        accessibility_audit_rate=Decimal("80"),
    )
    with pytest.raises(ValidationError) as error:
        commune.clean()
    assert set(error.value.message_dict) == {"accessibility_audit_date"}
    commune.accessibility_audit_date = timezone.localdate()
    commune.clean()


@pytest.mark.django_db
@pytest.mark.parametrize("rate", ["-0.01", "100.01"])
def test_a_rate_is_between_0_and_100(rate):
    commune = CommuneFactory.build(
        accessibility_audit_date=date(2026, 6, 1),
        accessibility_auditor="Cabinet Audit",
        accessibility_audit_rate=Decimal(rate),
    )
    with pytest.raises(ValidationError) as error:
        commune.full_clean(exclude=["slug"])
    assert set(error.value.message_dict) == {"accessibility_audit_rate"}


# --- In the admin ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_recording_an_audit_in_the_admin_changes_the_status(client):
    commune = CommuneFactory(name="Ville-Alpha", slug="ville-alpha")
    client.force_login(CommuneAdminFactory(commune=commune))
    url = change_url(commune)
    response = client.get(url)
    assert "État de conformité RGAA" in page(response)
    assert "non conforme" in page(response)

    data = form_data(response)
    data.update(
        accessibility_audit_date=fr_date(timezone.localdate() - timedelta(days=30)),
        accessibility_auditor="Cabinet Audit",
        accessibility_audit_rate="82.5",
        accessibility_plan_url="https://ville-alpha.fr/schema-pluriannuel.pdf",
    )
    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    commune.refresh_from_db()
    assert commune.accessibility_status == AccessibilityStatus.PARTIELLEMENT
    assert commune.accessibility_auditor == "Cabinet Audit"
    assert commune.accessibility_plan_url == "https://ville-alpha.fr/schema-pluriannuel.pdf"
    footer = client.get(f"/{commune.slug}/").content.decode()
    assert "Accessibilité : partiellement conforme" in footer
    assert "partiellement conforme" in page(client.get(url))


@pytest.mark.django_db
def test_an_audit_without_its_auditor_is_refused_in_the_admin(client):
    commune = CommuneFactory(name="Ville-Alpha", slug="ville-alpha")
    client.force_login(CommuneAdminFactory(commune=commune))
    url = change_url(commune)
    data = form_data(client.get(url))
    data.update(
        accessibility_audit_date=fr_date(timezone.localdate() - timedelta(days=30)),
        accessibility_audit_rate="100",
    )

    response = client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"accessibility_auditor": ["Indiquez qui a réalisé l'audit."]}
    assert "Indiquez qui a réalisé l&#x27;audit." in page(response)
    commune.refresh_from_db()
    assert commune.accessibility_audit_rate is None
    assert commune.accessibility_status == AccessibilityStatus.NON_CONFORME


# --- The migration -----------------------------------------------------------------------------

BEFORE = [("communes", "0006_nom_portail_changement_adresse_en_ligne")]
AFTER = [("communes", "0007_accessibility_audit_statement")]


def _commune_row(model, slug, **fields):
    return model.objects.create(
        slug=slug,
        name=slug,
        address="1, place de la Mairie",
        postal_code="78000",
        phone="01 23 45 67 89",
        email=f"mairie@{slug}.fr",
        holiday_zone="C",
        **fields,
    )


@pytest.mark.django_db(transaction=True)
def test_0007_turns_the_old_status_into_an_audit_and_back():
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        OldCommune = old.get_model("communes", "Commune")
        audited_total = date(2025, 3, 1)
        _commune_row(
            OldCommune,
            "total-audite",
            accessibility_status="total",
            accessibility_audit_date=audited_total,
        )
        _commune_row(OldCommune, "partiel-sans-audit", accessibility_status="partiel")
        _commune_row(
            OldCommune,
            "partiel-audite",
            accessibility_status="partiel",
            accessibility_audit_date=date(2025, 3, 1),
        )

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = MigrationExecutor(connection).loader.project_state(AFTER).apps
        rates = dict(
            new.get_model("communes", "Commune").objects.values_list(
                "slug", "accessibility_audit_rate"
            )
        )
        # « totalement conforme » with an audit is a rate of 100 %; the other choices carried
        # no rate: the status they gave is not kept.
        assert rates == {"total-audite": 100, "partiel-sans-audit": None, "partiel-audite": None}

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        statuses = dict(
            old.get_model("communes", "Commune").objects.values_list("slug", "accessibility_status")
        )
        assert statuses == {
            "total-audite": "total",
            "partiel-sans-audit": "non",
            "partiel-audite": "non",
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_what_the_grid_declares_conforme_rests_on_what_the_site_has(client):
    """12.1 is conforme because of the « Plan du site » next to the menu: the grid says so only
    while that page is there and every footer leads to it."""
    by_number = {criterion.number: criterion for criterion in rgaa.GRID}
    assert by_number["12.1"].status == rgaa.CONFORME
    assert "Plan du site" in str(by_number["12.1"].note)
    CommuneFactory(slug="grille")
    page = client.get("/grille/")
    assert '<a href="/grille/plan-du-site/">Plan du site</a>' in page.content.decode()
    assert client.get("/grille/plan-du-site/").status_code == 200
