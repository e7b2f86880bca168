"""« Mon espace »'s reads (families.selectors_citizen.family_accesses), their SQL compiled once
(parvis.communes.prepared, issue 23): two communes whose accounts have the same shapes (two
families, children and responsables, a neighbour family), read in turn: each commune, each
account, gets its own rows and never another's, whichever commune compiled the statements, and
the same rows, order and objects as the ORM's queryset « Mon espace » read before."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from parvis.communes import tenancy
from parvis.communes.tests.factories import CommuneFactory
from parvis.families import selectors_citizen
from parvis.families.models import MemberKind
from parvis.families.selectors_citizen import family_accesses
from parvis.families.tests.factories import (
    ChildFactory,
    CitizenFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)

pytestmark = pytest.mark.django_db


def world(name: str) -> dict:
    commune = CommuneFactory(slug=name)
    user = CitizenFactory(commune=commune)
    # Created in the reverse of their order on the page (by name, then number).
    second = FamilleFactory(commune=commune, name=f"ZOLA {name}", number=2)
    first = FamilleFactory(commune=commune, name=f"AUBERT {name}", number=7)
    for famille in (second, first):
        FamilyAccessFactory(famille=famille, user=user)
        PersonneFactory(famille=famille, first_names=f"Paul {name}")
        ChildFactory(famille=famille, first_names=f"Léa {name}", birth_date=date(2019, 3, 1))
        ChildFactory(famille=famille, first_names=f"Hugo {name}", birth_date=date(2017, 5, 1))
    neighbour = FamilleFactory(commune=commune, name=f"VOISIN {name}", number=9)
    ChildFactory(famille=neighbour, first_names=f"Voisin {name}")
    FamilyAccessFactory(famille=neighbour)
    return {"commune": commune, "user": user, "familles": [first.pk, second.pk]}


def orm(*, user, commune) -> list:
    """The ORM's queryset « Mon espace » read before (accounts.selectors.family_accesses)."""
    return list(
        user.family_accesses.filter(commune=commune)
        .select_related("famille")
        .prefetch_related("famille__members")
        .order_by("famille__name", "famille__number")
    )


def shown(accesses) -> list:
    """What « Mon espace » reads of each link: the family, its members in their order."""
    return [
        (
            access.pk,
            access.famille.pk,
            access.famille.commune_id,
            access.famille.name,
            [(m.pk, m.kind, m.first_names, m.commune_id) for m in access.famille.members.all()],
        )
        for access in accesses
    ]


def test_each_commune_reads_its_own_accesses_whichever_compiled_first():
    a, b = world("alpha"), world("beta")
    for w in (a, b, a, b):
        with tenancy.scope(w["commune"].pk):
            expected = shown(orm(user=w["user"], commune=w["commune"]))
            accesses = family_accesses(user=w["user"], commune=w["commune"])
            with CaptureQueriesContext(connection) as queries:
                prepared = shown(accesses)
        assert prepared == expected
        assert len(queries) == 0  # the members are read with the links
        assert [row[1] for row in prepared] == w["familles"]
        assert {row[2] for row in prepared} == {w["commune"].pk}
        assert all(len(row[4]) == 3 for row in prepared)
        assert {m[3] for row in prepared for m in row[4]} == {w["commune"].pk}
        for access in accesses:
            assert access.user is w["user"]
            for member in access.famille.members.all():
                assert member.famille is access.famille
    for prepared in (selectors_citizen._ACCESSES, selectors_citizen._MEMBERS):
        assert any(prepared._local.compiled.values()), prepared  # compiled, not refused


def test_two_queries_none_naming_another_commune():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        shown(family_accesses(user=a["user"], commune=a["commune"]))  # compiled in A
    with tenancy.scope(b["commune"].pk), CaptureQueriesContext(connection) as queries:
        shown(family_accesses(user=b["user"], commune=b["commune"]))
    assert len(queries) == 2  # the links with their families, the members
    for query in queries:
        assert f"= {a['commune'].pk}" not in query["sql"].replace(f"= {a['commune'].pk}0", "")
        assert f"= {b['commune'].pk}" in query["sql"]


def test_another_communes_account_or_link_reads_nothing():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(b["commune"].pk):
        shown(family_accesses(user=b["user"], commune=b["commune"]))
        assert family_accesses(user=a["user"], commune=b["commune"]) == []
    # A link of A's account to a family of B: read in B only, never in A.
    link = FamilyAccessFactory(famille=FamilleFactory(commune=b["commune"]), user=a["user"])
    with tenancy.scope(a["commune"].pk):
        assert link.pk not in [x.pk for x in family_accesses(user=a["user"], commune=a["commune"])]
    with tenancy.scope(b["commune"].pk):
        assert [x.pk for x in family_accesses(user=a["user"], commune=b["commune"])] == [link.pk]
    alone = CitizenFactory(commune=a["commune"])
    with tenancy.scope(a["commune"].pk), CaptureQueriesContext(connection) as queries:
        assert family_accesses(user=alone, commune=a["commune"]) == []
    assert len(queries) == 1  # no link: no members read


def test_without_a_scope_the_commune_given_is_the_one_read():
    a, b = world("alpha"), world("beta")
    with tenancy.scope(a["commune"].pk):
        shown(family_accesses(user=a["user"], commune=a["commune"]))
    prepared = shown(family_accesses(user=b["user"], commune=b["commune"]))
    assert prepared == shown(orm(user=b["user"], commune=b["commune"]))
    assert [row[1] for row in prepared] == b["familles"]


def test_the_members_left_behave_as_the_prefetchs():
    a = world("alpha")
    with tenancy.scope(a["commune"].pk):
        access = family_accesses(user=a["user"], commune=a["commune"])[0]
        members = access.famille.members
        assert members.count() == 3
        assert [m.first_names for m in members.filter(kind=MemberKind.ENFANT)] == [
            "Hugo alpha",
            "Léa alpha",
        ]
