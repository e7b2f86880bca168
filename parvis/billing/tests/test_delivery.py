"""Delivery: a paperless invoice is e-mailed with its PDF (« facture-N.pdf ») and the link to
« Mon compte », once; a family without any e-mail falls back to paper; paper invoices are marked
printed once; the receipt of every payment is e-mailed with its PDF once the payment has
committed, and a mail failure never undoes a payment."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core import mail

from parvis.accounts.models import AuditEntry
from parvis.billing import delivery, services_delivery
from parvis.billing.models import Delivery, Invoice, InvoicingRun, PaymentMethod
from parvis.billing.services import cancel_invoice, record_payment
from parvis.billing.tests.test_pdf_support import make_invoice, make_world, pay, pdf_text
from parvis.families.models import FamilyAccess
from parvis.families.tests.factories import (
    AgentFactory,
    FamilleFactory,
    FamilyAccessFactory,
    PersonneFactory,
)
from parvis.payments.models import Transaction

pytestmark = pytest.mark.django_db

MON_COMPTE = "http://testserver/villebois/mon-espace/factures/"


@pytest.fixture
def world():
    return make_world()


def attachment(message):
    assert len(message.attachments) == 1
    name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF-")
    return name, pdf_text(content)


# --- One invoice --------------------------------------------------------------------------------


def test_an_invoice_is_emailed_with_its_pdf_and_the_link_to_mon_compte(world):
    invoice = make_invoice(world)
    assert delivery.send_invoice(invoice_id=invoice.pk) is True
    [message] = mail.outbox
    assert message.to == ["francoise@example.fr"]
    assert message.subject == f"Villebois — Votre facture n° {invoice.number}"
    assert "Reste à régler : 151,65 €, avant le 28/03/2026." in message.body
    assert MON_COMPTE in message.body
    name, text = attachment(message)
    assert name == f"facture-{invoice.number}.pdf"
    assert f"Facture n° {invoice.number}" in text
    assert "Reste à régler : 151,65 €" in text
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None


def test_every_responsable_with_an_email_gets_it_else_the_linked_accounts(world):
    PersonneFactory(famille=world.famille, first_names="Paul", email="paul@example.fr")
    PersonneFactory(famille=world.famille, first_names="Sans", email="")
    invoice = make_invoice(world)
    delivery.send_invoice(invoice_id=invoice.pk)
    assert sorted(mail.outbox[0].to) == ["francoise@example.fr", "paul@example.fr"]
    world.famille.members.filter(kind="responsable").update(email="")
    delivery.send_invoice(invoice_id=invoice.pk)
    assert mail.outbox[1].to == ["compte@example.fr"]


def test_no_email_anywhere_or_a_cancelled_invoice_sends_nothing(world):
    world.responsable.email = ""
    world.responsable.save()
    FamilyAccess.objects.filter(famille=world.famille).delete()
    invoice = make_invoice(world)
    assert delivery.send_invoice(invoice_id=invoice.pk) is False
    assert delivery.send_invoice(invoice_id=999999) is False
    invoice.refresh_from_db()
    assert invoice.emailed_at is None
    cancelled = make_invoice(make_world(name="Autreville", slug="autreville"))
    cancel_invoice(invoice=cancelled, actor=AgentFactory(), reason="Erreur")
    assert delivery.send_invoice(invoice_id=cancelled.pk) is False
    assert mail.outbox == []


# --- A run --------------------------------------------------------------------------------------


def run_with_families(world):
    """A run of March with: DURAND paperless (e-mail), LEROY paperless without any e-mail,
    MARTIN on paper, PETIT paperless already e-mailed, and an invoice of another run."""
    run = InvoicingRun.objects.create(
        commune=world.commune, regie=world.regie, month=date(2026, 3, 1)
    )
    invoices = {}
    for name, paperless, email in [
        ("DURAND", True, "francoise@example.fr"),
        ("LEROY", True, ""),
        ("MARTIN", False, "martin@example.fr"),
        ("PETIT", True, "petit@example.fr"),
    ]:
        famille = (
            world.famille if name == "DURAND" else FamilleFactory(commune=world.commune, name=name)
        )
        famille.paperless_invoice = paperless
        famille.save()
        if name != "DURAND":
            PersonneFactory(famille=famille, email=email)
        world_famille, world.famille = world.famille, famille
        invoice = make_invoice(world)
        world.famille = world_famille
        Invoice.objects.filter(pk=invoice.pk).update(run=run)
        invoices[name] = invoice
    Invoice.objects.filter(pk=invoices["PETIT"].pk).update(emailed_at="2026-04-01T08:00Z")
    return run, invoices


def test_a_run_emails_its_paperless_invoices_once_and_the_others_go_to_print(
    world, django_capture_on_commit_callbacks
):
    run, invoices = run_with_families(world)
    agent = AgentFactory(commune=world.commune)
    with django_capture_on_commit_callbacks(execute=True):
        # DURAND and LEROY are paperless and not sent; PETIT was sent, MARTIN is on paper.
        assert services_delivery.deliver_run(run=run, actor=agent) == {"queued": 2}
        assert mail.outbox == []  # nothing leaves before the commit
    assert [m.to for m in mail.outbox] == [["francoise@example.fr"]]
    leroy = Invoice.objects.get(pk=invoices["LEROY"].pk)
    assert leroy.delivery == Delivery.PAPIER
    assert leroy.emailed_at is None
    asked = AuditEntry.objects.get(action="facturation.envoi_demande")
    assert (asked.actor, asked.changes["queued"]) == (agent, [None, 2])
    sent = AuditEntry.objects.get(action="facturation.envoyee")
    assert sent.actor is None and sent.target_id == str(run.pk)
    assert (sent.changes["emailed"], sent.changes["to_paper"], sent.changes["failed"]) == (
        [None, 1], [None, 1], [None, 0],
    )  # fmt: skip
    # Again: nothing is queued, nothing is sent twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert services_delivery.deliver_run(run=run, actor=agent) == {"queued": 0}
    assert len(mail.outbox) == 1


def test_a_run_is_queued_in_batches_for_the_workers(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    """With a real backend, asking sends nothing in the request: one task per SEND_BATCH
    invoices, with their ids (JSON), queued at the commit."""
    from django_tasks import default_task_backend

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    run, invoices = run_with_families(world)
    monkeypatch.setattr(services_delivery, "SEND_BATCH", 1)
    with django_capture_on_commit_callbacks(execute=True):
        services_delivery.deliver_run(run=run, actor=None)
        assert default_task_backend.results == []  # a rollback would leave no task behind
    queued = default_task_backend.results
    assert [r.kwargs for r in queued] == [
        {"invoice_ids": [invoices["DURAND"].pk], "commune_id": run.commune_id},
        {"invoice_ids": [invoices["LEROY"].pk], "commune_id": run.commune_id},
    ]
    assert {r.task.module_path for r in queued} == {"parvis.billing.tasks.send_invoices"}
    assert mail.outbox == []
    assert Invoice.objects.filter(run=run, emailed_at__isnull=False).count() == 1  # PETIT only


def test_two_tasks_given_the_same_invoice_send_it_once(world, monkeypatch):
    """Another worker sends the invoice while this one renders its PDF; this one then leaves it
    alone (on PostgreSQL a row being sent is also skipped: SKIP LOCKED)."""
    invoice = make_invoice(world)
    Invoice.objects.filter(pk=invoice.pk).update(delivery=Delivery.COURRIEL)
    real_message = delivery._invoice_message

    def rendered_while_another_worker_sends(invoice, recipients, **kwargs):
        message = real_message(invoice, recipients, **kwargs)
        Invoice.objects.filter(pk=invoice.pk).update(emailed_at="2026-04-01T08:00Z")
        return message

    monkeypatch.setattr(delivery, "_invoice_message", rendered_while_another_worker_sends)
    assert delivery.send_invoices(invoice_ids=[invoice.pk]) == {
        "emailed": 0, "to_paper": 0, "failed": 0,
    }  # fmt: skip
    assert mail.outbox == []
    monkeypatch.setattr(delivery, "_invoice_message", real_message)
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=None)
    assert delivery.send_invoices(invoice_ids=[invoice.pk, invoice.pk])["emailed"] == 1
    assert delivery.send_invoices(invoice_ids=[invoice.pk])["emailed"] == 0
    assert len(mail.outbox) == 1


def test_a_mail_failure_keeps_the_invoice_to_send_next_time(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    run, invoices = run_with_families(world)
    real_send = delivery.EmailMessage.send

    def failing(self, *args, **kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(delivery.EmailMessage, "send", failing)
    ids = [invoices["DURAND"].pk, invoices["LEROY"].pk]
    assert delivery.send_invoices(invoice_ids=ids) == {"emailed": 0, "to_paper": 1, "failed": 1}
    durand = Invoice.objects.get(pk=invoices["DURAND"].pk)
    assert (durand.delivery, durand.emailed_at) == (Delivery.COURRIEL, None)
    assert AuditEntry.objects.get(action="facturation.envoyee").changes["failed"] == [None, 1]
    monkeypatch.setattr(delivery.EmailMessage, "send", real_send)
    with django_capture_on_commit_callbacks(execute=True):
        assert services_delivery.deliver_run(run=run, actor=None) == {"queued": 1}
    assert [m.to for m in mail.outbox] == [["francoise@example.fr"]]


class WorkerKilled(BaseException):
    """What a worker's death looks like from inside: nothing after it runs, nothing commits."""


def test_a_worker_killed_while_the_message_leaves_leaves_the_invoice_to_send(world, monkeypatch):
    # The invoice is marked sent in the transaction that sends it: killed before the commit,
    # the mark goes with the transaction and « Envoyer » again sends it (make cluster kills one).
    invoice = make_invoice(world)
    Invoice.objects.filter(pk=invoice.pk).update(delivery=Delivery.COURRIEL)

    def killed(message):
        raise WorkerKilled

    monkeypatch.setattr(delivery, "send_now", killed)
    with pytest.raises(WorkerKilled):
        delivery.send_invoices(invoice_ids=[invoice.pk])
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is None
    monkeypatch.undo()
    assert delivery.send_invoices(invoice_ids=[invoice.pk])["emailed"] == 1
    assert len(mail.outbox) == 1 and Invoice.objects.get(pk=invoice.pk).emailed_at is not None


def test_an_invoice_that_cannot_be_rendered_does_not_stop_the_others(world, monkeypatch):
    _run, invoices = run_with_families(world)
    PersonneFactory(famille=invoices["LEROY"].famille, email="leroy@example.fr")
    real_context = delivery.pdf.invoice_context

    def broken_for_durand(invoice, **kwargs):
        if invoice.pk == invoices["DURAND"].pk:
            raise ValueError("bad layout")
        return real_context(invoice, **kwargs)

    # Both the task's batch and the one-by-one rendering it falls back to read the context.
    monkeypatch.setattr(delivery.pdf, "invoice_context", broken_for_durand)
    ids = [invoices["DURAND"].pk, invoices["LEROY"].pk]
    assert delivery.send_invoices(invoice_ids=ids) == {"emailed": 1, "to_paper": 0, "failed": 1}
    assert [m.to for m in mail.outbox] == [["leroy@example.fr"]]
    assert Invoice.objects.get(pk=invoices["DURAND"].pk).emailed_at is None


def test_a_tasks_invoices_are_laid_out_together_each_mail_with_its_own_pdf(world, monkeypatch):
    _run, invoices = run_with_families(world)
    PersonneFactory(famille=invoices["LEROY"].famille, email="leroy@example.fr")
    batches = []
    real_batch = delivery.pdf.invoice_pdfs
    monkeypatch.setattr(
        delivery.pdf, "invoice_pdfs", lambda *a: batches.append(a) or real_batch(*a)
    )
    ids = [invoices["DURAND"].pk, invoices["LEROY"].pk]
    assert delivery.send_invoices(invoice_ids=ids)["emailed"] == 2
    assert len(batches) == 1
    for message in mail.outbox:
        ((name, content, _mimetype),) = message.attachments
        number = name.removeprefix("facture-").removesuffix(".pdf")
        assert f"Facture n° {number} " in pdf_text(content)
        assert pdf_text(content).count("Facture n° ") == 1
    assert {m.attachments[0][0] for m in mail.outbox} == {
        f"facture-{invoices[name].number}.pdf" for name in ("DURAND", "LEROY")
    }


def test_paper_invoices_are_marked_printed_once(world, django_capture_on_commit_callbacks):
    run, invoices = run_with_families(world)
    with django_capture_on_commit_callbacks(execute=True):
        services_delivery.deliver_run(run=run, actor=None)
    agent = AgentFactory(commune=world.commune)
    everything = list(Invoice.objects.filter(run=run))
    assert delivery.mark_printed(invoices=everything, actor=agent) == 2  # MARTIN, LEROY
    printed = set(Invoice.objects.filter(printed_at__isnull=False).values_list("pk", flat=True))
    assert printed == {invoices["MARTIN"].pk, invoices["LEROY"].pk}
    assert AuditEntry.objects.filter(action="factures.imprimees", actor=agent).count() == 1
    assert delivery.mark_printed(invoices=everything, actor=agent) == 0
    assert delivery.mark_printed(invoices=[], actor=agent) == 0
    # A cancelled paper invoice is never printed for posting.
    cancelled = make_invoice(world, number_month=6)
    Invoice.objects.filter(pk=cancelled.pk).update(delivery=Delivery.PAPIER)
    cancel_invoice(invoice=cancelled, actor=agent, reason="Erreur")
    assert delivery.mark_printed(invoices=[cancelled], actor=agent) == 0
    assert Invoice.objects.get(pk=cancelled.pk).printed_at is None


# --- Receipts -----------------------------------------------------------------------------------


def test_the_receipt_is_emailed_once_the_payment_has_committed(
    world, django_capture_on_commit_callbacks
):
    invoice = make_invoice(world)
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(world, invoice, "151.65", date(2026, 3, 30), method=PaymentMethod.CESU)
        assert mail.outbox == []
    [message] = mail.outbox
    assert message.subject == f"Villebois — Votre reçu de paiement n° {payment.number}"
    assert message.to == ["francoise@example.fr"]
    assert "a bien reçu votre paiement de 151,65 € le 30/03/2026 (CESU)" in message.body
    assert f"Facture n° {invoice.number} — Facture de mars 2026" in message.body
    assert "http://testserver/villebois/mon-espace/factures/documents/" in message.body
    name, text = attachment(message)
    assert name == f"recu-{payment.number}.pdf"
    assert f"Reçu de paiement n° {payment.number}" in text
    assert "Montant reçu : 151,65 €" in text


def test_an_online_payment_also_goes_to_the_account_that_paid(world):
    invoice = make_invoice(world)
    payer = FamilyAccessFactory(famille=world.famille, user__email="payeur@example.fr").user
    Transaction.objects.create(
        commune=world.commune, famille=world.famille, user=payer, reference="PVS-0001",
        provider="simulateur", amount=D("151.65"),
    )  # fmt: skip
    payment = record_payment(
        regie=world.regie, famille=world.famille, allocations=[(invoice, D("151.65"))],
        method=PaymentMethod.CARTE, received_on=date(2026, 3, 30), actor=None,
        transaction_reference="PVS-0001",
    )  # fmt: skip
    assert delivery.send_receipt(payment_id=payment.pk) is True
    assert mail.outbox[0].to == ["payeur@example.fr", "francoise@example.fr"]


def test_a_mail_failure_never_raises_from_send_receipt(world, monkeypatch):
    payment = pay(world, make_invoice(world), "10.00", date(2026, 3, 30))

    def failing(self, *args, **kwargs):
        raise OSError("SMTP down")

    monkeypatch.setattr(delivery.EmailMessage, "send", failing)
    assert delivery.send_receipt(payment_id=payment.pk) is False
    assert delivery.send_receipt(payment_id=999999) is False


def test_invoices_reminders_and_warnings_share_one_rule_for_addresses(db):
    """Responsables' e-mails first; the accounts' only when no responsable has one; the same
    answer with the contacts prefetched (lists) or read one family at a time."""
    from parvis.billing.delivery import family_emails, with_contacts
    from parvis.billing.services_warnings import recipients
    from parvis.families.models import Famille
    from parvis.families.tests.factories import (
        FamilleFactory,
        FamilyAccessFactory,
        PersonneFactory,
    )

    with_mail = FamilleFactory()
    PersonneFactory(famille=with_mail, email="parent@example.fr")
    FamilyAccessFactory(famille=with_mail, user__email="compte@example.fr")
    accounts_only = FamilleFactory(commune=with_mail.commune)
    PersonneFactory(famille=accounts_only, email="")
    FamilyAccessFactory(famille=accounts_only, user__email="seul.compte@example.fr")
    expected = {with_mail.pk: ["parent@example.fr"], accounts_only.pk: ["seul.compte@example.fr"]}
    assert {f.pk: family_emails(f) for f in (with_mail, accounts_only)} == expected
    prefetched = with_contacts(Famille.objects.filter(pk__in=expected))
    assert {f.pk: family_emails(f) for f in prefetched} == expected
    assert recipients(list(expected)) == expected
