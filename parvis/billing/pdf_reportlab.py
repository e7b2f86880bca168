"""The invoices and the payment receipts as PDFs drawn by ReportLab's Platypus (issue 18 §5:
WeasyPrint lays out about 12 invoices a second per core on this machine, Platypus 60 or more).

The documents keep the look of the HTML templates they replaced, which the certificates still
use (billing/pdf/_entete.html, pdf.css): A4, 14/15/16 mm margins, DejaVu Sans 9 pt (embedded,
subset), the commune's logo if any, the issuer on the left and the family's address in a box on
the right, the title, the stamp (« Facture réglée », « FACTURE ANNULÉE »), the table of lines
with its header repeated on every page, the totals on the right and how to pay (or « prélevée
le … »). Every text is a gettext message (the same msgids as the templates had), every amount
already written by `pricing.money` in the context (`pdf.invoice_context`,
`pdf.receipt_context`). Text from the database is escaped before it reaches Platypus's
paragraph markup: no tag of a label is ever interpreted, nothing is fetched (the commune's logo
is read from its storage by us, never through a URL).

An invoice that runs over several pages says « Page 1 / 2 » at the bottom of each of its pages,
also inside a printing batch (each invoice numbered on its own)."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from html import escape
from pathlib import Path

from django.utils import timezone
from django.utils.formats import localize
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

logger = logging.getLogger(__name__)

# Debian's fonts-dejavu-core (README, « Installation »), then other distributions' places.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_TOP, MARGIN_SIDE, MARGIN_BOTTOM = 14 * mm, 15 * mm, 16 * mm
WIDTH = PAGE_WIDTH - 2 * MARGIN_SIDE  # 180 mm
SIZE, SMALL = 9, 7.5
LEADING = SIZE * 1.35
LOGO_HEIGHT, LOGO_WIDTH = 16 * mm, 45 * mm
BORDER = colors.HexColor("#444444")

_lock = threading.Lock()  # ReportLab keeps per-font state: one document at a time per process


@lru_cache(maxsize=1)
def _fonts() -> None:
    """DejaVu Sans and its bold, registered once per process (ReportLab reads the TrueType files
    then; each document embeds the subset of the glyphs it uses)."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            pdfmetrics.registerFont(TTFont(FONT, str(regular)))
            pdfmetrics.registerFont(TTFont(BOLD, str(bold)))
            pdfmetrics.registerFontFamily(
                FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD
            )
            return
    raise RuntimeError(
        "DejaVu Sans not found (install fonts-dejavu-core): " + ", ".join(map(str, FONT_DIRS))
    )


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    """pdf.css in ReportLab's terms (made once per process)."""
    _fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=SIZE, leading=LEADING)
    p = ParagraphStyle("p", parent=body, spaceAfter=1.5 * mm)
    return {
        "body": body,
        "p": p,
        "small": ParagraphStyle("small", parent=p, fontSize=SMALL, leading=SMALL * 1.35),
        "h1": ParagraphStyle(
            "h1", parent=body, fontName=BOLD, fontSize=15, leading=18, spaceAfter=2 * mm
        ),
        "h2": ParagraphStyle(
            "h2",
            parent=body,
            fontName=BOLD,
            fontSize=11,
            leading=14,
            spaceBefore=5 * mm,
            spaceAfter=1.5 * mm,
        ),
        "stamp": ParagraphStyle("stamp", parent=body, fontName=BOLD, fontSize=12, leading=14),
        "caption": ParagraphStyle("caption", parent=body, fontName=BOLD, spaceAfter=1 * mm),
        "cell": body,
        "th": ParagraphStyle("th", parent=body, fontName=BOLD),
        "num": ParagraphStyle("num", parent=body, alignment=TA_RIGHT),
        "th_num": ParagraphStyle("th_num", parent=body, fontName=BOLD, alignment=TA_RIGHT),
        "totals": ParagraphStyle("totals", parent=p, alignment=TA_RIGHT, leftIndent=0.55 * WIDTH),
        "left": ParagraphStyle("left", parent=body, alignment=TA_LEFT),
    }


def text(value) -> str:
    """A value of the database or a translation, safe inside Platypus's paragraph markup."""
    return escape(str(value if value is not None else ""), quote=False)


def _bold(value) -> str:
    return f"<b>{text(value)}</b>"


def _lines(*parts: str) -> str:
    return "<br/>".join(part for part in parts if part)


def _day(value) -> str:
    """« 28/03/2026 » (the templates' |date:"d/m/Y": a moment in the current time zone)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%d/%m/%Y") if value else ""


# --- The commune's logo -------------------------------------------------------------------------


_LOGOS: dict[str, ImageReader | None] = {}


def _logo(commune) -> Flowable | None:
    """The commune's logo (communes.Commune.logo) at most 16 mm high and 45 mm wide, read from
    its storage once per process and file name (the storages never overwrite a file: a new logo
    has a new name); none when absent or unreadable (the invoice is still sent)."""
    field = getattr(commune, "logo", None)
    if not field:
        return None
    name = field.name
    if name not in _LOGOS:
        try:
            with field.open("rb") as handle:
                reader = ImageReader(io.BytesIO(handle.read()))
            reader.getSize()
        except Exception:  # a missing or broken file: no logo rather than no invoice
            logger.warning("Logo illisible pour la commune %s : %s", commune.pk, name)
            reader = None
        if len(_LOGOS) > 256:
            _LOGOS.clear()
        _LOGOS[name] = reader
    reader = _LOGOS[name]
    if reader is None:
        return None
    width, height = reader.getSize()
    scale = min(LOGO_HEIGHT / height, LOGO_WIDTH / width)
    return _Image(reader, width * scale, height * scale)


class _Image(Flowable):
    """An image already read (Platypus's Image wants a file to open)."""

    def __init__(self, reader: ImageReader, width: float, height: float):
        super().__init__()
        self.reader, self.width, self.height = reader, width, height

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self):
        self.canv.drawImage(self.reader, 0, 0, self.width, self.height, mask="auto")


# --- Shared blocks ------------------------------------------------------------------------------


class _MinHeight(Flowable):
    """A flowable given at least `height` (the issuer's « min-height: 30mm »)."""

    def __init__(self, inner: Flowable, height: float):
        super().__init__()
        self.inner, self.min_height = inner, height

    def wrap(self, available_width, available_height):
        width, height = self.inner.wrap(available_width, available_height)
        self.width, self.height = width, max(height, self.min_height)
        return self.width, self.height

    def draw(self):
        self.inner.drawOn(self.canv, 0, self.height - self.inner.height)


def _header(context: dict) -> list[Flowable]:
    """_entete.html: the issuer (the commune, and the régie when given) on the left, the
    family's postal address in a box on the right."""
    s = _styles()
    commune, regie, famille = context["commune"], context.get("regie"), context["famille"]
    mairie = _bold(_("Mairie de %(name)s") % {"name": commune.name})
    town = f"{text(commune.postal_code)} {text(commune.name)}"
    if regie:
        if regie.address:
            address = "<br/>".join(text(line) for line in regie.address.splitlines())
        else:
            address = _lines(text(commune.address), town)
        issuer = _lines(
            mairie,
            text(regie.name),
            address,
            text(_("Tél.") + " " + (regie.phone or commune.phone)),
            text(regie.email or commune.email),
        )
    else:
        issuer = _lines(
            mairie,
            text(commune.address),
            town,
            text(_("Tél.") + " " + commune.phone),
            text(commune.email),
        )
    issuer_cell: list[Flowable] = []
    logo = _logo(commune)
    if logo is not None:
        issuer_cell += [logo, Spacer(0, 1.5 * mm)]
    issuer_cell.append(_MinHeight(Paragraph(issuer, s["body"]), 30 * mm))

    city = " ".join(part for part in (famille["postal_code"], famille["city"]) if part)
    reference = _("Code famille : %(reference)s") % {"reference": famille["reference"]}
    addressee = _lines(
        _bold(famille["addressee"]),
        text(famille["address"]),
        text(city),
        f'<font size="{SMALL}">{text(reference)}</font>',
    )
    box = Table(
        [[Paragraph(addressee, s["body"])]],
        colWidths=[0.44 * WIDTH],
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.4, BORDER),
                ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 2 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2 * mm),
            ]
        ),
    )
    header = Table(
        [[issuer_cell, "", box]],
        colWidths=[0.48 * WIDTH, 0.08 * WIDTH, 0.44 * WIDTH],
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    return [header, Spacer(0, 6 * mm)]


def _stamp(words: str) -> Table:
    """pdf.css's .stamp: bold 12 pt in a 1.5 pt frame."""
    table = Table(
        [[Paragraph(text(words), _styles()["stamp"])]],
        style=TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colors.black),
                ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm),
                ("TOPPADDING", (0, 0), (-1, -1), 1 * mm),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5 * mm),
            ]
        ),
        hAlign="LEFT",
    )
    table.spaceAfter = 2 * mm
    return table


_CELL_STYLE = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), 0),
    ("RIGHTPADDING", (0, 0), (-1, -1), 1.5 * mm),
    ("TOPPADDING", (0, 0), (-1, -1), 0.8 * mm),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 0.8 * mm),
    ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black),
]


def _table(caption: str, header: list[str], rows: list[list[str]], widths, numeric) -> list:
    """A table of pdf.css: its caption (bold, once), its header row (bold, ruled, repeated on
    every page it runs over), the cells of `numeric` columns aligned right. Cells are markup."""
    s = _styles()
    columns = [w * WIDTH for w in widths]
    head = [
        Paragraph(text(label), s["th_num"] if i in numeric else s["th"])
        for i, label in enumerate(header)
    ]
    body = [
        [Paragraph(cell, s["num"] if i in numeric else s["cell"]) for i, cell in enumerate(row)]
        for row in rows
    ]
    style = TableStyle(_CELL_STYLE)
    for column in numeric:  # pdf.css's .num: flush right
        style.add("RIGHTPADDING", (column, 0), (column, -1), 0)
    table = Table([head, *body], colWidths=columns, repeatRows=1, style=style)
    table.spaceBefore, table.spaceAfter = 0, 3 * mm
    return [Spacer(0, 2 * mm), Paragraph(text(caption), s["caption"]), table]


# --- Invoices -----------------------------------------------------------------------------------


def _invoice_story(f: dict) -> list[Flowable]:
    """One invoice (`f`: pdf.invoice_context)."""
    s = _styles()
    invoice = f["invoice"]
    story = _header(f)
    title = _("Facture n° %(number)s") % {"number": invoice.number}
    story += [_Bookmark(title), Paragraph(text(title), s["h1"])]
    if f["is_cancelled"]:
        story.append(_stamp(_("FACTURE ANNULÉE")))
    elif f["is_paid"]:
        story.append(_stamp(_("Facture réglée : %(total)s") % {"total": f["total"]}))
    about = []
    if invoice.category:
        about.append(_("Rubrique : %(category)s") % {"category": invoice.category})
    about += [
        _("Objet : %(label)s") % {"label": invoice.label},
        _("Période : du %(start)s au %(end)s")
        % {"start": _day(invoice.period_start), "end": _day(invoice.period_end)},
        _("Émise le %(issued)s — à régler avant le %(due)s")
        % {"issued": _day(invoice.issued_on), "due": _day(invoice.due_on)},
        _("État : %(status)s") % {"status": f["status"]},
    ]
    story.append(Paragraph(_lines(*map(text, about)), s["p"]))

    rows = []
    for line in f["lines"]:
        label = text(line["label"])
        if line["is_deduction"]:
            label = f"{text(line['kind'])} : {label}"
        if line["price_label"]:
            label = f"{label} — {text(line['price_label'])}"
        rows.append(
            [
                text(line["child_name"]),
                label,
                f"{text(localize(line['quantity']))} × {text(line['unit_price'])}",
                text(line["amount"]),
            ]
        )
    story += _table(
        _("Détail de la facture"),
        [
            _("Enfant"),
            _("Prestation — tranche ou règle"),
            _("Quantité × prix unitaire"),
            _("Montant"),
        ],
        rows,
        (0.12, 0.50, 0.25, 0.13),
        numeric={2, 3},
    )
    totals = _lines(
        text(_("Total : %(total)s") % {"total": f["total"]}),
        text(_("Déjà réglé : %(paid)s") % {"paid": f["paid"]}),
        _bold(_("Reste à régler : %(due)s") % {"due": f["due"]}),
    )
    story.append(Paragraph(totals, s["totals"]))

    if f["debit_on"] and not f["is_paid"] and not f["is_cancelled"]:
        story.append(Paragraph(text(_("Prélèvement automatique")), s["h2"]))
        debit = _("Cette facture sera prélevée le %(day)s sur votre compte : %(due)s.") % {
            "day": _day(f["debit_on"]),
            "due": f["due"],
        }
        nothing = _("Vous n'avez rien à faire ; ce document vaut pré-notification du prélèvement.")
        story.append(Paragraph(f"<b>{text(debit)}</b> {text(nothing)}", s["p"]))
    elif not f["is_paid"] and not f["is_cancelled"]:
        regie = f["regie"]
        story.append(Paragraph(text(_("Comment payer")), s["h2"]))
        online = _(
            "En ligne par carte bancaire, dans votre espace, onglet « Mon compte » : %(url)s"
        ) % {"url": f["portal_url"]}
        counter = _("À la %(regie)s :") % {"regie": regie.name}
        counter += " " + ", ".join(f["counter_means"])
        if regie.payee:
            counter += " — " + _("chèque à l'ordre de « %(payee)s »") % {"payee": regie.payee}
        story.append(Paragraph(_lines(f"• {text(online)}", f"• {text(counter)}"), s["p"]))
        reminder = _(
            "Rappelez la facture n° %(number)s et le code famille %(reference)s avec votre "
            "paiement. Les CESU ne règlent que la garde des enfants de moins de 6 ans."
        ) % {"number": invoice.number, "reference": f["famille"]["reference"]}
        story.append(Paragraph(text(reminder), s["small"]))
    return story


class _Bookmark(Flowable):
    """Zero-sized: an entry of the PDF's outline (the reader's side panel) pointing here, as
    WeasyPrint made one of each heading: « Facture n° 7916 », one an invoice in a batch."""

    def __init__(self, title: str):
        super().__init__()
        self.title = title
        self.width = self.height = 0

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        # Kept for _NumberingCanvas.save, which writes the pages (and so their references).
        x, y = self.canv.absolutePosition(0, 0)
        page = self.canv.getPageNumber()
        self.canv.bookmarks.setdefault(page, []).append((self.title, x, y))


class _Start(Flowable):
    """Zero-sized: tells the canvas that document number `index` begins on this page."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index
        self.width = self.height = 0

    def wrap(self, available_width, available_height):
        return 0, 0

    def draw(self):
        self.canv.starts.setdefault(self.canv.getPageNumber(), self.index)


class _NumberingCanvas(Canvas):
    """Keeps the pages until the end, then writes « Page 2 / 3 » at the foot of the pages of a
    document (an invoice of a batch) that runs over more than one page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.starts: dict[int, int] = {}
        self.bookmarks: dict[int, list[tuple[str, float, float]]] = {}
        self.kept: list[dict] = []

    def showPage(self):
        self.kept.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        owners, current = [], 0
        for number in range(1, len(self.kept) + 1):
            current = self.starts.get(number, current)
            owners.append(current)
        counts = {owner: owners.count(owner) for owner in set(owners)}
        seen: dict[int, int] = {}
        bookmarks = self.bookmarks
        for number, (state, owner) in enumerate(zip(self.kept, owners, strict=True), start=1):
            self.__dict__.update(state)
            for index, (title, x, y) in enumerate(bookmarks.get(number, [])):
                key = f"p{number}-{index}"
                self.bookmarkPage(key, fit="XYZ", left=x, top=y)
                self.addOutlineEntry(title, key, level=0)
            seen[owner] = seen.get(owner, 0) + 1
            if counts[owner] > 1:
                self.setFont(FONT, SMALL)
                self.drawRightString(
                    PAGE_WIDTH - MARGIN_SIDE,
                    8 * mm,
                    _("Page %(page)s / %(pages)s") % {"page": seen[owner], "pages": counts[owner]},
                )
            super().showPage()
        super().save()


def _page_template() -> PageTemplate:
    """A4 within pdf.css's @page margins, the frame without padding (its content 180 mm wide,
    as WeasyPrint's). Made for each document: ReportLab's frames keep their state."""
    frame = Frame(
        MARGIN_SIDE,
        MARGIN_BOTTOM,
        WIDTH,
        PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="page",
    )
    return PageTemplate(id="page", frames=[frame], pagesize=A4)


def _build(stories: Iterable[list[Flowable]], *, title: str, author: str = "") -> bytes:
    """One PDF of the stories given, each from a new page."""
    _fonts()
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer,
        pagesize=A4,
        pageTemplates=[_page_template()],
        title=title,
        author=author,
        subject=title,
        creator="Parvis",
        lang=get_language() or "fr",
        displayDocTitle=1,
        pageCompression=1,
        initialFontName=FONT,
        initialFontSize=SIZE,
    )
    flowables: list[Flowable] = []
    for index, story in enumerate(stories):
        if flowables:
            flowables.append(PageBreak())
        flowables.append(_Start(index))
        flowables += story
    with _lock:
        document.build(flowables, canvasmaker=_NumberingCanvas)
    return buffer.getvalue()


def _author(context: dict) -> str:
    return _("Mairie de %(name)s") % {"name": context["commune"].name}


def invoice(context: dict) -> bytes:
    """The PDF of one invoice (pdf.invoice_context), titled « Facture n° … »."""
    title = _("Facture n° %(number)s") % {"number": context["invoice"].number}
    return _build([_invoice_story(context)], title=title, author=_author(context))


def invoices(contexts: list[dict]) -> bytes:
    """Several invoices in one PDF (the régie's printing batch), each from a new page, each
    numbered on its own when it runs over several pages."""
    if len(contexts) == 1:
        return invoice(contexts[0])
    author = _author(contexts[0]) if contexts else ""
    stories = [_invoice_story(context) for context in contexts]
    return _build(stories, title=_("Factures à imprimer"), author=author)


# --- Receipts -----------------------------------------------------------------------------------


def receipt(context: dict) -> bytes:
    """The receipt of a payment (pdf.receipt_context)."""
    s = _styles()
    payment = context["payment"]
    title = _("Reçu de paiement n° %(number)s") % {"number": payment.number}
    story = _header(context)
    story += [_Bookmark(title), Paragraph(text(title), s["h1"])]
    if context["is_cancelled"]:
        story.append(_stamp(_("ANNULÉ")))
        cancelled = _(
            "Ce paiement a été annulé le %(day)s : %(reason)s. Ce reçu ne vaut pas quittance."
        ) % {"day": _day(payment.cancelled_at), "reason": payment.cancel_reason}
        story.append(Paragraph(text(cancelled), s["p"]))
    about = [
        _("Reçu le %(day)s") % {"day": _day(payment.received_on)},
        _("Mode de paiement : %(method)s") % {"method": context["method"]},
    ]
    if payment.reference:
        about.append(_("Référence : %(reference)s") % {"reference": payment.reference})
    if payment.transaction_reference:
        about.append(
            _("Transaction en ligne : %(reference)s") % {"reference": payment.transaction_reference}
        )
    received = _("Montant reçu : %(amount)s") % {"amount": context["amount"]}
    story.append(Paragraph(_lines(*map(text, about), f"<b>{text(received)}</b>"), s["p"]))
    rows = []
    for allocation in context["allocations"]:
        label = text(allocation["label"])
        if allocation["category"]:
            label = f"{text(allocation['category'])} — {label}"
        number = _("n° %(number)s") % {"number": allocation["number"]}
        rows.append([text(number), label, text(allocation["amount"])])
    story += _table(
        _("Factures réglées par ce paiement"),
        [_("Facture"), _("Objet"), _("Montant affecté")],
        rows,
        (0.20, 0.60, 0.20),
        numeric={2},
    )
    certifies = _("La %(regie)s certifie avoir reçu la somme de %(amount)s.") % {
        "regie": context["regie"].name,
        "amount": context["amount"],
    }
    story.append(Paragraph(text(certifies), s["p"]))
    return _build([story], title=title, author=_author(context))
