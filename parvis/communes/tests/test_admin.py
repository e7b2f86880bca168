"""The admin, tried from the outside: a commune's administrator manages their commune's settings,
services, closures and news, and can neither see, open, change, delete, choose nor create another
commune's rows; the operator sees every commune; every change is logged.

Each test logs in with the test client and submits what a browser would: the POST data is read
from the rendered change form (`form_data`), then edited.
"""

from datetime import date, time, timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from parvis.communes.models import Actualite, Closure, Commune, OpeningRange, Service
from parvis.communes.services import COMMUNE_ADMIN_GROUP, ensure_commune_admin_group
from parvis.communes.tests.factories import (
    ActualiteFactory,
    ClosureFactory,
    CommuneAdminFactory,
    CommuneFactory,
    OpeningRangeFactory,
    OperatorFactory,
    ServiceFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ["commune", "service", "closure", "actualite"]
SCOPED_MODELS = ["service", "closure", "actualite"]
REFUSED_CONTRAST = "sous le minimum de 4,5:1 exigé par le RGAA"
INVALID_CHOICE = "Sélectionnez un choix valide"


# --- Reading a change form as a browser submits it ----------------------------------------------


class _FormReader(HTMLParser):
    """The fields of the admin's change form (`<form id="…_form">`) as a browser submits them:
    checked boxes only, each select's chosen option (else its first), textareas' text; no file,
    no button, no inline's hidden `__prefix__` template row."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.in_form = False
        self.select = None
        self.textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("id") or "").endswith("_form"):
            self.in_form = True
        name = attrs.get("name") or ""
        if not self.in_form or "__prefix__" in name:
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    self.pairs.append((name, attrs.get("value") or "on"))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                self.pairs.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self.select = {"name": name, "multiple": "multiple" in attrs, "options": []}
        elif tag == "option" and self.select is not None:
            self.select["options"].append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self.textarea = [name, ""]

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select is not None:
            options = self.select["options"]
            chosen = [value for value, selected in options if selected]
            if not chosen and options and not self.select["multiple"]:
                chosen = [options[0][0]]
            self.pairs += [(self.select["name"], value) for value in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            # Browsers drop the newline that follows <textarea>, which Django always writes.
            self.pairs.append((name, text.removeprefix("\r\n").removeprefix("\n")))
            self.textarea = None


def form_data(response) -> dict:
    assert response.status_code == 200, response
    reader = _FormReader()
    reader.feed(response.content.decode())
    assert reader.pairs, "no change form on the page"
    data: dict = {}
    for name, value in reader.pairs:
        if name in data:
            data[name] = [*data[name]] if isinstance(data[name], list) else [data[name]]
            data[name].append(value)
        else:
            data[name] = value
    return data


def add_inline_row(data: dict, prefix: str, **fields) -> None:
    """What the admin's « Ajouter un objet » link does: one more row in the inline `prefix`."""
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data.update({f"{prefix}-{n}-{field}": value for field, value in fields.items()})


def inline_formset(response, model):
    """The formset of the inline of `model` on a change page."""
    inlines = response.context["inline_admin_formsets"]
    return next(inline.formset for inline in inlines if inline.opts.model is model)


def submit(client, url, **changes):
    """GET the form at `url`, change some fields, POST it back."""
    data = form_data(client.get(url))
    data.update(changes)
    return client.post(url, data)


def fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def changelist(model):
    return reverse(f"admin:communes_{model}_changelist")


def add_url(model):
    return reverse(f"admin:communes_{model}_add")


def change_url(obj):
    return reverse(f"admin:communes_{obj._meta.model_name}_change", args=[obj.pk])


def delete_url(obj):
    return reverse(f"admin:communes_{obj._meta.model_name}_delete", args=[obj.pk])


def history_url(obj):
    return reverse(f"admin:communes_{obj._meta.model_name}_history", args=[obj.pk])


NOT_FOUND = "n’existe pas. Peut-être a-t-il été supprimé"


def assert_not_found(response):
    """How the admin answers for an object outside its queryset: back to the index."""
    assert response.status_code == 302
    assert response.url == reverse("admin:index")


# --- Two communes, each with one row of everything ----------------------------------------------


def commune_with_rows(tag: str) -> SimpleNamespace:
    commune = CommuneFactory(name=f"Ville{tag}", slug=f"ville-{tag.lower()}")
    service = ServiceFactory(commune=commune, name=f"Service{tag}")
    return SimpleNamespace(
        commune=commune,
        service=service,
        town_hall_range=OpeningRangeFactory(commune=commune, weekday=1),
        service_range=OpeningRangeFactory(commune=commune, service=service, weekday=2),
        closure=ClosureFactory(commune=commune, reason=f"Fermeture{tag}"),
        service_closure=ClosureFactory(
            commune=commune, service=service, reason=f"FermetureService{tag}"
        ),
        news=ActualiteFactory(commune=commune, title=f"Nouvelle{tag}"),
        # Strings only this commune's rows put on a page.
        markers=[f"Ville{tag}", f"Service{tag}", f"Fermeture{tag}", f"Nouvelle{tag}"],
    )


@pytest.fixture
def a():
    return commune_with_rows("Alpha")


@pytest.fixture
def b():
    return commune_with_rows("Beta")


def row_of(commune_rows, model):
    return {
        "commune": commune_rows.commune,
        "service": commune_rows.service,
        "closure": commune_rows.closure,
        "actualite": commune_rows.news,
    }[model]


def rows_of(commune_rows, model) -> set:
    if model == "closure":
        return {commune_rows.closure, commune_rows.service_closure}
    return {row_of(commune_rows, model)}


@pytest.fixture
def admin_a_user(a):
    return CommuneAdminFactory(commune=a.commune)


@pytest.fixture
def as_admin_a(client, admin_a_user):
    client.force_login(admin_a_user)
    return client


@pytest.fixture
def as_operator(client):
    client.force_login(OperatorFactory())
    return client


def page(response) -> str:
    return response.content.decode()


def assert_shows_none_of(response, rows):
    text = page(response)
    for marker in rows.markers:
        assert marker not in text, f"{marker} leaked"


def snapshot(obj) -> dict:
    """Every column of `obj` as stored, to prove a refused request changed nothing."""
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in obj._meta.concrete_fields}


# --- Listing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_admin_lists_only_their_commune(as_admin_a, a, b, model):
    response = as_admin_a.get(changelist(model))

    assert response.status_code == 200
    assert str(row_of(a, model)) in page(response)
    assert set(response.context["cl"].result_list) == rows_of(a, model)
    assert_shows_none_of(response, b)


@pytest.mark.parametrize("model", SCOPED_MODELS)
def test_filters_and_search_do_not_reach_another_commune(as_admin_a, a, b, model):
    filtered = as_admin_a.get(changelist(model), {"commune__id__exact": b.commune.pk})
    searched = as_admin_a.get(changelist(model), {"q": "Beta"})

    # The commune filter is the operator's: refused (400) or without effect, never B's rows.
    assert filtered.status_code in {200, 400}
    assert_shows_none_of(filtered, b)
    assert searched.status_code == 200
    assert_shows_none_of(searched, b)
    # Closures have no search box: the term is ignored, the list stays A's.
    assert set(searched.context["cl"].result_list) <= rows_of(a, model)


def test_index_shows_commune_admin_their_modules_only(as_admin_a, a, b):
    response = as_admin_a.get(reverse("admin:index"))

    assert response.status_code == 200
    for model in MODELS:
        assert changelist(model) in page(response)
    # Their agents and the audit log, never the accounts of the whole platform.
    assert "/admin/accounts/agent/" in page(response)
    assert "/admin/accounts/user/" not in page(response)
    assert "/admin/auth/" not in page(response)
    assert_shows_none_of(response, b)


@pytest.mark.parametrize("model", MODELS)
def test_operator_sees_every_commune(as_operator, a, b, model):
    response = as_operator.get(changelist(model))

    assert response.status_code == 200
    assert str(row_of(a, model)) in page(response)
    assert str(row_of(b, model)) in page(response)


@pytest.mark.parametrize("with_group", [False, True], ids=["no-permission", "admin-group"])
def test_staff_without_commune_sees_nothing(client, a, b, with_group):
    # The worst case: an administrator whose commune was taken away keeps the group.
    user = StaffFactory()
    if with_group:
        user.groups.add(ensure_commune_admin_group())
    client.force_login(user)

    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    for model in MODELS:
        assert changelist(model) not in page(index)
        assert client.get(changelist(model)).status_code == 403
        assert client.get(change_url(row_of(a, model))).status_code in {302, 403}
    for model in SCOPED_MODELS:
        assert client.get(add_url(model)).status_code == 403
    assert_shows_none_of(index, a)
    assert_shows_none_of(index, b)


# --- Opening, changing, deleting another commune's rows ----------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_admin_cannot_open_another_communes_row(as_admin_a, b, model):
    row = row_of(b, model)

    for url in (change_url(row), history_url(row), delete_url(row)):
        response = as_admin_a.get(url)
        if model == "commune" and url == delete_url(row):
            assert response.status_code == 403  # no commune is deleted but by the operator
        else:
            assert_not_found(response)
            assert NOT_FOUND in page(as_admin_a.get(response.url))
        assert_shows_none_of(as_admin_a.get(url, follow=True), b)


@pytest.mark.parametrize("model", MODELS)
def test_admin_cannot_change_another_communes_row(as_admin_a, a, b, model):
    """The POST is A's own form, aimed at B's row: refused, B's row is untouched."""
    data = form_data(as_admin_a.get(change_url(row_of(a, model))))
    for field in ("name", "title", "reason"):
        if field in data:
            data[field] = "Piraté"
    target = row_of(b, model)
    before = snapshot(target)

    response = as_admin_a.post(change_url(target), data)

    assert_not_found(response)
    assert snapshot(target) == before
    assert not LogEntry.objects.filter(object_id=str(target.pk), action_flag=CHANGE).exists()


@pytest.mark.parametrize("model", MODELS)
def test_admin_cannot_delete_another_communes_row(as_admin_a, b, model):
    target = row_of(b, model)

    response = as_admin_a.post(delete_url(target), {"post": "yes"})

    if model == "commune":
        assert response.status_code == 403
    else:
        assert_not_found(response)
    assert type(target).objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("model", SCOPED_MODELS)
def test_bulk_delete_action_ignores_another_communes_rows(as_admin_a, a, b, model):
    own, foreign = row_of(a, model), row_of(b, model)

    response = as_admin_a.post(
        changelist(model),
        {"action": "delete_selected", "_selected_action": [own.pk, foreign.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not type(own).objects.filter(pk=own.pk).exists()
    assert type(foreign).objects.filter(pk=foreign.pk).exists()


def test_inline_rows_of_another_commune_cannot_be_slipped_into_a_form(as_admin_a, a, b):
    """B's opening range or closure posted as a row of A's service or commune: Django looks the
    row up among the parent's rows only, finds nothing and leaves it alone (it answers with the
    form's errors or saves the rest; either way B's rows are untouched)."""
    service_range_before = snapshot(b.service_range)
    town_hall_range_before = snapshot(b.town_hall_range)
    closure_before = snapshot(b.closure)

    service_form = form_data(as_admin_a.get(change_url(a.service)))
    service_form["opening_ranges-0-id"] = str(b.service_range.pk)
    service_form["opening_ranges-0-opens"] = "06:00"
    service_response = as_admin_a.post(change_url(a.service), service_form)

    commune_form = form_data(as_admin_a.get(change_url(a.commune)))
    commune_form["openingrange_set-0-id"] = str(b.town_hall_range.pk)
    commune_form["openingrange_set-0-opens"] = "06:00"
    commune_form["closure_set-0-id"] = str(b.closure.pk)
    commune_form["closure_set-0-reason"] = "Piraté"
    commune_response = as_admin_a.post(change_url(a.commune), commune_form)

    for response in (service_response, commune_response):
        assert response.status_code in {200, 302}
    assert snapshot(b.service_range) == service_range_before
    assert snapshot(b.town_hall_range) == town_hall_range_before
    assert snapshot(b.closure) == closure_before
    assert OpeningRange.objects.filter(pk=a.service_range.pk).exists()


def test_service_range_cannot_be_edited_as_a_town_hall_range(as_admin_a, a):
    """The Hôtel de Ville's inline lists its own hours, not a service's."""
    response = as_admin_a.get(change_url(a.commune))
    assert list(inline_formset(response, OpeningRange).queryset) == [a.town_hall_range]
    form = form_data(response)
    before = snapshot(a.service_range)
    form["openingrange_set-0-id"] = str(a.service_range.pk)
    form["openingrange_set-0-opens"] = "06:00"

    response = as_admin_a.post(change_url(a.commune), form)

    assert response.status_code in {200, 302}
    assert snapshot(a.service_range) == before


# --- Creating rows -----------------------------------------------------------------------------


def test_news_posted_with_another_commune_id_is_created_in_own_commune(as_admin_a, a, b):
    response = submit(
        as_admin_a,
        add_url("actualite"),
        commune=str(b.commune.pk),
        title="Fête de la musique",
        body="Concerts place de l'église.",
    )

    assert response.status_code == 302
    news = Actualite.objects.get(title="Fête de la musique")
    assert news.commune == a.commune
    assert news.slug == "fete-de-la-musique"
    assert not Actualite.objects.filter(commune=b.commune).exclude(pk=b.news.pk).exists()


@pytest.mark.parametrize("model", SCOPED_MODELS)
def test_add_form_has_no_commune_field_for_commune_admin(as_admin_a, model):
    response = as_admin_a.get(add_url(model))

    assert response.status_code == 200
    assert "commune" not in response.context["adminform"].form.fields
    assert 'name="commune"' not in page(response)


def test_closure_service_choices_are_own_commune_services(as_admin_a, a, b):
    response = as_admin_a.get(add_url("closure"))

    services = response.context["adminform"].form.fields["service"].queryset
    assert list(services) == [a.service]
    assert a.service.name in page(response)
    assert_shows_none_of(response, b)


def test_closure_with_another_communes_service_is_refused(as_admin_a, a, b):
    before = Closure.objects.count()

    response = submit(
        as_admin_a,
        add_url("closure"),
        service=str(b.service.pk),
        start=fr_date(date(2026, 7, 14)),
        end=fr_date(date(2026, 7, 14)),
        reason="Fête nationale",
    )

    assert response.status_code == 200
    assert INVALID_CHOICE in str(response.context["adminform"].form.errors["service"])
    assert Closure.objects.count() == before


def test_commune_closure_inline_offers_own_services_only(as_admin_a, a, b):
    response = as_admin_a.get(change_url(a.commune))

    closures = inline_formset(response, Closure)
    assert list(closures.empty_form.fields["service"].queryset) == [a.service]
    assert_shows_none_of(response, b)

    form = form_data(response)
    add_inline_row(
        form,
        "closure_set",
        service=str(b.service.pk),
        start=fr_date(date(2026, 8, 15)),
        end=fr_date(date(2026, 8, 15)),
        reason="Assomption",
    )
    refused = as_admin_a.post(change_url(a.commune), form)

    assert refused.status_code == 200
    assert INVALID_CHOICE in page(refused)
    assert not Closure.objects.filter(reason="Assomption").exists()


def test_admin_creates_a_service_with_its_own_hours(as_admin_a, a):
    """The inline ranges of a new service take the administrator's commune, not another one and
    not none (the parent does not exist yet when the inline forms are built)."""
    data = form_data(as_admin_a.get(add_url("service")))
    data.update(name="Police municipale", phone="01 39 22 36 10", email="", position="3")
    add_inline_row(data, "opening_ranges", weekday="0", opens="09:00", closes="12:00")
    add_inline_row(data, "opening_ranges", weekday="2", opens="14:00", closes="17:30")

    response = as_admin_a.post(add_url("service"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    service = Service.objects.get(name="Police municipale")
    assert service.commune == a.commune
    ranges = list(service.opening_ranges.order_by("weekday"))
    assert [(r.weekday, r.opens, r.closes) for r in ranges] == [
        (0, time(9), time(12)),
        (2, time(14), time(17, 30)),
    ]
    assert {r.commune_id for r in ranges} == {a.commune.pk}


def test_admin_adds_hours_to_an_existing_service(as_admin_a, a):
    data = form_data(as_admin_a.get(change_url(a.service)))
    add_inline_row(data, "opening_ranges", weekday="4", opens="08:00", closes="11:00")

    response = as_admin_a.post(change_url(a.service), data)

    assert response.status_code == 302
    added = a.service.opening_ranges.get(weekday=4)
    assert added.commune == a.commune


def test_inline_range_that_closes_before_opening_is_a_form_error(as_admin_a, a):
    data = form_data(as_admin_a.get(change_url(a.service)))
    add_inline_row(data, "opening_ranges", weekday="4", opens="11:00", closes="08:00")

    response = as_admin_a.post(change_url(a.service), data)

    assert response.status_code == 200
    assert "L'heure de fermeture doit suivre l'heure d'ouverture." in page(response).replace(
        "&#x27;", "'"
    )
    assert not a.service.opening_ranges.filter(weekday=4).exists()


@pytest.mark.parametrize(
    ("model", "field", "taken"),
    [("service", "name", "ServiceAlpha"), ("actualite", "slug", None)],
)
def test_duplicate_in_own_commune_is_a_form_error_not_a_crash(as_admin_a, a, model, field, taken):
    """Unique per commune: the commune is not a field of the administrator's form, yet the
    constraint is checked, so the answer is the form with an error (not a server error)."""
    taken = taken or a.news.slug
    before = type(row_of(a, model)).objects.count()
    data = form_data(as_admin_a.get(add_url(model)))
    data.update({"title": "Une autre", "body": "Texte."} if model == "actualite" else {})
    data[field] = taken

    response = as_admin_a.post(add_url(model), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert type(row_of(a, model)).objects.count() == before


def test_same_name_in_another_commune_is_allowed(as_admin_a, a, b):
    response = submit(as_admin_a, add_url("service"), name=b.service.name, email="", phone="")

    assert response.status_code == 302
    assert Service.objects.get(commune=a.commune, name=b.service.name)


# --- The commune itself ------------------------------------------------------------------------


def test_commune_admin_cannot_add_or_delete_communes(as_admin_a, a, b):
    count = Commune.objects.count()

    assert as_admin_a.get(add_url("commune")).status_code == 403
    posted = as_admin_a.post(
        add_url("commune"),
        {"name": "Nouvelle", "slug": "nouvelle", "address": "x", "postal_code": "78000"},
    )
    assert posted.status_code == 403
    assert as_admin_a.get(delete_url(a.commune)).status_code == 403
    assert as_admin_a.post(delete_url(a.commune), {"post": "yes"}).status_code == 403
    bulk = as_admin_a.post(
        changelist("commune"),
        {"action": "delete_selected", "_selected_action": [a.commune.pk], "post": "yes"},
    )
    assert bulk.status_code in {200, 302}

    assert Commune.objects.count() == count
    listing = as_admin_a.get(changelist("commune"))
    assert add_url("commune") not in page(listing)
    assert "delete_selected" not in page(listing)


def test_commune_admin_cannot_change_slug_or_take_commune_offline(as_admin_a, a):
    form = as_admin_a.get(change_url(a.commune)).context["adminform"].form
    assert "slug" not in form.fields
    assert "is_active" not in form.fields

    response = submit(
        as_admin_a, change_url(a.commune), name="Alpha-sur-Seine", slug="pirate", is_active=""
    )

    assert response.status_code == 302
    a.commune.refresh_from_db()
    assert a.commune.name == "Alpha-sur-Seine"
    assert a.commune.slug == "ville-alpha"
    assert a.commune.is_active is True


def test_commune_admin_edits_town_hall_hours_and_closures(as_admin_a, a):
    data = form_data(as_admin_a.get(change_url(a.commune)))
    add_inline_row(data, "openingrange_set", weekday="5", opens="09:00", closes="12:00")
    add_inline_row(
        data,
        "closure_set",
        service=str(a.service.pk),
        start=fr_date(date(2026, 12, 24)),
        end=fr_date(date(2026, 12, 26)),
        reason="Noël",
    )

    response = as_admin_a.post(change_url(a.commune), data)

    assert response.status_code == 302
    saturday = OpeningRange.objects.get(commune=a.commune, weekday=5)
    assert saturday.service is None
    christmas = Closure.objects.get(reason="Noël")
    assert (christmas.commune, christmas.service) == (a.commune, a.service)


def test_operator_adds_and_deletes_communes(as_operator, a):
    add_page = as_operator.get(add_url("commune"))
    # The model's default colour is offered (an empty colour input would be sent as black).
    assert 'type="color" name="theme_colour" value="#1B4F8A"' in page(add_page)
    data = form_data(add_page)
    data.update(
        name="Gamma",
        slug="gamma",
        address="2, rue de la Paix",
        postal_code="78100",
        phone="01 02 03 04 05",
        email="mairie@gamma.fr",
        holiday_zone="C",
    )
    add_inline_row(data, "openingrange_set", weekday="0", opens="09:00", closes="12:00")

    response = as_operator.post(add_url("commune"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    gamma = Commune.objects.get(slug="gamma")
    assert OpeningRange.objects.get(commune=gamma).service is None

    assert gamma.theme_colour == "#1B4F8A"

    # Its creation is in the audit log, which nobody deletes: the operator takes such a commune
    # off line instead (« en ligne »), and the delete page says what stands in the way.
    refused = as_operator.post(delete_url(gamma), {"post": "yes"})
    assert refused.status_code == 200
    assert "entrée du journal" in page(refused)
    assert Commune.objects.filter(slug="gamma").exists()

    # A commune without history (made outside the admin) can still be deleted.
    blank = Commune.objects.create(
        name="Blank", slug="blank", address="-", postal_code="78000", phone="0102030405",
        email="m@blank.fr", holiday_zone="C",
    )  # fmt: skip
    assert as_operator.post(delete_url(blank), {"post": "yes"}).status_code == 302
    assert not Commune.objects.filter(slug="blank").exists()


def test_new_commune_cannot_take_a_closure_of_another_communes_service(as_operator, b):
    """A commune being created has no service: its closures' inline offers none, and a posted
    service of another commune is ignored (the closure closes the whole town hall)."""
    add_page = as_operator.get(add_url("commune"))
    assert "service" not in inline_formset(add_page, Closure).empty_form.fields
    data = form_data(add_page)
    data.update(
        name="Delta",
        slug="delta",
        address="3, rue Haute",
        postal_code="78200",
        phone="01 02 03 04 06",
        email="mairie@delta.fr",
        holiday_zone="C",
    )
    add_inline_row(
        data,
        "closure_set",
        service=str(b.service.pk),
        start=fr_date(date(2026, 5, 1)),
        end=fr_date(date(2026, 5, 1)),
        reason="Fête du travail",
    )

    response = as_operator.post(add_url("commune"), data)

    assert response.status_code == 302
    closure = Closure.objects.get(reason="Fête du travail")
    assert (closure.commune.slug, closure.service) == ("delta", None)


# --- Theme colour ------------------------------------------------------------------------------


def test_low_contrast_theme_colour_is_refused_and_the_form_keeps_the_entries(as_admin_a, a):
    before = snapshot(a.commune)

    response = submit(
        as_admin_a, change_url(a.commune), name="Alpha-le-Pont", theme_colour="#777777"
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert REFUSED_CONTRAST in str(form.errors["theme_colour"])
    assert "4,47:1" in str(form.errors["theme_colour"])
    assert REFUSED_CONTRAST in page(response)
    assert 'value="Alpha-le-Pont"' in page(response)
    assert 'type="color" name="theme_colour" value="#777777"' in page(response)
    assert snapshot(a.commune) == before


def test_theme_colour_at_the_contrast_limit_is_saved(as_admin_a, a):
    response = submit(as_admin_a, change_url(a.commune), theme_colour="#767676")

    assert response.status_code == 302
    a.commune.refresh_from_db()
    assert a.commune.theme_colour == "#767676"


def test_malformed_theme_colour_is_refused(as_admin_a, a):
    response = submit(as_admin_a, change_url(a.commune), theme_colour="bleu")

    assert response.status_code == 200
    assert "#RRVVBB" in str(response.context["adminform"].form.errors["theme_colour"])


# --- Users, groups, autocomplete ---------------------------------------------------------------


def test_operator_manages_users(as_operator, admin_a_user):
    assert as_operator.get(reverse("admin:accounts_user_changelist")).status_code == 200
    change = as_operator.get(reverse("admin:accounts_user_change", args=[admin_a_user.pk]))
    assert change.status_code == 200


def test_commune_admin_has_no_access_to_users_or_groups(as_admin_a, admin_a_user):
    other = UserFactory(commune=admin_a_user.commune)

    for url in (
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_add"),
        reverse("admin:accounts_user_change", args=[other.pk]),
        reverse("admin:accounts_user_change", args=[admin_a_user.pk]),
        reverse("admin:auth_group_changelist"),
    ):
        assert as_admin_a.get(url).status_code in {403, 404}, url
    # The « Comptes » section lists their agents and the audit log, not the platform's users.
    section = as_admin_a.get(reverse("admin:app_list", args=["accounts"])).content.decode()
    assert "/admin/accounts/agent/" in section and "/admin/accounts/user/" not in section

    as_admin_a.post(
        reverse("admin:accounts_user_change", args=[admin_a_user.pk]),
        {"username": admin_a_user.username, "is_superuser": "on", "commune": ""},
    )
    commune_id = admin_a_user.commune_id
    admin_a_user.refresh_from_db()
    assert (admin_a_user.is_superuser, admin_a_user.commune_id) == (False, commune_id)
    assert Group.objects.get(name=COMMUNE_ADMIN_GROUP).user_set.filter(pk=admin_a_user.pk)


@pytest.mark.parametrize(
    ("source", "field"), [("closure", "service"), ("service", "commune"), ("user", "commune")]
)
def test_autocomplete_offers_own_commune_only(as_admin_a, a, b, source, field):
    app_label = "accounts" if source == "user" else "communes"
    response = as_admin_a.get(
        reverse("admin:autocomplete"),
        {"app_label": app_label, "model_name": source, "field_name": field, "term": ""},
    )

    assert response.status_code == 200
    ids = {int(result["id"]) for result in response.json()["results"]}
    expected = a.service if field == "service" else a.commune
    assert ids == {expected.pk}


# --- The audit trail ---------------------------------------------------------------------------


def test_every_change_by_a_commune_admin_is_logged(as_admin_a, admin_a_user, a):
    def logged(obj, flag):
        return LogEntry.objects.filter(
            user=admin_a_user,
            content_type__model=obj._meta.model_name,
            object_id=str(obj.pk),
            action_flag=flag,
        ).exists()

    submit(as_admin_a, add_url("actualite"), title="Brocante", body="Dimanche.")
    news = Actualite.objects.get(title="Brocante")
    submit(as_admin_a, change_url(news), title="Grande brocante")
    submit(as_admin_a, change_url(a.commune), theme_colour="#1B4F8A", name="Alpha-Ville")
    submit(as_admin_a, add_url("service"), name="Urbanisme", email="", phone="")
    service = Service.objects.get(name="Urbanisme")
    closure_data = {
        "start": fr_date(date(2026, 5, 1)),
        "end": fr_date(date(2026, 5, 1)),
        "reason": "1er mai",
    }
    submit(as_admin_a, add_url("closure"), **closure_data)
    closure = Closure.objects.get(reason="1er mai")
    as_admin_a.post(delete_url(news), {"post": "yes"})

    assert logged(news, ADDITION)
    assert logged(news, CHANGE)
    assert logged(news, DELETION)
    assert logged(a.commune, CHANGE)
    assert logged(service, ADDITION)
    assert logged(closure, ADDITION)
    assert not Actualite.objects.filter(pk=news.pk).exists()
    change = LogEntry.objects.get(object_id=str(news.pk), action_flag=CHANGE)
    assert "titre" in change.get_change_message().lower()


def test_refused_requests_leave_no_log_entry(as_admin_a, b):
    as_admin_a.post(delete_url(b.news), {"post": "yes"})
    as_admin_a.post(change_url(b.news), {"title": "Piraté", "body": "x"})

    assert not LogEntry.objects.exists()


# --- The operator ------------------------------------------------------------------------------


def test_operator_cannot_attach_a_closure_to_another_communes_service(as_operator, a, b):
    response = submit(
        as_operator,
        add_url("closure"),
        commune=str(a.commune.pk),
        service=str(b.service.pk),
        start=fr_date(date(2026, 7, 14)),
        end=fr_date(date(2026, 7, 14)),
        reason="Fête nationale",
    )

    assert response.status_code == 200
    assert "Ce service appartient à une autre commune." in page(response)
    assert not Closure.objects.filter(reason="Fête nationale").exists()


def test_operator_creates_a_service_with_hours_in_the_chosen_commune(as_operator, b):
    data = form_data(as_operator.get(add_url("service")))
    data.update(commune=str(b.commune.pk), name="Cantine", email="", phone="")
    add_inline_row(data, "opening_ranges", weekday="1", opens="11:30", closes="13:30")

    response = as_operator.post(add_url("service"), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    service = Service.objects.get(name="Cantine")
    assert service.commune == b.commune
    assert service.opening_ranges.get().commune == b.commune


def test_commune_admin_manages_their_own_rows(as_admin_a, a):
    """The refusals above are not an admin that refuses everything."""
    assert submit(as_admin_a, change_url(a.news), title="Nouvelle titre").status_code == 302
    assert submit(as_admin_a, change_url(a.service), name="Enfance").status_code == 302
    assert submit(as_admin_a, change_url(a.closure), reason="Inventaire").status_code == 302
    assert as_admin_a.post(delete_url(a.service_closure), {"post": "yes"}).status_code == 302

    a.news.refresh_from_db()
    a.service.refresh_from_db()
    a.closure.refresh_from_db()
    assert (a.news.title, a.service.name, a.closure.reason) == (
        "Nouvelle titre",
        "Enfance",
        "Inventaire",
    )
    assert not Closure.objects.filter(pk=a.service_closure.pk).exists()


def test_view_on_site_link_never_reveals_another_communes_news(client):
    """Django's /admin/r/ shortcut checks no permission; ours keeps the admin in its commune."""
    from django.contrib.contenttypes.models import ContentType

    admin_a = CommuneAdminFactory()
    own = ActualiteFactory(commune=admin_a.commune)
    hidden = ActualiteFactory(published_at=timezone.now() + timedelta(days=30))
    content_type = ContentType.objects.get_for_model(Actualite)
    client.force_login(admin_a)
    response = client.get(f"/admin/r/{content_type.pk}/{hidden.pk}/")
    assert response.status_code == 404
    assert hidden.slug not in response.get("Location", "")
    assert client.get(f"/admin/r/{content_type.pk}/abc/").status_code == 404
    response = client.get(f"/admin/r/{content_type.pk}/{own.pk}/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{admin_a.commune.slug}/actualites/{own.slug}/")
