"""make bench-scale's pieces (issue 18 §1) on a tiny scale: the clone plan read from the models,
a template commune cloned twice in SQL, and the clones checked — each clone's rows point only to
its own commune's rows, its seat counters equal its bookings, its families log in with the
documented password. PostgreSQL only (generate_series), as the command is."""

from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from parvis.accounts.models import User
from parvis.activities.models import Reservation, Unit, UnitDay
from parvis.billing.models import Invoice
from parvis.communes.dates import first_of_month
from parvis.communes.models import Commune
from parvis.families.models import Famille, Personne
from parvis.portal import bench_scale
from parvis.portal.management.commands.bench import build_reference_commune

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="make bench-scale runs on PostgreSQL only"
    ),
]


@contextmanager
def replica():
    """No foreign-key trigger (the big load's mode), for rows the database would refuse."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def by_table(plan):
    return {table.name: {c.name: c for c in table.columns} for table in plan}


def test_the_plan_is_read_from_the_models():
    plan = bench_scale.clone_plan()
    tables = by_table(plan)
    # Every concrete column of every commune's table is written by a clone.
    for table in plan:
        assert [c.name for c in table.columns] == [
            f.column for f in table.model._meta.concrete_fields
        ]
    reservation = tables[Reservation._meta.db_table]
    assert reservation["id"].how == "shift"
    assert reservation["commune_id"].target == Commune._meta.db_table
    assert reservation["child_id"].target == Personne._meta.db_table
    assert reservation["unit_id"].target == Unit._meta.db_table
    assert reservation["day"].how == "copy"
    # Unique on their own (no shifted column makes them so): suffixed.
    assert tables[Commune._meta.db_table]["slug"].how == "suffix"
    assert tables[User._meta.db_table]["username"].how == "suffix"
    # Unique within the commune: the commune's shifted id keeps them unique.
    assert tables[User._meta.db_table]["email"].how == "copy"
    assert tables[Famille._meta.db_table]["number"].how == "copy"
    assert tables[Invoice._meta.db_table]["number"].how == "copy"
    assert UnitDay._meta.db_table in tables  # reached through its unit at least
    assert "django_session" not in tables


def test_sizes_and_the_booking_end():
    # 1,000 communes, 100,000 families: the reference's 200 and 100 in each of 999 others
    # (250 children each), 305 unit-days per reference child.
    per_commune, per_child = bench_scale.sizes(
        communes=1000, families_total=100_000, unit_days=30_000_000, reference=(200, 152_500)
    )
    assert per_commune == 100
    assert per_child == 120  # ⌈(30,000,000 − 152,500) / (999 × 250)⌉ = ⌈119.5⌉
    assert bench_scale.children_of(3) == 7
    today = date(2026, 12, 6)
    end = bench_scale.booking_end(today, 120)
    assert date(2026, 9, 7) < end < date(2027, 1, 31)
    assert bench_scale.booking_end(today, 10_000) is None  # more than a year: all of it
    assert bench_scale.booking_end(today, 1) == date(2026, 9, 7)  # the first Monday


def indexes(cursor) -> dict[str, str]:
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    return dict(cursor.fetchall())


def build_and_clone(copies=2):
    today = timezone.localdate()
    reference = build_reference_commune(2, slug="reference")
    plan = bench_scale.clone_plan()
    with connection.cursor() as cursor:
        since = bench_scale.max_ids(cursor, plan)
    bench_scale.build_template(
        3,
        today=today,
        unit_days_per_child=20,
        month=first_of_month(today, -2),
        build_commune=build_reference_commune,
    )
    with connection.cursor() as cursor:
        ranges = bench_scale.template_ranges(cursor, plan, since)
        bench_scale.check_template(cursor, plan, ranges, copies)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the template's rows checked now
        before = indexes(cursor)
        # As the command loads: no foreign-key trigger (the checks below do their work).
        with (
            replica(),
            bench_scale.indexes_deferred(cursor, plan, ranges, copies, rows=1) as deferred,
        ):
            assert "reservation_seat_idx" in deferred
            assert "reservation_unique_per_child_unit_day" not in deferred  # a constraint's
            assert set(deferred) & set(before) and not set(deferred) & set(indexes(cursor))
            written = bench_scale.clone(cursor, plan, ranges, copies, chunk=1)
        assert indexes(cursor) == before  # built again, the same
        bench_scale.reset_sequences(cursor, plan)
    return reference, plan, written


def test_a_template_is_cloned_commune_by_commune():
    reference, plan, written = build_and_clone()
    template = Commune.objects.get(slug=bench_scale.TEMPLATE_SLUG)
    clones = [Commune.objects.get(slug=f"{bench_scale.TEMPLATE_SLUG}-{k}") for k in (1, 2)]
    booked = Reservation.objects.filter(commune=template).count()
    invoices = Invoice.objects.filter(commune=template).count()
    assert booked > 0 and invoices > 0
    assert written[Reservation._meta.db_table] == 2 * booked
    for clone in clones:
        assert clone.name == template.name
        assert Famille.objects.filter(commune=clone).count() == 3
        assert Personne.objects.filter(commune=clone, kind="enfant").count() == 7
        assert Reservation.objects.filter(commune=clone).count() == booked
        assert Reservation.objects.filter(unit__activity__commune=clone).count() == booked
        assert Invoice.objects.filter(commune=clone, regie__commune=clone).count() == invoices
        assert UnitDay.objects.filter(unit__commune=clone).exists()
    # The reference commune is untouched.
    assert Reservation.objects.filter(commune=reference["commune"]).count() == 0
    with connection.cursor() as cursor:
        assert bench_scale.inconsistencies(cursor, plan) == {}
        assert bench_scale.counters_not_equal(cursor) == 0
    # The sequences go on after the clones.
    assert Commune.objects.create(slug="after", name="After").pk > clones[1].pk


def test_the_checks_see_a_clone_pointing_elsewhere_and_a_wrong_counter():
    reference, plan, _written = build_and_clone(copies=1)
    clone = Commune.objects.get(slug=f"{bench_scale.TEMPLATE_SLUG}-1")
    row = Reservation.objects.filter(commune=clone).first()
    other = Personne.objects.filter(commune=reference["commune"], kind="enfant").first()
    with replica():  # as while loading: no foreign-key trigger
        Reservation.objects.filter(pk=row.pk).update(child=other)
    counter = UnitDay.objects.filter(unit__commune=clone).first()
    UnitDay.objects.filter(pk=counter.pk).update(taken=counter.taken + 1)
    with connection.cursor() as cursor:
        assert bench_scale.inconsistencies(cursor, plan) == {
            f"{Reservation._meta.db_table}.child_id": 1
        }
        assert bench_scale.counters_not_equal(cursor) == 1


def test_a_cloned_family_logs_in_with_the_documented_password():
    build_and_clone()
    response = Client().post(
        f"/{bench_scale.TEMPLATE_SLUG}-2/connexion/",
        {"username": "parent2@ref.fr", "password": bench_scale.PASSWORD},
    )
    assert response.status_code == 302
    user = response.wsgi_request.user
    assert user.commune.slug == f"{bench_scale.TEMPLATE_SLUG}-2"
    assert user.username == f"{bench_scale.TEMPLATE_SLUG}/2-2"
    wrong = Client().post(
        f"/{bench_scale.TEMPLATE_SLUG}-2/connexion/",
        {"username": "parent2@ref.fr", "password": "pas le bon"},
    )
    assert wrong.status_code == 200


def test_a_template_pointing_outside_itself_is_refused():
    reference = build_reference_commune(2, slug="reference")
    plan = bench_scale.clone_plan()
    with connection.cursor() as cursor:
        since = bench_scale.max_ids(cursor, plan)
    commune = Commune.objects.create(slug="commune", name="Modèle")
    Famille.objects.create(commune=commune, number=1, name="X")
    stray = Personne.objects.filter(commune=reference["commune"]).first()
    with replica():
        Famille.objects.filter(commune=commune).update(payeur=stray)
    with connection.cursor() as cursor:
        ranges = bench_scale.template_ranges(cursor, plan, since)
        with pytest.raises(ValueError, match="payeur_id: 1 rows point outside the template"):
            bench_scale.check_template(cursor, plan, ranges, 1)
