"""The audit log read as French sentences: one formatter for the family file's journal at the
guichet and the admin's list (parvis/backoffice/journal.py)."""

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

import parvis
from parvis.accounts.models import AuditEntry
from parvis.accounts.services import _jsonable, audit
from parvis.backoffice.journal import ACTIONS, FIELD_LABELS, present, present_all
from parvis.backoffice.tests.conftest import text_of
from parvis.communes.tests.factories import CommuneAdminFactory
from parvis.families.tests.factories import ChildFactory

FILE = "/villebois/guichet/familles/1/"

# A year of canteen: « REPAS dd/mm/yyyy » for 190 school days, as reservation.basket writes.
SCHOOL_DAYS = [date(2026, 9, 7) + timedelta(days=i) for i in range(400)]
YEAR = [f"REPAS {day:%d/%m/%Y}" for day in SCHOOL_DAYS if day.weekday() < 5][:189]
YEAR.append("REPAS 02/07/2027")

# What each action writes in `changes`, as the code writes it (target model, changes).
SAMPLES = {
    "garde_partagee.record": (
        "sharedcustody",
        {"rule": [None, "semaines_paires"], "since": [None, "2026-09-01"]},
    ),
    "garde_partagee.end": ("sharedcustody", {"other_famille": ["F000007", None]}),
    "famille.create": ("famille", {"name": [None, "DURAND"], "address": [None, "3, rue"]}),
    "famille.update": ("famille", {"address": ["3, rue", "5, rue"], "payeur": [None, "Marc"]}),
    "personne.create": ("personne", {"kind": [None, "enfant"], "birth_date": [None, "2018-06-02"]}),
    "personne.update": ("personne", {"has_pai": [False, True], "level": ["maternelle", None]}),
    "personne_autorisee.create": ("authorisedperson", {"phone": [None, "06 11 22 33 44"]}),
    "personne_autorisee.update": ("authorisedperson", {"relationship": ["Oncle", "Tante"]}),
    "personne_autorisee.delete": ("authorisedperson", {"last_name": ["GARNIER", None]}),
    "service_key.generate": ("servicekey", {"sent_to": [None, "a@example.fr"]}),
    "service_key.revoke": ("servicekey", {"revoked_at": [None, "2026-12-03 10:15:00+00:00"]}),
    "service_key.redeem": ("servicekey", {}),
    "family_code.issue": (
        "famille",
        {"family_code": [None, "F000001"], "must_choose_password": [None, True]},
    ),
    "family_access.remove": ("user", {"famille": ["DURAND (F000001)", None]}),
    "demande.transition": ("demande", {"status": ["en_attente", "acceptee"]}),
    "procedure.create": ("procedure", {"title": [None, "Permis"], "source": [None, "nouvelle"]}),
    "procedure.update": ("procedure", {"modification": [None, "champ « Nom » ajouté"]}),
    "procedure.publish": ("procedure", {"version": [1, 2]}),
    "procedure.restore": ("procedure", {"version": [2, 3], "restored": [None, 1]}),
    "procedure.state": ("procedure", {"is_enabled": [True, False]}),
    "procedure.share": ("procedure", {"version": [None, 2]}),
    "account.update_coordinates": ("user", {"phone": ["", "06 12 34 56 78"]}),
    "account.create": ("user", {}),
    "account.franceconnect_link": ("user", {"first_name": ["Angela", "Angela Claire Louise"]}),
    "account.confirm_email": ("user", {"email": ["a@example.fr", "b@example.fr"]}),
    "account.request_email_change": ("user", {"pending_email": ["", "b@example.fr"]}),
    "account.set_password": ("user", {}),
    "account.first_login": (
        "user",
        {"must_choose_password": [True, False], "pending_email": ["", "b@example.fr"]},
    ),
    "account.delete": ("user", {}),
    "account.login_alert": ("user", {"failed_attempts": [None, 12]}),
    "quotient.record": ("quotientfamilial", {"value": [None, "1117.02"], "source": [None, "avis"]}),
    "quotient.api_particulier": (
        "quotientfamilial",
        {"resultat": [None, "trouve"], "month": [None, "2026-11"], "statut_http": [None, 404]},
    ),
    "document.create": (
        "document",
        {
            "doc_type": [None, "avis_imposition"],
            "label": [None, "avis.pdf"],
            "personne": [None, None],
            "size": [None, 123456],
        },
    ),
    "document.rename": ("document", {"label": ["scan.pdf", "avis.pdf"]}),
    "document.review": ("document", {"status": ["depose", "valide"], "reason": [None, "Lisible"]}),
    "document.delete": ("document", {"label": ["avis.pdf", None], "status": ["depose", None]}),
    "agenda.reminders": ("bookingpreferences", {"deadline_reminders": [True, False]}),
    "agenda.feed_created": ("bookingpreferences", {"feed_created_at": [None, "2026-12-03T09:00"]}),
    "agenda.feed_revoked": ("bookingpreferences", {"feed_created_at": [None, "2026-12-03T09:00"]}),
    "inscription.request": ("inscription", {"status": [None, "en_attente"], "demande": [None, 42]}),
    "inscription.accept": ("inscription", {"status": ["en_attente", "acceptee"]}),
    "inscription.refuse": (
        "inscription",
        {"status": ["en_attente", "refusee"], "refusal_reason": ["", "Complet"]},
    ),
    "rgpd.export": ("user", {}),
    "rgpd.retention": (
        "retentionrun",
        {
            "counts": [None, "Justificatifs dont la validité a pris fin : 3"],
            "warned": [None, 2],
        },
    ),
    "rgpd.retention_enabled": ("retentionpolicy", {"enabled_at": [None, "2026-12-06T09:00"]}),
    "reservation.basket": (
        "personne",
        {
            "activity": [None, "Restauration scolaire"],
            "added": [None, YEAR],
            "waiting": [None, []],
            "removed": [None, ["REPAS 07/09/2026"]],
        },
    ),
    "reservation.accept": ("reservation", {"status": ["en_attente", "reservee"]}),
    "reservation.refuse": (
        "reservation",
        {"status": ["en_attente", None], "reason": [None, "Non"]},
    ),
    "reservation.offer_accepted": (
        "personne",
        {
            "activity": [None, "Mercredi"],
            "accepted": [None, "MERC 09/12/2026"],
            "status": ["proposee", "reservee"],
        },
    ),
    "reservation.offer_declined": ("personne", {"declined": [None, "MERC 09/12/2026"]}),
    "reservation.offer_expired": ("personne", {"expired": [None, "MERC 09/12/2026"]}),
    "activite.fermeture": (
        "activity",
        {
            "day": [None, "2026-12-07"],
            "reason": [None, "Grève"],
            "removed": [None, 3],
            "families": [None, 2],
        },
    ),
    "activite.places_proposees": ("unit", {"offres": [None, 2], "seats": [None, 12]}),
    "activite.regles": (
        "activity",
        {
            "booking_deadline": [
                "Réservation jusqu'à la veille à 9 h.",
                "Réservation jusqu'au vendredi 9 h de la semaine précédente.",
            ]
        },
    ),
    "presence.pointage": (
        "unit",
        {
            "day": [None, "2026-12-07"],
            "present": [None, 10],
            "absent": [None, 1],
            "changed": [None, 1],
            "child:999999": [None, "absent"],
            "child:999999:booked": [False, True],
            "child:999999:late_pickup": [False, True],
        },
    ),
    "presence.sans_reservation": (
        "unit",
        {"day": [None, "2026-12-07"], "child:999999": ["absent", "present"]},
    ),
    "absence.declare": (
        "absence",
        {
            "child": [None, "Léa DURAND"],
            "first_day": [None, "2026-12-07"],
            "last_day": [None, "2026-12-08"],
            "reason": [None, "maladie"],
            "certificate": [None, None],
            "justified": [None, False],
        },
    ),
    "absence.certificate": (
        "absence",
        {
            "certificate": [None, 17],
            "justified": [False, True],
            "justification": ["", "certificat médical reçu"],
        },
    ),
    "absence.decision": ("absence", {"justified": [False, True], "justification": ["", "Grève"]}),
    "facture.emise": ("invoice", {"total": [None, "73.80"]}),
    "facture.annulee": (
        "invoice",
        {"status": ["a_regler", "annulee"], "reason": [None, "Doublon"]},
    ),
    "facture.relance": ("invoice", {"email": [None, "a@example.fr"], "due": [None, "114.87"]}),
    "factures.imprimees": ("invoice", {"count": [None, 2], "invoices": [None, "12, 13"]}),
    "facturation.lot": (
        "invoicingrun",
        {"invoices": [None, 50], "numbers": [None, "1–50"], "total": [None, "5012.40"]},
    ),
    "travail.lance": ("job", {"status": [None, "queued"], "items": [None, 120]}),
    "travail.repris": ("job", {"status": ["failed", "queued"], "done": [None, 50]}),
    "facturation.lancee": (
        "invoicingrun",
        {"status": [None, "en_cours"], "families_total": [None, 120], "families_done": [None, 0]},
    ),
    "facturation.reprise": (
        "invoicingrun",
        {
            "status": ["en_cours", "en_cours"],
            "families_total": [None, 120],
            "families_done": [None, 40],
            "error": ["Tarif manquant", ""],
        },
    ),
    "facturation.interrompue": ("invoicingrun", {"error": ["", "Tarif manquant"]}),
    "facturation.terminee": (
        "invoicingrun",
        {
            "status": ["en_cours", "terminee"],
            "invoice_count": [0, 50],
            "total": ["0.00", "5012.40"],
        },
    ),
    "facturation.avertissements": ("regie", {"month": [None, "2026-11-01"], "sent": [None, 4]}),
    "facturation.envoi_demande": ("invoicingrun", {"queued": [None, 48]}),
    "facturation.envoyee": (
        "invoicingrun",
        {"emailed": [None, 40], "to_paper": [None, 8], "failed": [None, 0]},
    ),
    "paiement.enregistre": (
        "payment",
        {"amount": [None, "114.87"], "method": [None, "carte"], "invoices": [None, "7916, 7917"]},
    ),
    "paiement.annule": ("payment", {"status": ["valide", "annule"], "reason": [None, "Erreur"]}),
    "paiement_en_ligne.demande": (
        "transaction",
        {"amount": [None, "114.87"], "invoices": [None, "7916"]},
    ),
    "paiement_en_ligne.remplace": (
        "transaction",
        {"status": ["en_attente", "remplacee"], "replaced_by": [None, "PARVIS-2-ABC"]},
    ),
    "trop_percu.constate": (
        "troppercu",
        {
            "amount": [None, Decimal("12.50")],
            "transaction": [None, "PARVIS-2-ABC"],
            "regie": [None, "Régie enfance"],
        },
    ),
    "trop_percu.rembourse": (
        "troppercu",
        {
            "status": ["a_rembourser", "rembourse"],
            "amount": [None, Decimal("12.50")],
            "refund_method": [None, "virement"],
            "refunded_on": [None, date(2026, 12, 3)],
            "refund_reference": [None, "VIR-1"],
        },
    ),
    "mandat.demande": (
        "mandate",
        {"regie": [None, "Régie enfance"], "holder_name": [None, "Françoise DURAND"]},
    ),
    "mandat.signe": (
        "mandate",
        {
            "status": ["en_attente", "actif"],
            "rum": [None, "PVS-ENF-ABCDEFGHJKLM"],
            "iban": [None, "FR14 **** … 2606"],
        },
    ),
    "mandat.papier": (
        "mandate",
        {
            "rum": [None, "ENF-PAPIER-1"],
            "iban": [None, "FR14 **** … 2606"],
            "signed_on": [None, date(2026, 11, 2)],
        },
    ),
    "mandat.revoque": ("mandate", {"status": ["actif", "revoque"], "count": [None, 1]}),
    "mandat.suspendu": ("mandate", {"status": ["actif", "suspendu"]}),
    "mandat.reactive": ("mandate", {"status": ["suspendu", "actif"]}),
    "prelevement.lot_prepare": (
        "debitbatch",
        {
            "collection_date": [None, date(2027, 1, 5)],
            "count": [None, 2],
            "total": [None, Decimal("144.35")],
        },
    ),
    "prelevement.lot_transmis": ("debitbatch", {"status": ["prepare", "envoye"]}),
    "prelevement.lot_annule": ("debitbatch", {"status": ["prepare", "annule"], "count": [None, 2]}),
    "prelevement.lot_regle": ("debitbatch", {"status": ["envoye", "regle"], "count": [None, 2]}),
    "prelevement.rejete": (
        "debit",
        {"reject_code": [None, "AM04"], "amount": [None, "73.80"], "invoices": [None, "7916"]},
    ),
    "echeancier.accorde": (
        "paymentplan",
        {
            "total": [None, Decimal("100.00")],
            "count": [None, 3],
            "invoices": [None, "7916, 7917"],
            "first_day": [None, date(2026, 10, 25)],
            "last_day": [None, date(2026, 12, 25)],
        },
    ),
    "echeancier.solde": ("paymentplan", {"status": ["actif", "solde"]}),
    "echeancier.repris": ("paymentplan", {"status": ["solde", "actif"]}),
    "echeancier.annule": ("paymentplan", {"status": ["actif", "annule"], "reason": [None, "x"]}),
    "echeancier.rompu": ("paymentplan", {"status": ["actif", "rompu"], "reason": [None, "Non"]}),
    "echeance.en_retard": (
        "paymentplan",
        {
            "position": [None, 2],
            "day": [None, date(2026, 11, 25)],
            "due": [None, Decimal("33.33")],
        },
    ),
    "commune.creee": ("commune", {"slug": [None, "villebois"]}),
    "commune.administrateur_cree": ("user", {"username": [None, "admin-villebois"]}),
}

ENGLISH = re.compile(
    r"\b(activity|added|waiting|removed|amount|method|invoices?|status|reason|due|"
    r"count|month|sent|queued|emailed|failed|true|false|None|child|day|label|size)\b"
)


def _written_actions() -> set[str]:
    written = set()
    for path in Path(parvis.__file__).parent.rglob("*.py"):
        if "tests" not in path.parts:
            text = path.read_text()
            written |= set(re.findall(r'action="([a-z_]+\.[a-z_.]+)"', text))
            written |= set(re.findall(r'_ACTION = "([a-z_]+\.[a-z_.]+)"', text))
    # Written as f"reservation.offer_{action}" by activities.services_offres._give_up:
    return written | {"reservation.offer_declined", "reservation.offer_expired"}


def _balanced(text: str, start: int) -> str:
    depth, i = 0, start
    while i < len(text):
        depth += {"(": 1, "{": 1, ")": -1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0 and text[i - 1] in ")}":
            break
    return text[start:i]


def _written_keys() -> set[str]:
    """The keys of every `changes` the code writes literally (audit(...) calls, the
    `changes = {...}` / `changes["..."]` they pass, and the `changes={...}` of the audit rows
    given to activities.reservations.move as `audit=`)."""
    keys = set()
    for path in Path(parvis.__file__).parent.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        text = path.read_text()
        if "audit(" not in text and "audit=" not in text:
            continue
        for found in re.finditer(r"\baudit\(|\bchanges = \{|\bchanges=\{", text):
            block = _balanced(text, found.end() - 1)
            keys |= set(re.findall(r'"([a-z_]+)": \[', block))
        keys |= set(re.findall(r'changes\["([a-z_]+)"\]', text))
    return keys


def _entry(action, target_type, changes, **fields) -> AuditEntry:
    # As `audit` stores them (a list kept as its text, a Decimal as « 114.87 »).
    stored = {key: [_jsonable(old), _jsonable(new)] for key, (old, new) in changes.items()}
    return AuditEntry(action=action, target_type=target_type, changes=stored, **fields)


def test_every_action_the_code_writes_has_a_sample_here():
    written = _written_actions()
    assert len(written) > 40
    assert sorted(written - set(ACTIONS)) == []
    assert sorted(written - set(SAMPLES)) == []


def test_every_key_the_code_writes_has_french_words():
    keys = _written_keys()
    assert {"added", "amount", "status", "invoices", "certificate"} <= keys
    fields = {
        f.name: str(f.verbose_name)
        for model in apps.get_models()
        for f in model._meta.get_fields()
        if hasattr(f, "verbose_name")
    }
    with translation.override("fr"):
        unworded = [
            key
            for key in keys
            if key not in FIELD_LABELS and fields.get(key, key) == key.replace("_", " ")
        ]
    assert unworded == []


@pytest.mark.django_db
@pytest.mark.parametrize("action", sorted(SAMPLES))
def test_each_sample_reads_as_a_french_sentence(action):
    target_type, changes = SAMPLES[action]
    with translation.override("fr"):
        line = present(_entry(action, target_type, changes, actor_label="Agent"))
        sentence = line.sentence
    assert sentence.startswith(str(ACTIONS[action]))
    assert "[" not in sentence and "]" not in sentence, sentence  # no raw list
    assert not re.search(r"\d\.\d", sentence), sentence  # no point decimal
    assert not ENGLISH.search(sentence), sentence
    assert "_" not in sentence, sentence  # no code (« en_attente », « paiement.enregistre »)


@pytest.mark.django_db
def test_values_read_in_french_lists_amounts_dates_and_codes():
    def changes(action):
        with translation.override("fr"):
            line = present(_entry(action, *SAMPLES[action], actor_label="Agent"))
        return [change.text for change in line.changes]

    assert changes("reservation.basket") == [
        "activité : — → Restauration scolaire",
        "190 réservations ajoutées (REPAS ; du 07/09/2026 au 02/07/2027)",
        # The empty waiting list says nothing; a short list is named whole.
        "1 réservation retirée : REPAS 07/09/2026",
    ]
    assert changes("paiement.enregistre") == [
        "montant : — → 114,87 €",
        "mode de paiement : — → Carte bancaire en ligne",
        "factures : — → 7916, 7917",
    ]
    assert changes("document.review") == ["état : Déposé → Validé", "motif : — → Lisible"]
    assert changes("demande.transition") == ["état : En attente d'instruction → Acceptée"]
    assert changes("reservation.offer_accepted")[-1] == "état : Place proposée → Réservée"
    assert (
        changes("quotient.record")[0] == "quotient familial : — → 1 117,02 €"
        or changes("quotient.record")[0] == "quotient familial : — → 1117,02 €"
    )
    assert changes("facturation.avertissements") == [
        "mois : — → novembre 2026",
        "avertissements envoyés : — → 4",
    ]
    assert changes("absence.declare")[1:3] == [
        "premier jour : — → 07/12/2026",
        "dernier jour : — → 08/12/2026",
    ]
    assert changes("absence.certificate")[0] == "certificat médical : — → joint"
    assert changes("facturation.terminee")[2] == "montant total : 0,00 € → 5 012,40 €" or (
        changes("facturation.terminee")[2] == "montant total : 0,00 € → 5012,40 €"
    )
    assert changes("agenda.reminders") == ["rappels avant la date limite : oui → non"]
    # What did not change is not said (« certificat médical : — → — »).
    assert "certificat médical : — → —" not in changes("absence.declare")
    assert changes("absence.declare")[-1] == "justifiée : — → non"


@pytest.mark.django_db
def test_who_acted_when_no_person_did():
    with translation.override("fr"):
        online = present(_entry("paiement.enregistre", *SAMPLES["paiement.enregistre"]))
        run = present(_entry("facturation.lot", *SAMPLES["facturation.lot"]))
        gone = present(_entry("account.create", "user", {}, actor_label="Ancien Compte"))
    assert (online.who, online.automatic) == ("paiement en ligne", True)
    assert online.sentence.endswith("— paiement en ligne")
    assert "par" not in online.sentence.split("—")[-1] and "inconnu" not in online.sentence
    assert (run.who, run.automatic) == ("facturation mensuelle", True)
    # An account deleted since: its name was kept, it is not the machine.
    assert (gone.who, gone.automatic) == ("Ancien Compte", False)
    assert gone.sentence.endswith("— par Ancien Compte")


@pytest.mark.django_db
def test_a_register_names_its_children_in_one_query(famille, django_assert_num_queries):
    lea = ChildFactory(famille=famille, first_names="Léa", last_name="DURAND")
    entries = [
        _entry(
            "presence.pointage",
            "unit",
            {
                "day": [None, "2026-12-07"],
                f"child:{lea.pk}": ["present", "absent"],
                f"child:{lea.pk}:late_pickup": [True, False],
            },
        )
        for _ in range(5)
    ]
    with django_assert_num_queries(1), translation.override("fr"):
        lines = present_all(entries)
    assert [change.text for change in lines[0].changes] == [
        "jour : — → 07/12/2026",
        "Léa DURAND : présent → absent",
        "Léa DURAND, retard le soir : oui → non",
    ]


@pytest.mark.django_db
def test_the_family_file_journal_reads_in_french(agent_client, famille, enfance_agent):
    hugo = ChildFactory(famille=famille, first_names="Hugo", last_name="DURAND")
    audit(
        actor=None, action="paiement.enregistre", commune=famille.commune, target=famille,
        famille_id=famille.pk,
        changes={"amount": [None, Decimal("114.87")], "method": [None, "carte"],
                 "invoices": [None, "7916"]},
    )  # fmt: skip
    audit(
        actor=enfance_agent, action="reservation.basket", commune=famille.commune, target=hugo,
        famille_id=famille.pk,
        changes={"activity": [None, "Restauration scolaire"], "added": [None, YEAR],
                 "waiting": [None, []], "removed": [None, []]},
    )  # fmt: skip

    text = text_of(agent_client.get(FILE))

    assert "Réservations modifiées — Hugo DURAND — par " in text
    assert "190 réservations ajoutées (REPAS ; du 07/09/2026 au 02/07/2027)" in text
    assert "Paiement enregistré — DURAND" in text
    assert "— paiement en ligne" in text
    assert "montant : — → 114,87 €" in text
    assert "mode de paiement : — → Carte bancaire en ligne" in text
    journal = text[text.index("Journal des modifications") :]
    assert "(inconnu)" not in journal and "114.87" not in journal and "['" not in journal
    assert "added" not in journal and "carte " not in journal


@pytest.mark.django_db
def test_the_admin_audit_log_reads_in_french(client, django_assert_max_num_queries):
    admin = CommuneAdminFactory()
    client.force_login(admin)
    for n in range(3):
        audit(
            actor=None, action="paiement.enregistre", commune=admin.commune,
            changes={"amount": [None, Decimal("114.87")], "method": [None, "carte"],
                     "invoices": [None, str(7916 + n)]},
        )  # fmt: skip
    audit(actor=admin, action="famille.create", commune=admin.commune)
    url = reverse("admin:accounts_auditentry_changelist")

    with django_assert_max_num_queries(20):
        page = text_of(client.get(url))
    for _n in range(20):
        audit(actor=admin, action="document.review", commune=admin.commune,
              changes={"status": ["depose", "valide"]})  # fmt: skip
    with django_assert_max_num_queries(20):
        more = text_of(client.get(url))

    for header in ("Date", "Auteur", "Action", "Objet", "Détail"):
        assert header in page
    assert "Paiement enregistré" in page and "Création du dossier" in page
    assert "paiement en ligne" in page
    assert "montant : — → 114,87 € ; mode de paiement : — → Carte bancaire en ligne" in page
    assert "paiement.enregistre" not in page and "114.87" not in page
    assert "état : Déposé → Validé" in more and "depose" not in more
    # One entry, read-only, in the same words.
    entry = AuditEntry.objects.filter(action="paiement.enregistre").first()
    detail = text_of(client.get(reverse("admin:accounts_auditentry_change", args=[entry.pk])))
    assert "Paiement enregistré" in detail and "montant : — → 114,87 €" in detail


@pytest.mark.django_db
def test_the_admin_action_filter_reads_one_row_per_action(client):
    """The filter's choices come from a DISTINCT over the actions alone: the log's ordering
    (« -at », « -id ») in that query made it read back every entry of the commune."""
    admin = CommuneAdminFactory()
    client.force_login(admin)
    for _n in range(30):
        audit(actor=admin, action="famille.create", commune=admin.commune)
    audit(actor=None, action="paiement.enregistre", commune=admin.commune)

    with CaptureQueriesContext(connection) as captured:
        page = text_of(client.get(reverse("admin:accounts_auditentry_changelist")))
    distinct = [
        q["sql"]
        for q in captured.captured_queries
        if 'DISTINCT "accounts_auditentry"."action"' in q["sql"]
    ]
    assert len(distinct) == 1
    with connection.cursor() as cursor:
        cursor.execute(distinct[0])
        rows = cursor.fetchall()
    assert sorted(row[0] for row in rows) == ["famille.create", "paiement.enregistre"]
    assert "Création du dossier" in page and "Paiement enregistré" in page
