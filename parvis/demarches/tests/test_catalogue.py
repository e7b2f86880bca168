"""The shipped procedures: every file is sound, the issue's procedures are all there with the
seed's words, and loading them into a commune is idempotent and stays within the commune."""

import json
import re
from datetime import date

import pytest
from django.forms.models import model_to_dict

from parvis.communes.tests.factories import CommuneFactory, ServiceFactory
from parvis.demarches import catalogue, demo
from parvis.demarches.catalogue import (
    CATALOGUE_DIR,
    catalogue_entries,
    check_entry,
    load_catalogue,
    service_for,
)
from parvis.demarches.definitions import (
    DefinitionError,
    all_fields,
    is_required,
    resolve_date,
    validate_definition,
)
from parvis.demarches.models import Audience, Effect, Procedure
from parvis.portal.management.commands import load_demo

FILES = sorted(CATALOGUE_DIR.glob("*.json"))
ENTRIES = {entry["slug"]: entry for entry in catalogue_entries()}

# slug → (title, category, audience): the issue's list, with the seed's words.
EXPECTED = {
    "dossier-administratif": ("Dossier administratif", "Mon compte", "family"),
    "inscription-activite": ("Inscription à une activité", "Mon compte", "family"),
    "acte-de-naissance": ("Demande d'acte de naissance", "Actes d'état civil", "anyone"),
    "acte-de-mariage": ("Demande d'acte de mariage", "Actes d'état civil", "anyone"),
    "acte-de-deces": ("Demande d'acte de décès", "Actes d'état civil", "anyone"),
    "inscription-listes-electorales": (
        "Inscription sur les listes électorales",
        "Listes électorales",
        "anyone",
    ),
    "recensement-citoyen": ("Recensement citoyen", "Recensement citoyen", "anyone"),
    "livret-de-famille": ("Livret de famille", "Livret de famille", "anyone"),
    "autorisation-parentale": ("Autorisation parentale", "Autorisation parentale", "anyone"),
    "attestation-changement-de-domicile": (
        "Attestation de changement de domicile",
        "Attestation de changement de domicile / d'hébergement",
        "anyone",
    ),
    "attestation-hebergement": (
        "Attestation d'hébergement",
        "Attestation de changement de domicile / d'hébergement",
        "anyone",
    ),
    "certificat-vie-maritale": (
        "Certificat de vie maritale",
        "Certificat de vie maritale",
        "anyone",
    ),
    # A crèche place is followed for months (commission, confirmation): an account, whose
    # dashboard shows the request; no key, since the baby may not be born yet.
    "pre-inscription-creche": ("Pré-inscription en crèche", "Petite Enfance", "account"),
    # Many seniors have no account; a relative fills it in and follows it by tracking code.
    "repas-des-seniors": ("Inscription au repas des seniors", "Seniors", "anyone"),
    "changement-de-coordonnees": (
        "Signalement d'un changement de coordonnées",
        "Mon compte",
        "account",
    ),
    "adhesion-facture-en-ligne": ("Adhésion à la facture en ligne", "Mon compte", "family"),
    # Linked from the e-mail that warns of a penalty before the monthly invoice (issue 7).
    "contestation-facturation": ("Contester une pénalité", "Mon compte", "family"),
}
SEED_QUESTION = "souhaitez-vous adhérer à la facture/compte en ligne ?"
ACTES = ["acte-de-naissance", "acte-de-mariage", "acte-de-deces"]


def fields_of(slug) -> dict[str, dict]:
    return {f["name"]: f for f in all_fields(ENTRIES[slug]["definition"])}


# --- Every file ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_file_validates(path):
    entry = json.loads(path.read_text(encoding="utf-8"))

    assert check_entry(entry, name=path.stem) is entry
    assert validate_definition(entry["definition"]) is entry["definition"]


def test_the_issues_procedures_are_all_shipped_with_the_seeds_words():
    shipped = {slug: (e["title"], e["category"], e["audience"]) for slug, e in ENTRIES.items()}

    assert shipped == EXPECTED


def test_the_seeds_categories_are_all_present():
    categories = {e["category"] for e in ENTRIES.values()}
    # Seed 000's « LES DÉMARCHES » tiles, the certificate the seed lists, the account's own.
    assert categories == {
        "Actes d'état civil",
        "Listes électorales",
        "Recensement citoyen",
        "Autorisation parentale",
        "Livret de famille",
        "Attestation de changement de domicile / d'hébergement",
        "Certificat de vie maritale",
        "Petite Enfance",
        "Seniors",
        "Mon compte",
    }


def test_entries_are_sorted_by_category_then_position():
    keys = [(e["category"], e["position"], e["slug"]) for e in catalogue_entries()]
    assert keys == sorted(keys)
    acts = [e["slug"] for e in catalogue_entries() if e["category"] == "Actes d'état civil"]
    assert acts == ACTES


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_fields_are_coherent_beyond_what_the_validator_checks(slug):
    """show_if names a value its target can take; date bounds resolve and are in order; each
    pattern compiles as a full match of its example."""
    fields = fields_of(slug)
    for field in fields.values():
        condition = field.get("show_if")
        if condition:
            target = fields[condition["field"]]
            values = (
                {c[0] for c in target["choices"]}
                if "choices" in target
                else ({"oui", "non"} if target["type"] == "yesno" else None)
            )
            assert values is not None, f"{field['name']}: show_if on a free answer"
            wanted = condition["in"] if "in" in condition else [condition["equals"]]
            assert set(wanted) <= values, f"{field['name']}: {wanted} not among {values}"
        if field["type"] == "date":
            low = resolve_date(field.get("min_date", "1900-01-01"))
            high = resolve_date(field.get("max_date", "2100-01-01"))
            assert low < high, field["name"]
        if field["type"] in {"text", "textarea"}:
            assert field.get("max_length"), f"{field['name']}: no max_length"


@pytest.mark.parametrize("slug", [s for s, e in EXPECTED.items() if e[2] == "anyone"])
def test_procedures_without_account_ask_for_an_email_to_follow_them(slug):
    email = fields_of(slug)["demandeur_email"]

    assert email["type"] == "email"
    assert is_required(email) and "show_if" not in email
    assert email["prefill"] == "user.email"


def test_account_procedures_are_marked_for_accounts():
    for slug, entry in ENTRIES.items():
        assert Procedure(audience=entry["audience"]).without_account == (
            EXPECTED[slug][2] == Audience.ANYONE
        )


# --- The civil-status acts ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", ACTES)
def test_acts_ask_what_service_public_asks(slug):
    fields = fields_of(slug)
    kinds = dict(fields["type_acte"]["choices"])
    link = dict(fields["lien_demandeur"]["choices"])

    assert "integrale" in kinds and "extrait_plurilingue" in kinds
    assert fields["nombre_exemplaires"]["type"] == "number"
    assert (fields["nombre_exemplaires"]["min"], fields["nombre_exemplaires"]["max"]) == (1, 5)
    assert link["autre"].startswith("Autre")
    assert fields["lien_justification"]["show_if"] == {"field": "lien_demandeur", "equals": "autre"}
    assert dict(fields["livraison"]["choices"]).keys() == {"courrier", "retrait"}
    assert fields["adresse_envoi"]["type"] == "address"
    assert fields["adresse_envoi"]["show_if"] == {"field": "livraison", "equals": "courrier"}
    dates = [f for f in fields.values() if f["type"] == "date"]
    assert dates and all(f["max_date"] == "today" for f in dates)
    postal = next(f for name, f in fields.items() if name.startswith("code_postal"))
    assert re.fullmatch(postal["pattern"], "78955")
    assert not re.fullmatch(postal["pattern"], "7895")
    assert not re.fullmatch(postal["pattern"], "78955a")


@pytest.mark.parametrize("slug", ["acte-de-naissance", "acte-de-mariage"])
def test_birth_and_marriage_acts_offer_the_four_kinds_and_ask_the_parents(slug):
    fields = fields_of(slug)

    assert dict(fields["type_acte"]["choices"]) == {
        "integrale": "Copie intégrale",
        "extrait_filiation": "Extrait avec filiation",
        "extrait_sans_filiation": "Extrait sans filiation",
        "extrait_plurilingue": "Extrait plurilingue (pour une démarche à l'étranger)",
    }
    assert list(dict(fields["lien_demandeur"]["choices"]).values()) == [
        "La personne elle-même",
        "Son père ou sa mère",
        "Son enfant",
        "Son conjoint ou sa conjointe",
        "Autre",
    ]
    # Parents are asked where the act shows them, not for an extract without filiation.
    assert "extrait_sans_filiation" not in fields["parent1"]["show_if"]["in"]
    assert is_required(fields["parent1"]) and not is_required(fields["parent2"])
    proof = fields["justificatif"]
    assert proof["type"] == "file" and not is_required(proof)
    assert "personne" not in proof["show_if"]["in"]


def test_a_death_act_is_a_full_copy_or_a_plurilingual_extract():
    # French law delivers death acts as full copies only (plus the plurilingual extract).
    fields = fields_of("acte-de-deces")

    assert dict(fields["type_acte"]["choices"]).keys() == {"integrale", "extrait_plurilingue"}
    assert "personne" not in dict(fields["lien_demandeur"]["choices"])


# --- Other procedures without account ----------------------------------------------------------


def test_electoral_roll_asks_age_nationality_address_and_proofs():
    fields = fields_of("inscription-listes-electorales")

    birth = fields["date_naissance"]
    assert birth["max_date"] == "today-18y" and "18 ans" in birth["help"]
    assert dict(fields["nationalite"]["choices"]).keys() == {"francaise", "ue"}
    assert fields["listes_complementaires"]["show_if"] == {"field": "nationalite", "equals": "ue"}
    assert fields["adresse"]["type"] == "address"
    for proof in ("piece_identite", "justificatif_domicile"):
        assert fields[proof]["type"] == "file" and is_required(fields[proof])
    department = fields["departement_naissance"]["pattern"]
    for good in ("01", "78", "2A", "971", "99"):
        assert re.fullmatch(department, good), good
    for bad in ("00", "96", "2C", "977", "7"):
        assert not re.fullmatch(department, bad), bad


def test_census_is_at_sixteen():
    birth = fields_of("recensement-citoyen")["date_naissance"]

    assert (birth["min_date"], birth["max_date"]) == ("today-26y", "today-16y")
    assert "dans les 3 mois qui suivent son 16e anniversaire" in birth["help"]
    assert resolve_date(birth["max_date"], today=date(2026, 5, 4)) == date(2010, 5, 4)


def test_family_book_is_a_duplicate_or_an_update_with_the_spouses_names():
    fields = fields_of("livret-de-famille")

    assert dict(fields["objet"]["choices"]).keys() == {"duplicata", "mise_a_jour"}
    assert fields["motif_duplicata"]["show_if"] == {"field": "objet", "equals": "duplicata"}
    assert fields["evenement"]["show_if"] == {"field": "objet", "equals": "mise_a_jour"}
    assert {"titulaire1_nom", "titulaire1_prenoms", "titulaire2_nom"} <= fields.keys()


def test_parental_authorisation_names_child_event_dates_and_parent():
    fields = fields_of("autorisation-parentale")

    assert fields["enfant_date_naissance"]["min_date"] == "today-18y"
    assert {"evenement", "date_debut", "date_fin", "demandeur_nom", "qualite"} <= fields.keys()
    assert is_required(fields["engagement"])  # the parent's statement must be ticked


# --- Account procedures ------------------------------------------------------------------------


def test_change_of_coordinates():
    entry = ENTRIES["changement-de-coordonnees"]
    fields = fields_of("changement-de-coordonnees")

    assert (entry["effect"], entry["service_kind"], entry["auto_accept"]) == (
        Effect.COORDINATES,
        "enfance",
        False,  # an agent validates it (PRODUCT.md, 6)
    )
    assert (fields["adresse"]["type"], fields["adresse"]["prefill"]) == ("address", "user.address")
    assert (fields["telephone"]["type"], fields["telephone"]["prefill"]) == ("phone", "user.phone")
    whole = fields["tout_le_foyer"]
    assert whole["type"] == "yesno" and whole["label"] == "L'adresse change pour tout le foyer"


def test_paperless_invoice_has_exactly_the_seeds_question_and_one_step():
    entry = ENTRIES["adhesion-facture-en-ligne"]
    steps = entry["definition"]["steps"]

    assert (entry["duration_minutes"], entry["effect"], entry["service_kind"]) == (
        2,
        Effect.PAPERLESS_INVOICE,
        "regie",
    )
    # One step of questions; the wizard's summary is « ALLER À L'ÉTAPE 2 ».
    assert len(steps) == 1 and steps[0]["title"] == "Ma demande"
    assert steps[0]["fields"] == [
        {"name": "adhesion", "label": SEED_QUESTION, "type": "yesno", "required": True}
    ]


# --- check_entry -------------------------------------------------------------------------------


def valid_entry():
    return json.loads(json.dumps(ENTRIES["livret-de-famille"]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("category"), "attribut manquant 'category'"),
        (lambda e: e.update(couleur="bleu"), "attribut inconnu 'couleur'"),
        (lambda e: e.update(audience="tous"), "« audience » vaut"),
        (lambda e: e.update(service_kind="ccas"), "« service_kind » vaut"),
        (lambda e: e.update(effect="payer"), "« effect » vaut"),
        (lambda e: e.update(duration_minutes=True), "« duration_minutes » n'a pas le bon type"),
        (lambda e: e.update(auto_accept="oui"), "« auto_accept » n'a pas le bon type"),
        (lambda e: e.update(title="  "), "« title » est vide"),
        (lambda e: e.update(slug="autre-nom"), "« slug » doit être le nom du fichier"),
        (lambda e: e["definition"].update(steps=[]), "« steps » doit lister au moins une étape"),
    ],
)
def test_a_broken_entry_is_refused_naming_its_file(change, message):
    entry = valid_entry()
    change(entry)

    with pytest.raises(DefinitionError, match=re.escape(message)) as refused:
        check_entry(entry, name="livret-de-famille")
    assert str(refused.value).startswith("livret-de-famille : ")


def test_a_broken_file_stops_the_catalogue(tmp_path, monkeypatch):
    (tmp_path / "casse.json").write_text('{"slug": "casse",}', encoding="utf-8")
    monkeypatch.setattr(catalogue, "CATALOGUE_DIR", tmp_path)

    with pytest.raises(DefinitionError, match=re.escape("casse.json : JSON invalide")):
        catalogue_entries()


# --- Loading into a commune --------------------------------------------------------------------


def rows(commune):
    return sorted(
        (p.pk, sorted(model_to_dict(p).items(), key=str))
        for p in Procedure.objects.filter(commune=commune)
    )


@pytest.fixture
def commune(db):
    commune = CommuneFactory()
    for position, (name, kind) in enumerate(
        [("Affaires scolaires", "scolaire"), ("Enfance", "enfance"), ("État civil", "etat_civil")]
    ):
        ServiceFactory(commune=commune, name=name, kind=kind, position=position)
    return commune


def test_load_catalogue_creates_every_procedure_with_its_service(commune):
    procedures = load_catalogue(commune)

    assert [p.slug for p in procedures] == [e["slug"] for e in catalogue_entries()]
    by_slug = {p.slug: p for p in procedures}
    for slug, entry in ENTRIES.items():
        procedure = by_slug[slug]
        assert procedure.commune == commune and procedure.service.commune == commune
        assert procedure.definition == entry["definition"]
        assert (procedure.title, procedure.audience, procedure.effect) == (
            entry["title"],
            entry["audience"],
            entry["effect"],
        )
        assert procedure.is_enabled
    assert by_slug["acte-de-naissance"].service.name == "État civil"
    assert by_slug["changement-de-coordonnees"].service.name == "Enfance"
    # No régie, no « autre » service: the commune's first service, to reassign in the admin.
    assert by_slug["adhesion-facture-en-ligne"].service.name == "Affaires scolaires"
    assert by_slug["repas-des-seniors"].service.name == "Affaires scolaires"


def test_load_catalogue_is_idempotent(commune):
    load_catalogue(commune)
    first = rows(commune)

    again = load_catalogue(commune)

    assert rows(commune) == first
    assert len(again) == len(ENTRIES) == Procedure.objects.filter(commune=commune).count()


def test_reloading_keeps_a_switched_off_procedure_off_and_restores_the_shipped_definition(
    commune,
):
    load_catalogue(commune)
    Procedure.objects.filter(commune=commune, slug="repas-des-seniors").update(
        is_enabled=False, definition={"steps": []}
    )

    load_catalogue(commune)

    seniors = Procedure.objects.get(commune=commune, slug="repas-des-seniors")
    assert not seniors.is_enabled
    assert seniors.definition == ENTRIES["repas-des-seniors"]["definition"]


def test_load_catalogue_stays_within_its_commune(commune):
    other = CommuneFactory()
    other_service = ServiceFactory(commune=other, name="État civil", kind="etat_civil")
    load_catalogue(other)
    before = rows(other)

    load_catalogue(commune)

    assert rows(other) == before
    assert set(Procedure.objects.filter(commune=other).values_list("service", flat=True)) == {
        other_service.pk
    }
    assert not Procedure.objects.filter(commune=commune, service__commune=other).exists()
    assert Procedure.objects.filter(commune=commune).count() == len(ENTRIES)


def test_service_for_takes_the_first_of_its_kind_by_position(db):
    commune = CommuneFactory()
    ServiceFactory(commune=commune, name="Z État civil annexe", kind="etat_civil", position=5)
    first = ServiceFactory(commune=commune, name="A Accueil", kind="autre", position=0)
    early = ServiceFactory(commune=commune, name="Y État civil", kind="etat_civil", position=1)

    assert service_for(commune, "etat_civil") == early
    assert service_for(commune, "regie") == first


def test_a_commune_without_service_cannot_load_the_catalogue(db):
    commune = CommuneFactory()

    with pytest.raises(ValueError, match="aucun service"):
        load_catalogue(commune)
    assert not Procedure.objects.filter(commune=commune).exists()


# --- The demo communes -------------------------------------------------------------------------


def test_both_demo_communes_get_every_procedure(demo_communes):
    loaded = demo.load()

    assert set(loaded) == {"carrieres-sous-poissy", "carrieres-sur-seine"}
    for slug, commune in demo_communes.items():
        procedures = {p.slug: p for p in Procedure.objects.filter(commune=commune)}
        assert procedures.keys() == EXPECTED.keys(), slug
        assert all(p.service.commune_id == commune.pk for p in procedures.values())
    csp = {
        p.slug: p.service.name
        for p in Procedure.objects.filter(commune=demo_communes["carrieres-sous-poissy"])
    }
    assert csp["acte-de-naissance"] == "État-civil"
    assert csp["adhesion-facture-en-ligne"] == "Régie centrale"
    assert csp["changement-de-coordonnees"] == "Accueils périscolaires et de loisirs"
    css = {
        p.slug: p.service.name
        for p in Procedure.objects.filter(commune=demo_communes["carrieres-sur-seine"])
    }
    assert css["acte-de-deces"] == "État civil"
    assert css["adhesion-facture-en-ligne"] == "Régie"


def test_demo_loads_twice_to_the_same_rows(demo_communes):
    demo.load()
    first = [rows(c) for c in demo_communes.values()]

    demo.load()

    assert [rows(c) for c in demo_communes.values()] == first


def test_load_demo_runs_the_procedures_after_the_families():
    loaders = load_demo.LOADERS
    names = [f"{loader.__module__}.{loader.__name__}" for loader in loaders]

    assert names.index("parvis.demarches.demo.load") > names.index("parvis.families.demo.load")
