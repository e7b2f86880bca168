"""The cells of the reservation calendars drawn in Python (see Painter)."""

from __future__ import annotations

import html

from django.urls import reverse
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format, localize
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from parvis.activities.selectors import WEEKDAY_LABELS
from parvis.communes.painted import PaintedOnce


def escape(text) -> str:
    """django.utils.html.escape's text (« & < > " ' »), without its lazy-argument wrapper: a
    third of a field's drawing went there."""
    return html.escape(str(text))


# A painter's fixed texts, translated and escaped, by language: worked out once per process
# (every painter did it again, about 350 Python calls a page of the grid or the basket).
_TEXTS = PaintedOnce(64)  # communes.painted


def _texts() -> tuple:
    """« ajout demandé », « annulation demandée », « accepter ou refuser », the weekdays of
    WEEKDAY_LABELS and the date filter's « lundi » … « dimanche », in the active language."""
    language = get_language()
    texts = _TEXTS.get(language)
    if texts is None:
        texts = _TEXTS.keep(
            language,
            (
                escape(_("ajout demandé")),
                escape(_("annulation demandée")),
                escape(_("accepter ou refuser")),
                [escape(str(label)) for label in WEEKDAY_LABELS],
                [escape(str(WEEKDAYS[n])) for n in range(7)],
            ),
        )
    return texts


class Painter:
    """Draws the days of the calendars, in Python: a school year of three children is about
    1,800 cells, which {% include %} would draw in half a second, and the page must take less
    than 150 ms. One markup for the one-child calendar (`child_day`) and the household grid
    (`day`), so activities.css and calendrier.js serve both; every text is escaped here, each
    once. A cell's checkbox carries `cell.key`, its ids the same with « - »."""

    BOOKED = ' data-booked="1"'

    def __init__(self, commune):
        self.commune = commune
        self.added, self.removed, self.offer, self.weekdays, self._names = _texts()
        self._escaped: dict = {}
        self._states: dict = {}
        self._units: dict = {}

    def _e(self, text) -> str:
        if text not in self._escaped:
            self._escaped[text] = escape(text)
        return self._escaped[text]

    def _date(self, day) -> tuple[str, str]:
        weekday = self.weekdays[day.day.weekday()]
        return (
            f'<p class="resa-date">{weekday.capitalize()} {day.day:%d/%m}</p>',
            f"{weekday} {day.day:%d/%m/%Y}",
        )

    def child_day(self, day, *, described: dict | None = None) -> str:
        """A day of the one-child calendar: its date, then a cell per unit. `described` maps
        a reason said elsewhere (the row header of a week that cannot change) to the id of
        where it is said: a cell locked for that reason is described by it, not said again."""
        heading, when = self._date(day)
        return mark_safe(
            heading + "".join(self.cell(cell, "", when, described) for cell in day.cells)
        )

    def day(self, day) -> str:
        """A day of the household grid: its date, then each child's cells (or, when nothing
        can change that day for one reason, that reason once)."""
        heading, when = self._date(day)
        parts = [heading]
        if day.common_reason:
            parts.append(
                '<p class="resa-reason"><span aria-hidden="true">⊘</span> '
                f"{self._e(day.common_reason)}</p>"
            )
        else:
            # A reason several cells of the day share (a deadline passed, a closure) is said
            # once under the date, each of its cells described by it (aria-describedby), as the
            # one-child calendar's week headers do: a past month is otherwise mostly reasons.
            reasons = {}  # reason -> how many cells (a Counter cost more than the loop, each day)
            for group in day.groups:
                for cell in group.cells:
                    if cell.reason:
                        reasons[cell.reason] = reasons.get(cell.reason, 0) + 1
            described = {}
            for reason, count in reasons.items():
                if count > 1:
                    said = described[reason] = f"r-{day.day:%Y-%m-%d}-{len(described)}"
                    parts.append(
                        f'<p class="resa-reason" id="{said}"><span aria-hidden="true">⊘</span> '
                        f"{self._e(reason)}</p>"
                    )
            for group in day.groups:
                who = self._e(group.child.first_names)
                parts.append(f'<div class="foyer-child"><p class="foyer-child__name">{who}</p>')
                parts.extend(self.cell(cell, who, when, described) for cell in group.cells)
                parts.append("</div>")
        return mark_safe("".join(parts))  # every text escaped above

    def week(self, week, days: list[str]) -> str:
        """A row of the household grid: « Semaine du … », then its days painted by `day` (an
        empty cell for a day outside the period shown). In Python too: a template {% include %}
        a week cost as much as its cells."""
        heading = self._e(_("Semaine du %(monday)s") % {"monday": f"{week.monday:%d/%m/%Y}"})
        cells = "".join(f"<td>{html}</td>" for html in days)
        return mark_safe(  # every text escaped above and in `day`
            f'<tr id="semaine-{week.key}"><th scope="row">{heading}</th>{cells}</tr>'
        )

    def period_nav(self, period, vues: dict) -> str:
        """« Précédent / suivant » and « Mois / Trimestre / Année scolaire » of the household
        grid, the markup of includes/foyer_periode.html: buttons of the grid's form (the days
        ticked go along), `period` (selectors_foyer.Period) and `vues` (code → label)."""
        button = '<li><button type="submit" name="action" value="aller:'
        small = '" class="button button--secondary button--small">'
        start = period.start.isoformat()
        items = [
            f"{button}{period.vue}:{period.previous.isoformat()}{small}"
            f'<span aria-hidden="true">←</span> {escape(period.previous_label)}</button></li>'
        ]
        for code, label in vues.items():
            if code == period.vue:
                items.append(f'<li><strong aria-current="true">{escape(label)}</strong></li>')
            else:
                items.append(f"{button}{code}:{start}{small}{escape(label)}</button></li>")
        items.append(
            f"{button}{period.vue}:{period.next.isoformat()}{small}"
            f'{escape(period.next_label)} <span aria-hidden="true">→</span></button></li>'
        )
        # The template's literals are its own text, not escaped ({% translate %}); translated
        # outside the f-strings (makemessages does not read inside them).
        named = _("Période affichée")
        kept = _("Vos modifications sont conservées quand vous changez de période.")
        return mark_safe(  # every value escaped above
            f'<nav class="foyer-nav" aria-label="{named}"><ul>{"".join(items)}</ul></nav>'
            f'<p class="form__intro">{kept}</p>'
        )

    def tool_result(self, result, done: str) -> str:
        """What « Copier la semaine » or « Appliquer le modèle » just did (`result`:
        selectors_foyer.ToolResult, `done`: the sentence of the tool), the markup of
        includes/foyer_resultat.html."""
        changed, unchanged = result.changed, result.unchanged
        said = (
            ngettext("%(count)s jour modifié", "%(count)s jours modifiés", changed)
            % {"count": escape(localize(changed))},
            ngettext("%(count)s jour déjà ainsi", "%(count)s jours déjà ainsi", unchanged)
            % {"count": escape(localize(unchanged))},
        )
        parts = [
            '<div class="message message--info foyer-result" role="status" data-resa-done>'
            f"<p>{escape(done)} {said[0]}, {said[1]}.</p>"
        ]
        skipped = result.skipped_count
        if skipped:
            left = ngettext(
                "%(count)s jour laissé tel quel, car non modifiable :",
                "%(count)s jours laissés tels quels, car non modifiables :",
                skipped,
            ) % {"count": escape(localize(skipped))}
            reasons = "".join(
                f'<li><span aria-hidden="true">⊘</span> {escape(reason)} '
                f"({escape(localize(count))})</li>"
                for reason, count in result.skipped_reasons
            )
            parts.append(f"<p>{left}</p><ul>{reasons}</ul>")
        # The template's literal, not escaped ({% translate %}); outside the f-string.
        nothing = _("Rien n'est enregistré avant « Valider » dans le panier.")
        parts.append(f"<p>{nothing}</p></div>")
        return mark_safe("".join(parts))  # every value escaped above

    def month(self, month) -> str:
        """« Décembre 2026 », escaped (the « Aller au mois » list and the weeks' headers)."""
        if month not in self._escaped:
            self._escaped[month] = mark_safe(escape(capfirst(date_format(month, "F Y"))))
        return self._escaped[month]

    def child_week(
        self, week, days: list[str], *, months=(), locks=(), folded: bool = False,
        action: str = "", done: str = "",
    ) -> str:  # fmt: skip
        """A row of the one-child calendar: its header names the week (and the months that
        start in it, and who it is billed to); a cell of its own holds « Tout cocher / Tout
        décocher » of the week (`action`: the form's address; none for a `folded` week) or, for
        a week that cannot change (`locks`: views.Lock), why, once, its days' checkboxes
        described by it; and `done`, what a button of the week just did. Then its days, painted
        by `child_day` (an empty cell for a day outside the period)."""
        key = week.key
        monday = f"{week.monday:%d/%m/%Y}"
        header = "".join(
            f'<span class="resa-month" id="mois-{month:%Y-%m}">{self.month(month)}</span> '
            for month in months
        )
        # Translated outside the f-strings: makemessages does not read inside them.
        named = self._e(_("Semaine du %(monday)s") % {"monday": monday})
        header += f'<span class="resa-week">{named}</span>'
        if week.billed_to:
            header += f' <span class="resa-billed">{self._e(week.billed_to)}</span>'
        if len(locks) == 1:
            lock = locks[0]
            said = _("Non modifiable : %(reason)s") % {"reason": lock.reason}
            actions = (
                f'<span class="resa-locked" id="{lock.ident}"><span aria-hidden="true">⊘</span> '
                f"{escape(said)}</span>"
            )
        elif locks:
            said = self._e(_("Non modifiable :"))
            actions = (
                f'<span class="resa-locked"><span aria-hidden="true">⊘</span> {said}</span>'
                '<ul class="resa-locked__reasons">'
                + "".join(
                    f'<li id="{lock.ident}">{self._e(lock.weekdays)} — {self._e(lock.reason)}</li>'
                    for lock in locks
                )
                + "</ul>"
            )
        elif not folded:
            which = self._e(_("semaine du %(monday)s") % {"monday": monday})
            actions = "".join(
                f'<button type="submit" name="action" value="{verb}_semaine:{key}" '
                f'id="tout-{verb}-{key}" formaction="{action}#semaine-{key}" '
                f'class="button button--secondary button--small">{self._e(label)}'
                f'<span class="visually-hidden"> — {which}</span></button>'
                for verb, label in (("cocher", _("Tout cocher")), ("decocher", _("Tout décocher")))
            )
        else:
            actions = ""
        if done:
            said = escape(done)
            actions += (
                f'<p class="resa-done" role="status" data-resa-done="{said}">'
                f'<span aria-hidden="true">✓</span> {said}</p>'
            )
        cells = "".join(f"<td>{html}</td>" for html in days)
        return mark_safe(  # every text escaped above and in `child_day`
            f'<tr id="semaine-{key}"><th scope="row">{header}</th>'
            f'<td class="resa-week-actions">{actions}</td>{cells}</tr>'
        )

    def basket(self, add: list, remove: list, *, level: int) -> str:
        """The household basket's days of one child and activity (the markup of
        includes/panier_jours.html): `add` and `remove` (cells, posted back as « ajout » /
        « retrait ») under headings of level `level`, each refusal next to its day."""
        parts, names, units = [], self._weekday_names(), {}
        for cells, name, mark, title in (
            (add, "ajout", "✚", _("Jours ajoutés")),
            (remove, "retrait", "✖", _("Jours annulés")),
        ):
            if not cells:
                continue
            parts.append(f'<h{level}>{self._e(title)}</h{level}><ul class="resa-basket">')
            start = f'<li><input type="hidden" name="{name}" value="'
            end = f'"> <span aria-hidden="true">{mark}</span> '
            for cell in cells:
                day, unit = cell.day, cell.unit
                said = units.get(unit.pk)
                if said is None:
                    said = units[unit.pk] = f"{self._e(unit.label)} ({self._e(unit.code)})"
                line = f"{start}{cell.key}{end}{names[day.weekday()]} {day:%d/%m/%Y} — {said}"
                if cell.note and name == "ajout":
                    line += f'<span class="resa-note">{self._e(cell.note)}</span>'
                if cell.problem:
                    line += (
                        '<span class="resa-problem"><span aria-hidden="true">⚠</span> '
                        f"{self._e(_('Erreur :'))} {self._e(str(cell.problem))}</span>"
                    )
                parts.append(line + "</li>")
            parts.append("</ul>")
        return mark_safe("".join(parts))  # every text escaped above

    def _weekday_names(self) -> list[str]:
        """« lundi » … « dimanche » (the date filter's « l »), escaped (_texts)."""
        return self._names

    def summary(self, lines: dict, *, level: int) -> str:
        """What « Valider » saved for one child and activity (the markup of
        includes/resume.html): `lines` « added », « waiting » and « removed », each a list of
        {date, label, code, pending (added), rank (waiting)}, under headings of level `level`.
        In Python: a month of three children is about 170 days, which the include drew in
        6–7 ms, the rest of the confirmation page in 2."""
        parts, names = [], self._weekday_names()
        for kind, title in (
            ("added", _("Jours ajoutés")),
            ("waiting", _("En liste d'attente")),
            ("removed", _("Jours annulés")),
        ):
            found = lines.get(kind)
            if not found:
                continue
            # The template's literals are its own text, not escaped ({% translate %}).
            parts.append(f'<h{level}>{title}</h{level}><ul class="resa-basket">')
            for line in found:
                day = line["date"]
                text = (
                    f"<li>{names[day.weekday()]} {day:%d/%m/%Y} — "
                    f"{self._e(line['label'])} ({self._e(line['code'])})"
                )
                if kind == "added" and line.get("pending"):
                    pending = _("en attente d'instruction")
                    text += f' — <span aria-hidden="true">◷</span> {pending}'
                elif kind == "waiting":
                    # {% blocktranslate %}: the value escaped, not the sentence.
                    rank = escape(localize(line.get("rank")))
                    text += " — " + _("rang %(rank)s") % {"rank": rank}
                parts.append(text + "</li>")
            parts.append("</ul>")
        return mark_safe("".join(parts))  # every text escaped above

    def _state(self, cell) -> str:
        """« Réservée », « liste d'attente, rang 2 »…, with the ◷ of a pending booking."""
        key = (cell.status, cell.rank, cell.reservation_id if cell.status == "proposee" else None)
        if key not in self._states:
            state = escape(cell.status_label)
            if cell.status == "proposee":
                link = reverse(
                    "activities:offre",
                    kwargs={"commune": self.commune.slug, "pk": cell.reservation_id},
                )
                state = (
                    f'<a href="{link}">{state}<span class="visually-hidden"> — {self.offer}'
                    "</span></a>"
                )
            if cell.status == "en_attente":
                state = f'<span aria-hidden="true">◷</span> {state}'
            self._states[key] = f'<span class="resa-state">{state}</span>'
        return self._states[key]

    def _unit(self, unit) -> str:
        """« Restauration <span class="resa-code">REPAS</span> », once per unit's texts."""
        key = (unit.label, unit.code)
        if key not in self._units:
            self._units[key] = (
                f'{self._e(unit.label)} <span class="resa-code">{self._e(unit.code)}</span>'
            )
        return self._units[key]

    def cell(self, cell, who: str, when: str, described: dict | None = None) -> str:
        key = cell.key
        ident = key.replace(":", "-")
        status, wanted, reason, unit = cell.status, cell.wanted, cell.reason, cell.unit
        booked = status is not None
        classes = "resa-cell"
        if wanted != booked:
            classes += " resa-cell--changed"
        if status == "en_attente":
            classes += " resa-cell--pending"
        said = described.get(reason) if described and reason else None
        if reason is None:
            box = f'name="c" value="{key}"'
        elif said:
            box = f'disabled aria-describedby="{said}"'
        else:
            box = f'disabled aria-describedby="r-{ident}"'
        if wanted:
            box += " checked"
        # data-booked only on a booked cell (calendrier.js reads a missing one as « 0 »).
        html = (
            f'<div class="{classes}"{self.BOOKED if booked else ""}>'
            f'<input type="checkbox" id="c-{ident}" {box}>'
            f'<label for="c-{ident}">{self._unit(unit)}'
            f'<span class="visually-hidden">, {who + ", " if who else ""}{when}</span></label>'
        )
        if booked:
            html += self._state(cell)
        if wanted != booked:  # unchanged: no line (calendrier.js adds it on a change)
            word = self.added if wanted else self.removed
            html += f'<span class="resa-change"><span aria-hidden="true">✎</span> {word}</span>'
        if reason and not said:
            html += (
                f'<span class="resa-reason" id="r-{ident}"><span aria-hidden="true">⊘</span> '
                f"{self._e(reason)}</span>"
            )
        if cell.note:
            html += f'<span class="resa-note">{self._e(cell.note)}</span>'
        return html + "</div>"
