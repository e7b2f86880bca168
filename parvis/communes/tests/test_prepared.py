"""parvis.communes.prepared: a query of every request compiled once, giving exactly what the ORM
gives (issue 23, the per-request floor)."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.accounts.models import User
from parvis.communes import prepared, selectors, tenancy
from parvis.communes.models import Commune
from parvis.communes.prepared import Prepared
from parvis.communes.tests.factories import CommuneFactory
from parvis.families.models import Famille, Personne
from parvis.families.tests.factories import CitizenFactory, FamilleFactory, PersonneFactory

pytestmark = pytest.mark.django_db


def compiled(prepared) -> list:
    """The statements `prepared` keeps in this thread (a refused shape is kept as False)."""
    return [c for c in getattr(prepared._local, "compiled", {}).values() if c]


def values(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def test_the_account_and_its_commune_are_the_orms_and_read_in_one_statement():
    account = Prepared(lambda pk: User.objects.select_related("commune").filter(pk=pk))
    first, second = CitizenFactory(), CitizenFactory(commune=CommuneFactory(website="https://x.fr"))
    for user in (first, second, first):  # compiled by the first, run again for the others
        with CaptureQueriesContext(connection) as queries:
            got = account.first(user.pk)
            assert got.commune.website == user.commune.website
        assert len(queries) == 1
        orm = User.objects.select_related("commune").get(pk=user.pk)
        assert values(got) == values(orm)
        assert values(got.commune) == values(orm.commune)
        # Typed as the ORM types them (dates and times through the database's converters).
        assert type(got.date_joined) is type(orm.date_joined)
        assert got._state.adding is False and got._state.db == "default"
    assert account.first(max(first.pk, second.pk) + 1000) is None


def test_the_values_of_each_call_are_the_ones_asked_for():
    by_slug = Prepared(lambda slug: Commune.objects.filter(is_active=True, slug=slug))
    CommuneFactory(slug="alpha", name="Alpha")
    CommuneFactory(slug="beta", name="Beta")
    CommuneFactory(slug="gamma", name="Gamma", is_active=False)
    assert by_slug.first("alpha").name == "Alpha"
    assert by_slug.first("beta").name == "Beta"
    assert by_slug.first("gamma") is None  # the query's own condition is kept
    assert by_slug.first("delta") is None


def test_commune_by_slug_reads_what_it_read_before(django_assert_num_queries):
    commune = CommuneFactory(slug="ici")
    with django_assert_num_queries(1):
        assert values(selectors.commune_by_slug("ici")) == values(commune)
    Commune.objects.filter(pk=commune.pk).update(name="Ailleurs")
    assert selectors.commune_by_slug("ici").name == "Ailleurs"  # nothing kept but the SQL
    Commune.objects.filter(pk=commune.pk).update(is_active=False)
    assert selectors.commune_by_slug("ici") is None


def test_a_value_of_another_type_goes_through_the_orm():
    user = CitizenFactory()
    account = Prepared(lambda pk: User.objects.filter(pk=pk))
    assert account.first(str(user.pk)).pk == user.pk
    assert not compiled(account)


def test_a_value_in_two_places_is_placed_in_both():
    same = Prepared(lambda slug: Commune.objects.filter(slug=slug, name=slug))
    CommuneFactory(slug="double", name="double")
    CommuneFactory(slug="triple", name="triple")
    CommuneFactory(slug="moitie", name="autre")
    assert same.first("double").slug == "double"
    assert same.first("triple").slug == "triple"
    assert same.first("moitie") is None
    assert len(compiled(same)) == 1


# --- A commune's table: the current commune is a parameter of the statement -----------------


def two_communes():
    """Two communes whose rows have the same shapes (numbers, names), the first one's ids lower."""
    a, b = CommuneFactory(slug="a"), CommuneFactory(slug="b")
    fa = [FamilleFactory(commune=a, number=n, name=f"F{n}") for n in (1, 2, 3)]
    fb = [FamilleFactory(commune=b, number=n, name=f"F{n}") for n in (1, 2, 3)]
    assert a.pk < b.pk
    return a, b, fa, fb


def test_a_statement_compiled_in_one_commune_reads_the_next_ones_own_rows(
    django_assert_num_queries,
):
    a, b, fa, fb = two_communes()
    by_number = Prepared(lambda number: Famille.objects.filter(number=number))
    for commune, families in ((a, fa), (b, fb), (a, fa), (b, fb)):
        with tenancy.scope(commune.pk), django_assert_num_queries(1):
            got = by_number.first(2)
        assert got.pk == families[1].pk and got.commune_id == commune.pk
    assert len(compiled(by_number)) == 1  # compiled once, in A, run in B with B's id


def test_another_communes_row_never_comes_back_by_its_id():
    a, b, fa, fb = two_communes()
    by_id = Prepared(lambda pk: Famille.objects.filter(pk=pk))
    with tenancy.scope(a.pk):
        assert by_id.first(fa[0].pk).pk == fa[0].pk
        assert by_id.first(fb[0].pk) is None
    with tenancy.scope(b.pk):
        assert by_id.first(fa[0].pk) is None
        assert by_id.first(fb[0].pk).pk == fb[0].pk
    assert by_id.first(fb[0].pk, commune_id=a.pk) is None  # commune_id=: that commune's scope
    assert by_id.first(fa[0].pk, commune_id=a.pk).pk == fa[0].pk


def test_a_join_and_a_subquery_say_the_current_commune_too():
    a, b, fa, fb = two_communes()
    for famille in fa + fb:
        PersonneFactory(famille=famille, first_names="Zoé")
    members = Prepared(
        lambda ids: Personne.objects.filter(
            famille__in=Famille.objects.filter(number__in=ids)
        ).select_related("famille").order_by("famille__number")
    )  # fmt: skip
    for commune, families in ((a, fa), (b, fb)):
        got = members.all((1, 3), commune_id=commune.pk)
        assert [p.famille.pk for p in got] == [families[0].pk, families[2].pk]
        assert {p.commune_id for p in got} == {commune.pk}
    with CaptureQueriesContext(connection) as queries:
        members.all((1, 3), commune_id=b.pk)
    said = re.findall(r'"commune_id" = (\d+)', queries[0]["sql"])
    assert len(said) == 2 and set(said) == {str(b.pk)}  # the table's and the subquery's


def test_a_list_of_each_length_has_its_statement():
    a, b, fa, fb = two_communes()
    numbers = Prepared(
        lambda ids: Famille.objects.filter(pk__in=ids).order_by("number").values_list(
            "number", flat=True
        )
    )  # fmt: skip
    ids = tuple(f.pk for f in fa + fb)
    assert numbers.all(ids, commune_id=a.pk) == [1, 2, 3]
    assert numbers.all(ids, commune_id=b.pk) == [1, 2, 3]
    assert numbers.all(ids[:2], commune_id=b.pk) == []
    assert numbers.all(ids[3:5], commune_id=b.pk) == [1, 2]
    assert len(compiled(numbers)) == 2


def test_a_value_equal_to_the_commune_id_is_placed_where_it_is():
    a, b, _fa, _fb = two_communes()
    FamilleFactory(commune=a, number=a.pk + 100)
    FamilleFactory(commune=b, number=a.pk + 100, name="dans B")
    by_number = Prepared(lambda number: Famille.objects.filter(number=number))
    Famille.objects.filter(commune=a, number=a.pk).delete()
    Famille.objects.filter(commune=b, number=a.pk).delete()
    odd = FamilleFactory(commune=b, number=a.pk, name="numéro de A")
    with tenancy.scope(a.pk):
        assert by_number.first(a.pk) is None
    with tenancy.scope(b.pk):
        assert by_number.first(a.pk).pk == odd.pk
        assert by_number.first(a.pk + 100).name == "dans B"


def test_a_commune_named_in_the_build_function_is_refused():
    a, _b, fa, _fb = two_communes()
    frozen = Prepared(lambda number: Famille.objects.filter(commune=a, number=number))
    with tenancy.scope(a.pk):
        assert frozen.first(1).pk == fa[0].pk
    assert not compiled(frozen)  # the ORM ran it: A's id would have been kept


def test_without_a_current_commune_its_own_statement():
    _a, b, fa, fb = two_communes()
    by_number = Prepared(lambda number: Famille.objects.filter(number=number).order_by("pk"))
    assert [f.pk for f in by_number.all(1)] == [fa[0].pk, fb[0].pk]  # as the ORM, unscoped
    with tenancy.scope(b.pk):
        assert [f.pk for f in by_number.all(1)] == [fb[0].pk]
    assert [f.pk for f in by_number.all(1)] == [fa[0].pk, fb[0].pk]
    assert len(compiled(by_number)) == 2


def test_the_rows_are_the_orms_dates_included():
    a, b, fa, fb = two_communes()
    PersonneFactory(famille=fa[0], birth_date=date(2018, 5, 2), first_names="Léa")
    PersonneFactory(famille=fb[0], birth_date=date(2018, 5, 2), first_names="Léo")
    PersonneFactory(famille=fb[0], birth_date=date(2019, 5, 2), first_names="Noé")
    born = Prepared(
        lambda first, last: Personne.objects.filter(birth_date__range=(first, last)).values_list(
            "first_names", "birth_date"
        )
    )  # fmt: skip
    for commune, name in ((a, "Léa"), (b, "Léo")):
        with tenancy.scope(commune.pk):
            got = born.all(date(2018, 1, 1), date(2018, 12, 31))
            assert got == list(
                Personne.objects.filter(birth_date__year=2018).values_list(
                    "first_names", "birth_date"
                )
            )
            assert got == [(name, date(2018, 5, 2))]


def test_what_the_orm_does_beyond_the_statement_is_left_to_it():
    a, _b, fa, _fb = two_communes()
    PersonneFactory(famille=fa[0], first_names="Léa")
    with_members = Prepared(
        lambda number: Famille.objects.filter(number=number).prefetch_related("members")
    )
    got = with_members.first(1, commune_id=a.pk)
    assert [m.first_names for m in got.members.all()] == ["Léa"]
    assert not compiled(with_members)


def test_a_refused_shape_is_left_to_the_orm_without_compiling_again(monkeypatch):
    a, _b, fa, _fb = two_communes()
    calls, compile_query = [], prepared.compile_query

    def counted(*args):
        calls.append(args)
        return compile_query(*args)

    monkeypatch.setattr(prepared, "compile_query", counted)
    frozen = Prepared(lambda number: Famille.objects.filter(commune=a, number=number))
    for number in (1, 2, 3):
        assert frozen.first(number, commune_id=a.pk).pk == fa[number - 1].pk
    assert len(calls) == 1 and not compiled(frozen)


def test_a_value_the_lookup_escapes_is_never_taken_as_passed():
    """`__iexact` on SQLite escapes `%`, `_` and `\\` in its value: compiled with a plain value,
    a later « a_b » or « % » must not become a pattern (it would match other rows)."""
    CommuneFactory(name="AXB")
    CommuneFactory(name="A_B")
    named = Prepared(
        lambda name: Commune.objects.filter(name__iexact=name).values_list("name", flat=True)
    )
    assert named.all("axb") == ["AXB"]
    assert named.all("a_b") == ["A_B"]
    assert named.all("%") == []


def test_a_value_the_build_function_shifts_lands_on_no_other_values_place():
    """`low + 1` equal to the next value in the first call: the stand-ins are far apart, so its
    place is not taken for that value's (a later call would put the other value there)."""
    commune = CommuneFactory()
    for number in (1, 2, 3, 4):
        FamilleFactory(commune=commune, number=number)

    def build(low, pk):
        return Famille.objects.filter(number__gte=low, number__lte=low + 1, pk__gte=pk).values_list(
            "number", flat=True
        )

    shifted = Prepared(build)
    with tenancy.scope(commune.pk):
        for low, pk in [(1, 2), (3, 1)]:
            assert sorted(shifted.all(low, pk)) == sorted(build(low, pk)), (low, pk)


def test_a_number_past_64_bits_is_the_orms_no_row():
    one = CommuneFactory()
    by_id = Prepared(lambda pk: Commune.objects.filter(pk=pk).values_list("pk", flat=True))
    assert by_id.all(one.pk) == [one.pk]
    assert by_id.all(2**70) == []
