"""Definitions of procedures: every rule of `validate_definition` refuses with its French message
(saying where), relative dates resolve at their edges, conditions and required defaults behave as
the wizard expects. Hypothesis builds random sound definitions (all accepted) and breaks them
once (always refused)."""

import copy
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parvis.demarches.definitions import (
    FIELD_TYPES,
    PREFILL_SOURCES,
    DefinitionError,
    all_fields,
    condition_met,
    is_required,
    resolve_date,
    validate_definition,
)

PARIS = ZoneInfo("Europe/Paris")


def field(name="objet", **attrs):
    return {"name": name, "label": attrs.pop("label", "Objet"), "type": "text", **attrs}


def definition(*fields, **top):
    return {"steps": [{"title": "Ma demande", "fields": list(fields)}], **top}


def refused(definition_, message):
    with pytest.raises(DefinitionError) as error:
        validate_definition(definition_)
    assert message in str(error.value), str(error.value)
    return str(error.value)


# --- Each rule, refused with its message --------------------------------------------------------

CHOICE = {"type": "choice", "choices": [["a", "A"], ["b", "B"]]}

REFUSALS = {
    # top level
    "not an object": (["steps"], "La définition doit être un objet JSON."),
    "unknown top attribute": (
        {"steps": definition(field())["steps"], "etapes": []},
        "Attribut inconnu 'etapes'.",
    ),
    "no steps": ({"steps": []}, "« steps » doit lister au moins une étape."),
    "steps missing": ({"documents": []}, "« steps » doit lister au moins une étape."),
    "step without title": (
        {"steps": [{"fields": [field()]}]},
        "Étape 1 : « title » manquant.",
    ),
    "step with unknown attribute": (
        {"steps": [{"title": "A", "fields": [field()], "aide": "…"}]},
        "Étape 1 : attribut inconnu 'aide'.",
    ),
    "step without fields": (
        {"steps": [{"title": "A", "fields": []}]},
        "Étape 1 : « fields » doit lister au moins un champ.",
    ),
    # fields
    "field not an object": (definition("objet"), "Étape 1, champ 1 : un champ doit être un objet."),
    "unknown attribute": (definition(field(couleur="bleu")), "attribut inconnu 'couleur'."),
    "missing name": (
        definition({"label": "Objet", "type": "text"}),
        "« name » manquant ou invalide (minuscules, chiffres, _).",
    ),
    "invalid name": (definition(field(name="Nom complet")), "« name » manquant ou invalide"),
    "name starting with a digit": (definition(field(name="1er")), "« name » manquant ou invalide"),
    "duplicate name": (
        definition(field(), field(label="Encore")),
        "Étape 1, champ 2 : le nom 'objet' est déjà utilisé.",
    ),
    "missing label": (
        definition({"name": "objet", "type": "text"}),
        "(objet) : « label » manquant.",
    ),
    "blank label": (definition(field(label="   ")), "« label » manquant."),
    "unknown type": (definition(field(type="signature")), "type 'signature' inconnu ("),
    "missing type": (definition({"name": "objet", "label": "Objet"}), "type None inconnu"),
    "required not a boolean": (
        definition(field(required="oui")),
        "« required » doit valoir true ou false.",
    ),
    "choices missing": (
        definition(field(type="choice")),
        "« choices » doit lister au moins un choix.",
    ),
    "choices empty": (
        definition(field(type="multiple", choices=[])),
        "« choices » doit lister au moins un choix.",
    ),
    "choice not a pair": (
        definition(field(type="choice", choices=[["a", "A", "?"]])),
        "chaque choix est une paire [valeur, libellé].",
    ),
    "choice not text": (
        definition(field(type="choice", choices=[[1, "Un"]])),
        "chaque choix est une paire [valeur, libellé].",
    ),
    "choices duplicated": (
        definition(field(type="choice", choices=[["a", "A"], ["a", "Encore A"]])),
        "deux choix ont la même valeur.",
    ),
    "choices on a text": (
        definition(field(choices=[["a", "A"]])),
        "« choices » ne s'applique qu'aux types choice et multiple.",
    ),
    "length not an integer": (
        definition(field(max_length="200")),
        "« max_length » doit être un entier.",
    ),
    "min_length over max_length": (
        definition(field(min_length=10, max_length=2)),
        "« min_length » dépasse « max_length ».",
    ),
    "min not an integer": (
        definition(field(type="number", min=0.5)),
        "« min » doit être un entier.",
    ),
    "min over max": (definition(field(type="number", min=5, max=1)), "« min » dépasse « max »."),
    "bad pattern": (
        definition(field(pattern="^[0-9{5}$")),
        "« pattern » n'est pas une expression valide.",
    ),
    "pattern not text": (
        definition(field(pattern=5)),
        "« pattern » n'est pas une expression valide.",
    ),
    "date bound on a text": (
        definition(field(min_date="today")),
        "« min_date » ne s'applique qu'au type date.",
    ),
    "bad date spec": (
        definition(field(type="date", max_date="aujourd'hui")),
        "« max_date » doit être une date AAAA-MM-JJ ou today, today-16y…",
    ),
    "bad relative unit": (
        definition(field(type="date", min_date="today-16m")),
        "« min_date » doit être une date",
    ),
    "impossible date": (
        definition(field(type="date", min_date="2026-02-30")),
        "« min_date » doit être une date",
    ),
    "date spec not text": (
        definition(field(type="date", min_date=2026)),
        "« min_date » doit être une date",
    ),
    "year before the calendar": (
        definition(field(type="date", min_date="today-5000y")),
        "« min_date » doit être une date",
    ),
    "prefill unknown": (definition(field(prefill="user.password")), "« prefill » inconnu ("),
    "member_kind on a text": (
        definition(field(member_kind="enfant")),
        "« member_kind » vaut enfant ou responsable, pour le type member.",
    ),
    "member_kind unknown": (
        definition(field(type="member", member_kind="bebe")),
        "« member_kind » vaut enfant ou responsable, pour le type member.",
    ),
    # show_if
    "show_if not an object": (
        definition(field(), field("suite", show_if="objet")),
        '(suite) : « show_if » vaut {"field": …, "equals": …}.',
    ),
    "show_if with unknown key": (
        definition(field(), field("suite", show_if={"field": "objet", "not": "a"})),
        "« show_if » vaut",
    ),
    "show_if on an unknown field": (
        definition(field(), field("suite", show_if={"field": "inconnu", "equals": "a"})),
        "(suite) : « show_if » vise un champ de cette étape ou d'une précédente.",
    ),
    "show_if on itself": (
        definition(field(show_if={"field": "objet", "equals": "a"})),
        "« show_if » vise un champ de cette étape ou d'une précédente.",
    ),
    "show_if on a later step": (
        {
            "steps": [
                {"title": "A", "fields": [field(show_if={"field": "plus_tard", "equals": "a"})]},
                {"title": "B", "fields": [field("plus_tard", **CHOICE)]},
            ]
        },
        "Étape 1 (objet) : « show_if » vise un champ de cette étape ou d'une précédente.",
    ),
    "show_if with equals and in": (
        definition(
            field(**CHOICE), field("suite", show_if={"field": "objet", "equals": "a", "in": ["b"]})
        ),
        "« show_if » demande « equals » ou « in ».",
    ),
    "show_if with neither": (
        definition(field(**CHOICE), field("suite", show_if={"field": "objet"})),
        "« show_if » demande « equals » ou « in ».",
    ),
    # documents, confirmation
    "documents not a list": (
        definition(field(), documents="Pièce d'identité"),
        "« documents » doit être une liste de textes.",
    ),
    "documents not texts": (
        definition(field(), documents=[{"nom": "Pièce"}]),
        "« documents » doit être une liste de textes.",
    ),
    "confirmation not text": (
        definition(field(), confirmation=["Merci"]),
        "« confirmation » doit être un texte.",
    ),
}


@pytest.mark.parametrize(("broken", "message"), REFUSALS.values(), ids=REFUSALS.keys())
def test_each_rule_is_refused_with_its_french_message(broken, message):
    refused(broken, message)


def test_the_message_says_which_step_and_field():
    broken = {
        "steps": [
            {"title": "Ma demande", "fields": [field()]},
            {"title": "Vos coordonnées", "fields": [field("courriel"), field("tel", type="tél")]},
        ]
    }

    message = refused(broken, "type 'tél' inconnu")

    assert message.startswith("Étape 2, champ 2 (tel) : ")


def test_a_name_is_unique_across_steps():
    broken = {
        "steps": [
            {"title": "A", "fields": [field()]},
            {"title": "B", "fields": [field(label="Encore")]},
        ]
    }

    refused(broken, "Étape 2, champ 1 : le nom 'objet' est déjà utilisé.")


# --- What is accepted ---------------------------------------------------------------------------


def test_the_docstring_example_is_sound():
    sound = {
        "steps": [
            {
                "title": "Ma demande",
                "intro": "Quelques questions.",
                "fields": [
                    {
                        "name": "type_acte",
                        "label": "Type de copie",
                        "type": "choice",
                        "choices": [["integrale", "Copie intégrale"], ["extrait", "Extrait"]],
                    },
                    field("nom", min_length=2, max_length=200, help="Nom de naissance"),
                    field("cp", pattern="^[0-9]{5}$", pattern_message="5 chiffres"),
                    field("nombre", type="number", min=1, max=5),
                    field("naissance", type="date", min_date="1900-01-01", max_date="today"),
                    field("jeune", type="date", min_date="today-26y", max_date="today-16y"),
                    field("rdv", type="date", min_date="today+1d", max_date="today+30d"),
                    field("livraison", type="yesno", required=True),
                    field("enfant", type="member", member_kind="enfant"),
                    field("courriel", type="email", prefill="user.email"),
                    field("adresse", type="address", prefill="user.address"),
                    field(
                        "piece", type="file", show_if={"field": "type_acte", "equals": "integrale"}
                    ),
                ],
            },
            {
                "title": "Suite",
                "fields": [
                    field(
                        "motif", type="textarea", show_if={"field": "type_acte", "in": ["extrait"]}
                    ),
                ],
            },
        ],
        "documents": ["Copie d'une pièce d'identité"],
        "confirmation": "Votre demande sera traitée sous 5 jours ouvrés.",
    }

    assert validate_definition(sound) is sound


def test_show_if_may_point_later_in_the_same_step():
    # « a field of the same or an earlier step »: the order inside a step does not matter.
    sound = definition(field(show_if={"field": "suite", "equals": "a"}), field("suite", **CHOICE))

    assert validate_definition(sound) is sound


def test_every_type_and_prefill_source_is_accepted():
    fields = [field(f"champ_{kind}", type=kind) for kind in sorted(FIELD_TYPES)]
    fields = [
        {**f, "choices": [["a", "A"]]} if f["type"] in {"choice", "multiple"} else f for f in fields
    ]
    sources = sorted(PREFILL_SOURCES)
    fields += [field(f"pre_{i}", prefill=source) for i, source in enumerate(sources)]

    assert validate_definition(definition(*fields))


# --- Relative dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "today", "expected"),
    [
        ("today", date(2026, 5, 4), date(2026, 5, 4)),
        ("2026-01-01", date(2026, 5, 4), date(2026, 1, 1)),
        ("today+30d", date(2026, 12, 15), date(2027, 1, 14)),
        ("today+30d", date(2028, 2, 1), date(2028, 3, 2)),  # through a 29 February
        ("today-1d", date(2026, 3, 1), date(2026, 2, 28)),
        ("today-16y", date(2026, 5, 4), date(2010, 5, 4)),
        ("today-16y", date(2025, 2, 28), date(2009, 2, 28)),
        ("today-16y", date(2024, 3, 1), date(2008, 3, 1)),
        ("today+1y", date(2026, 12, 31), date(2027, 12, 31)),
        # On 29 February, a year without one: the 28th.
        ("today-1y", date(2024, 2, 29), date(2023, 2, 28)),
        ("today-18y", date(2024, 2, 29), date(2006, 2, 28)),
        ("today+1y", date(2024, 2, 29), date(2025, 2, 28)),
    ],
)
def test_resolve_date(spec, today, expected):
    assert resolve_date(spec, today=today) == expected


def test_today_minus_16_years_on_29_february_is_29_february():
    assert resolve_date("today-16y", today=date(2024, 2, 29)) == date(2008, 2, 29)


def test_today_is_the_day_in_paris():
    # 23:30 UTC on 1 March is already 2 March in Paris.
    with time_machine.travel(datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        assert resolve_date("today") == date(2026, 3, 2)
        assert resolve_date("today-16y") == date(2010, 3, 2)


@pytest.mark.parametrize("spec", ["hier", "today-", "today-16", "today*2d", "today+1w", ""])
def test_resolve_date_refuses_what_it_cannot_read(spec):
    with pytest.raises(ValueError):
        resolve_date(spec, today=date(2026, 5, 4))


@given(
    today=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
    years=st.integers(min_value=0, max_value=120),
    days=st.integers(min_value=0, max_value=20000),
)
def test_relative_dates_move_by_what_they_say(today, years, days):
    back = resolve_date(f"today-{years}y", today=today)
    assert back.year == today.year - years and back <= today
    if (today.month, today.day) != (2, 29):
        assert (back.month, back.day) == (today.month, today.day)
    else:
        assert (back.month, back.day) in {(2, 28), (2, 29)}
    assert (resolve_date(f"today+{days}d", today=today) - today).days == days
    assert (today - resolve_date(f"today-{days}d", today=today)).days == days


def test_a_date_beyond_the_calendar_is_a_definition_error():
    refused(definition(field(type="date", max_date="today+99999999d")), "« max_date »")


def test_min_date_after_max_date_is_refused():
    refused(definition(field(type="date", min_date="today", max_date="today-1y")), "min_date")


def test_show_if_in_must_be_a_list():
    condition = {"field": "objet", "in": "ab"}
    refused(definition(field(**CHOICE), field("suite", show_if=condition)), "« in »")


# --- Conditions, required defaults -------------------------------------------------------------


def shown_if(**condition):
    return field("suite", show_if={"field": "livraison", **condition})


@pytest.mark.parametrize(
    ("condition", "answers", "shown"),
    [
        ({"equals": "courrier"}, {"livraison": "courrier"}, True),
        ({"equals": "courrier"}, {"livraison": "mairie"}, False),
        ({"equals": "courrier"}, {}, False),
        ({"equals": "courrier"}, {"livraison": ""}, False),
        ({"equals": "oui"}, {"livraison": "oui"}, True),  # a yesno answer
        ({"equals": "courrier"}, {"livraison": ["courrier", "mairie"]}, True),  # multiple
        ({"equals": "courrier"}, {"livraison": ["mairie"]}, False),
        ({"equals": "courrier"}, {"livraison": []}, False),
        ({"in": ["courrier", "coursier"]}, {"livraison": "coursier"}, True),
        ({"in": ["courrier", "coursier"]}, {"livraison": "mairie"}, False),
        ({"in": ["courrier", "coursier"]}, {}, False),
        ({"in": ["courrier", "coursier"]}, {"livraison": ["mairie", "coursier"]}, True),
        ({"in": ["courrier", "coursier"]}, {"livraison": ["mairie"]}, False),
        ({"in": []}, {"livraison": "courrier"}, False),
    ],
)
def test_condition_met(condition, answers, shown):
    assert condition_met(shown_if(**condition), answers) is shown


def test_a_field_without_condition_is_always_shown():
    assert condition_met(field(), {}) is True


@pytest.mark.parametrize(
    ("kind", "default"),
    [
        ("text", True), ("textarea", True), ("number", True), ("date", True), ("choice", True),
        ("email", True), ("phone", True), ("address", True), ("member", True),
        ("yesno", False), ("multiple", False), ("file", False),
    ],
)  # fmt: skip
def test_is_required_defaults(kind, default):
    assert is_required(field(type=kind)) is default
    assert is_required(field(type=kind, required=True)) is True
    assert is_required(field(type=kind, required=False)) is False


def test_all_fields_in_order_across_steps():
    steps = {
        "steps": [
            {"title": "A", "fields": [field("un"), field("deux")]},
            {"title": "B", "fields": [field("trois")]},
        ]
    }
    assert [f["name"] for f in all_fields(steps)] == ["un", "deux", "trois"]


# --- Hypothesis: random sound definitions, and one breakage each --------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1, max_size=30
).filter(str.strip)
DATE_SPECS = st.one_of(
    st.just("today"),
    st.builds(lambda n: f"today-{n}y", st.integers(0, 120)),
    st.builds(lambda n: f"today+{n}y", st.integers(0, 5)),
    st.builds(lambda n, sign: f"today{sign}{n}d", st.integers(0, 3650), st.sampled_from("+-")),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)).map(date.isoformat),
)
PATTERNS = ["^[0-9]{5}$", "^[A-Z]{2}[0-9]+$", r"^\+?[0-9 ]+$", "^(oui|non)$", ".*"]


@st.composite
def sound_field(draw, name, earlier: list[dict]):
    kind = draw(st.sampled_from(sorted(FIELD_TYPES)))
    spec = {"name": name, "label": draw(texts), "type": kind}
    if draw(st.booleans()):
        spec["required"] = draw(st.booleans())
    if draw(st.booleans()):
        spec["help"] = draw(texts)
    if kind in {"choice", "multiple"}:
        values = draw(st.lists(names, min_size=1, max_size=5, unique=True))
        spec["choices"] = [[value, draw(texts)] for value in values]
    if kind in {"text", "textarea"}:
        low, high = sorted(draw(st.lists(st.integers(0, 500), min_size=2, max_size=2)))
        if draw(st.booleans()):
            spec.update(min_length=low, max_length=high)
        if kind == "text" and draw(st.booleans()):
            spec.update(pattern=draw(st.sampled_from(PATTERNS)), pattern_message=draw(texts))
    if kind == "number" and draw(st.booleans()):
        low, high = sorted(draw(st.lists(st.integers(-1000, 1000), min_size=2, max_size=2)))
        spec.update(min=low, max=high)
    if kind == "date":
        for key in ("min_date", "max_date"):
            if draw(st.booleans()):
                spec[key] = draw(DATE_SPECS)
        if "min_date" in spec and "max_date" in spec:
            bounds = sorted([spec["min_date"], spec["max_date"]], key=resolve_date)
            spec["min_date"], spec["max_date"] = bounds
    if kind == "member" and draw(st.booleans()):
        spec["member_kind"] = draw(st.sampled_from(["enfant", "responsable"]))
    if draw(st.booleans()):
        spec["prefill"] = draw(st.sampled_from(sorted(PREFILL_SOURCES)))
    if earlier and draw(st.booleans()):
        target = draw(st.sampled_from(earlier))
        values = [c[0] for c in target.get("choices", [])] or ["oui", "non"]
        if draw(st.booleans()):
            spec["show_if"] = {"field": target["name"], "equals": draw(st.sampled_from(values))}
        else:
            spec["show_if"] = {
                "field": target["name"],
                "in": draw(st.lists(st.sampled_from(values), min_size=1, unique=True)),
            }
    return spec


@st.composite
def sound_definitions(draw):
    all_names = draw(st.lists(names, min_size=1, max_size=12, unique=True))
    sizes = []
    left = len(all_names)
    while left:
        size = draw(st.integers(1, left))
        sizes.append(size)
        left -= size
    steps, earlier, at = [], [], 0
    for size in sizes:
        fields = []
        for name in all_names[at : at + size]:
            spec = draw(sound_field(name, earlier))
            fields.append(spec)
            earlier.append(spec)
        at += size
        step = {"title": draw(texts), "fields": fields}
        if draw(st.booleans()):
            step["intro"] = draw(texts)
        steps.append(step)
    result = {"steps": steps}
    if draw(st.booleans()):
        result["documents"] = draw(st.lists(texts, max_size=3))
    if draw(st.booleans()):
        result["confirmation"] = draw(st.text(max_size=50))
    return result


@given(sound_definitions())
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
def test_random_sound_definitions_are_accepted(sound):
    assert validate_definition(sound) is sound


def _fields(d):
    return [f for step in d["steps"] for f in step["fields"]]


# Each breaks one field (chosen by index) or the whole definition, whatever the field's type.
BREAKAGES = {
    "unknown type": lambda d, f: f.update(type="signature"),
    "unknown attribute": lambda d, f: f.update(couleur="bleu"),
    "no label": lambda d, f: f.pop("label"),
    "blank label": lambda d, f: f.update(label=" \t"),
    "invalid name": lambda d, f: f.update(name="Nom-" + f["name"]),
    "required as text": lambda d, f: f.update(required="true"),
    "bad pattern": lambda d, f: f.update(pattern="(?P<"),
    "min over max": lambda d, f: f.update(min=2, max=1),
    "length not an integer": lambda d, f: f.update(min_length="2"),
    "bad date": lambda d, f: f.update(min_date="demain"),
    "unknown prefill": lambda d, f: f.update(prefill="user.password"),
    "bad member kind": lambda d, f: f.update(member_kind="bebe"),
    "empty choices": lambda d, f: f.update(choices=[]),
    "show_if unknown": lambda d, f: f.update(show_if={"field": "Inconnu", "equals": "a"}),
    "show_if itself": lambda d, f: f.update(show_if={"field": f["name"], "equals": "a"}),
    "show_if both": lambda d, f: f.update(
        show_if={"field": d["steps"][0]["fields"][0]["name"], "equals": "a", "in": ["a"]}
    ),
    "duplicate name": lambda d, f: d["steps"][-1]["fields"].append(copy.deepcopy(f)),
    "step title missing": lambda d, f: d["steps"][0].pop("title"),
    "step empty": lambda d, f: d["steps"].append({"title": "Vide", "fields": []}),
    "no steps": lambda d, f: d.update(steps=[]),
    "unknown top attribute": lambda d, f: d.update(version=2),
    "documents as text": lambda d, f: d.update(documents="Pièce d'identité"),
}


@given(sound_definitions(), st.sampled_from(sorted(BREAKAGES)), st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_single_breakage_is_refused(sound, breakage, data):
    broken = copy.deepcopy(sound)
    target = data.draw(st.sampled_from(_fields(broken)))
    BREAKAGES[breakage](broken, target)

    with pytest.raises(DefinitionError) as error:
        validate_definition(broken)
    # In French, saying where: the step and field, or the attribute of the definition.
    assert str(error.value).startswith(("Étape ", "Attribut inconnu", "« steps »", "« documents »"))
