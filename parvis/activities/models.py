"""Activities (périscolaire, canteen, leisure centres), their units, registrations
(« inscriptions ») and day-by-day bookings (« réservations ») with capacity and waiting lists."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from parvis.activities.rules import RuleError, validate_rule
from parvis.communes.models import CommuneChild, CommuneOwned, Service
from parvis.families.models import CustodySide


def validate_deadline_rule(value):
    try:
        validate_rule(value)
    except RuleError as error:
        raise ValidationError(str(error)) from error


def validate_opening_rule(value):
    try:
        validate_rule(value, opening=True)
    except RuleError as error:
        raise ValidationError(str(error)) from error


def validate_weekdays(value):
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in value
    ):
        raise ValidationError(_("Une liste de jours de 0 (lundi) à 6 (dimanche)."))


class Runs(models.TextChoices):
    SCHOOL = "school", _("Pendant l'année scolaire (hors vacances)")
    HOLIDAYS = "holidays", _("Pendant les vacances scolaires (session)")


class Activity(CommuneOwned):
    name = models.CharField(_("nom"), max_length=120)  # « Accueil Périscolaire Maternelle »
    slug = models.SlugField(_("identifiant dans l'adresse"), max_length=80)
    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="activities"
    )
    description = models.TextField(_("description"), blank=True)
    runs = models.CharField(
        _("fonctionne"), max_length=8, choices=Runs.choices, default=Runs.SCHOOL
    )
    start = models.DateField(_("du"))
    end = models.DateField(_("au (inclus)"))
    levels = models.JSONField(
        _("niveaux acceptés"),
        default=list,
        blank=True,
        help_text=_("« maternelle », « elementaire » ; vide : tous."),
    )
    booking_opens = models.JSONField(
        _("ouverture des réservations"),
        null=True,
        blank=True,
        validators=[validate_opening_rule],
        help_text=_(
            'Par exemple {"kind": "weeks_before", "weeks": 6} ; vide : dès l\'inscription.'
        ),
    )
    booking_deadline = models.JSONField(
        _("date limite pour réserver"),
        validators=[validate_deadline_rule],
        help_text=_(
            'Par exemple {"kind": "days_before", "days": 1, "time": "09:00", '
            '"working_days": true} : la veille ouvrée à 09:00.'
        ),
    )
    cancel_deadline = models.JSONField(
        _("date limite pour annuler"), validators=[validate_deadline_rule]
    )
    needs_instruction = models.BooleanField(
        _("les réservations attendent un agent"),
        default=False,
        help_text=_("Sinon elles sont enregistrées aussitôt (« en attente d'instruction »)."),
    )
    requires_complete_file = models.BooleanField(
        _("dossier administratif complet exigé"), default=False
    )
    offer_hours = models.PositiveSmallIntegerField(
        _("délai pour accepter une place libérée (heures)"), default=24
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("durée approximative de la démarche (minutes)"), default=5
    )
    position = models.PositiveSmallIntegerField(_("ordre d'affichage"), default=0)

    class Meta:
        verbose_name = _("activité")
        verbose_name_plural = _("activités")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["commune", "slug"], name="activity_slug_unique"),
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="activity_end_after_start"
            ),
        ]

    def __str__(self):
        return self.name


class Unit(CommuneOwned):
    """A bookable part of an activity: « Acc Matin » (PERI_AM_M), the meal, the evening."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(_("code"), max_length=20)
    label = models.CharField(_("libellé"), max_length=80)
    starts_at = models.TimeField(_("de"))
    ends_at = models.TimeField(_("à"))
    weekdays = models.JSONField(
        _("jours (0 = lundi)"), default=list, validators=[validate_weekdays]
    )
    capacity = models.PositiveSmallIntegerField(
        _("places par jour"),
        null=True,
        blank=True,
        help_text=_("Vide : pas de limite (la cantine ne refuse jamais un élève)."),
    )
    overbooking = models.PositiveSmallIntegerField(_("surréservation prévue (places)"), default=0)
    position = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("unité")
        verbose_name_plural = _("unités")
        ordering = ["position", "starts_at", "code"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "code"], name="unit_code_unique"),
        ]

    def __str__(self):
        return f"{self.label} ({self.code})"

    @property
    def seats(self) -> int | None:
        return None if self.capacity is None else self.capacity + self.overbooking


class ActivityClosure(CommuneOwned):
    """A day an agent closed (strike, works): for one activity, or for all when empty."""

    activity = models.ForeignKey(
        Activity, on_delete=models.CASCADE, null=True, blank=True, related_name="closures"
    )
    day = models.DateField(_("jour"))
    reason = models.CharField(_("motif"), max_length=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fermeture")
        verbose_name_plural = _("fermetures")
        ordering = ["day"]
        # One closure a day per activity, and one of all the activities (two clicks at once on
        # « Fermer » meet here: services_instruction.open_closure returns the first one).
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "activity", "day"],
                condition=models.Q(activity__isnull=False),
                name="closure_once_per_activity_day",
            ),
            models.UniqueConstraint(
                fields=["commune", "day"],
                condition=models.Q(activity__isnull=True),
                name="closure_once_per_day_for_all",
            ),
        ]

    def __str__(self):
        return f"{self.day:%d/%m/%Y} — {self.reason}"


class InscriptionStatus(models.TextChoices):
    EN_ATTENTE = "en_attente", _("En attente d'instruction")
    ACCEPTEE = "acceptee", _("Acceptée")
    REFUSEE = "refusee", _("Refusée")


class Inscription(CommuneOwned):
    """A child registered to an activity for its period; booking needs it accepted."""

    famille = models.ForeignKey(
        "families.Famille", on_delete=models.CASCADE, related_name="inscriptions"
    )
    child = models.ForeignKey(
        "families.Personne", on_delete=models.CASCADE, related_name="inscriptions"
    )
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="inscriptions")
    status = models.CharField(
        _("état"),
        max_length=12,
        choices=InscriptionStatus.choices,
        default=InscriptionStatus.EN_ATTENTE,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # The family's request (« Créer une inscription »): its status is the inscription's, for
    # the family (« Mes demandes ») and for the agent; empty for inscriptions made by an agent.
    demande = models.OneToOneField(
        "demarches.Demande",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inscription",
    )
    refusal_reason = models.CharField(_("motif du refus"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("inscription")
        verbose_name_plural = _("inscriptions")
        constraints = [
            models.UniqueConstraint(fields=["child", "activity"], name="inscription_unique"),
        ]

    def __str__(self):
        return f"{self.child} — {self.activity}"


class BookingStatus(models.TextChoices):
    RESERVEE = "reservee", _("Réservée")
    EN_ATTENTE = "en_attente", _("En attente d'instruction")
    LISTE_ATTENTE = "liste_attente", _("Liste d'attente")
    PROPOSEE = "proposee", _("Place proposée")


# A booking holds a seat of its unit and day while it is one of these: UnitDay.taken counts them.
SEAT_HOLDING = (BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE, BookingStatus.PROPOSEE)

# The only moves of a booking: activities.reservations.move refuses any other. None is « no
# booking »: a booking is made from it, and a booking cancelled, refused, declined, expired or
# removed by a closure goes back to it (the row is deleted, its history stays in BookingEvent).
# A seat is offered from the waiting list (liste d'attente → proposée) by `move` itself only,
# when a seat is given back or seats are added.
BOOKING_TRANSITIONS: dict[str | None, set[str | None]] = {
    None: {BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE, BookingStatus.LISTE_ATTENTE},
    BookingStatus.EN_ATTENTE: {BookingStatus.RESERVEE, None},
    BookingStatus.RESERVEE: {None},
    BookingStatus.LISTE_ATTENTE: {BookingStatus.PROPOSEE, None},
    BookingStatus.PROPOSEE: {BookingStatus.RESERVEE, BookingStatus.EN_ATTENTE, None},
}


class Reservation(CommuneOwned):
    """A child booked (or waiting) on one unit and day. A cancelled booking is deleted (its
    history stays in BookingEvent); the waiting list is the rows « liste d'attente » of a unit
    and day in order of `queued_at`. Its status moves along BOOKING_TRANSITIONS, written by
    activities.reservations.move only (with the seat counter, the history and the audit)."""

    # Issue 23, each booking written costs what its table checks and indexes (README « The
    # rush, a third evening »): no index of their own for the family and the unit, the
    # indexes below begin with them. On PostgreSQL no key nor index of its own for the commune
    # either (migration activities 0009, DropCoveredCommuneKey): its key to the child,
    # (commune_id, child_id), refuses a commune that does not exist, and the unique index
    # begins with commune_id; SQLite keeps Django's.
    # RESTRICT: a family or a child is not deleted with bookings that hold seats (the counters
    # would keep them taken); the bookings go first, through reservations.move.
    famille = models.ForeignKey(
        "families.Famille", on_delete=models.RESTRICT, related_name="reservations",
        db_index=False,
    )  # fmt: skip
    child = models.ForeignKey(
        "families.Personne", on_delete=models.RESTRICT, related_name="reservations"
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.CASCADE, related_name="reservations", db_index=False
    )
    day = models.DateField(_("jour"))
    status = models.CharField(_("état"), max_length=14, choices=BookingStatus.choices)
    queued_at = models.DateTimeField(_("demandée le"), auto_now_add=True)
    offer_expires_at = models.DateTimeField(_("offre valable jusqu'au"), null=True, blank=True)

    class Meta:
        verbose_name = _("réservation")
        verbose_name_plural = _("réservations")
        ordering = ["day", "unit__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "unit", "day"], name="reservation_unique_per_child_unit_day"
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "day", "status"], name="reservation_seat_idx"),
            models.Index(fields=["famille", "day"], name="reservation_family_idx"),
        ]

    def __str__(self):
        return f"{self.child} — {self.unit.code} — {self.day:%d/%m/%Y}"


class UnitDay(CommuneChild):
    """The seats taken on a unit and day: the row a booking locks, so two families validating
    at the same instant cannot both take the last seat (on PostgreSQL and SQLite alike).
    `taken` is the seats held (SEAT_HOLDING) and is written by activities.reservations only."""

    commune_parent = "unit"

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    taken = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="unit_day_unique"),
        ]

    def __str__(self):
        return f"{self.unit_id} {self.day} {self.taken}"


class BookingEvent(CommuneChild):
    """History of the bookings: who added or removed which day, and what it became.

    Its rows carry no database key (issue 23): an append-only history written only by
    reservations.move, in the transaction and from the very values of the bookings it records,
    whose keys the database checks; five triggers a row were half of the database's work in
    « Valider ». Django's deletion collector still deletes them with their family, child or
    unit and clears the actor (`on_delete`, in Python, as before)."""

    commune_parent = "famille"

    commune = models.ForeignKey(
        "communes.Commune", verbose_name=_("commune"), on_delete=models.CASCADE,
        db_constraint=False,
    )  # fmt: skip
    famille = models.ForeignKey(
        "families.Famille", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    child = models.ForeignKey(
        "families.Personne", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField()
    action = models.CharField(max_length=12)  # added, removed, queued, offered, promoted
    status = models.CharField(max_length=14, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.action} {self.unit_id} {self.day}"


class AbsenceReason(models.TextChoices):
    MALADIE = "maladie", _("Maladie")
    FAMILLE = "famille", _("Raison familiale")
    AUTRE = "autre", _("Autre raison")


class Absence(CommuneOwned):
    """A child declared absent (« absent aujourd'hui / demain ») from `first_day` to `last_day`:
    the bookings of those days stay (billing needs them) and count as justified or not per the
    commune's rule (a certificate within `absence_certificate_hours` of the first day, at least
    `absence_min_days` consecutive days), kept in `justified` by the absences' services."""

    famille = models.ForeignKey("families.Famille", on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(
        "families.Personne", on_delete=models.CASCADE, related_name="absences"
    )
    first_day = models.DateField(_("du"))
    last_day = models.DateField(_("au (inclus)"))
    reason = models.CharField(_("motif"), max_length=10, choices=AbsenceReason.choices)
    comment = models.CharField(_("précision"), max_length=300, blank=True)
    certificate = models.ForeignKey(
        "families.Document",
        verbose_name=_("certificat"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    certificate_at = models.DateTimeField(_("certificat reçu le"), null=True, blank=True)
    justified = models.BooleanField(_("justifiée"), default=False)
    justification = models.CharField(_("pourquoi"), max_length=300, blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    declared_at = models.DateTimeField(_("déclarée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["-first_day", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")),
                name="absence_last_after_first",
            ),
        ]
        indexes = [models.Index(fields=["child", "first_day"], name="absence_child_idx")]

    def __str__(self):
        return f"{self.child} — {self.first_day:%d/%m/%Y}–{self.last_day:%d/%m/%Y}"


class Attendance(CommuneOwned):
    """What the agent ticked on the register: the child present or absent on a unit and day.
    A presence without a Reservation is an unbooked presence (billed with a surcharge)."""

    famille = models.ForeignKey("families.Famille", on_delete=models.CASCADE, related_name="+")
    child = models.ForeignKey(
        "families.Personne", on_delete=models.CASCADE, related_name="attendances"
    )
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="attendances")
    day = models.DateField(_("jour"))
    present = models.BooleanField(_("présent"))
    booked = models.BooleanField(_("réservé"), help_text=_("Une réservation existait ce jour."))
    late_pickup = models.BooleanField(
        _("retard le soir"),
        default=False,
        help_text=_("L'enfant a été repris après l'heure de fin de l'unité."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("présence")
        verbose_name_plural = _("présences")
        constraints = [
            models.UniqueConstraint(
                fields=["child", "unit", "day"], name="attendance_unique_per_child_unit_day"
            ),
        ]
        indexes = [models.Index(fields=["unit", "day"], name="attendance_unit_day_idx")]

    def __str__(self):
        return f"{self.child} — {self.unit.code} — {self.day:%d/%m/%Y}"


class BookingPreferences(CommuneOwned):
    """An account's calendar feed (a private, revocable token) and whether it gets the reminder
    the day before a booking deadline when next week has nothing booked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="booking_preferences"
    )
    deadline_reminders = models.BooleanField(
        _("me rappeler la date limite quand la semaine suivante est vide"), default=True
    )
    feed_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    feed_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("préférences de réservation")
        verbose_name_plural = _("préférences de réservation")

    def __str__(self):
        return str(self.user)


class ReminderSent(CommuneChild):
    """One reminder per account, activity and week: running the command twice sends nothing
    twice."""

    commune_parent = "activity"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()  # the Monday of the week the reminder was about
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "activity", "week"], name="reminder_once_per_week"
            ),
        ]

    def __str__(self):
        return f"{self.user_id} {self.activity_id} {self.week}"


class CustodyActivity(CommuneOwned):
    """Under the custody rule « par activité » (families.SharedCustody), which household pays
    one activity of the child; the activities without a line go to the custody's
    `first_side`."""

    custody = models.ForeignKey(
        "families.SharedCustody", on_delete=models.CASCADE, related_name="activities"
    )
    activity = models.ForeignKey(
        Activity, verbose_name=_("activité"), on_delete=models.CASCADE, related_name="+"
    )
    side = models.CharField(
        _("foyer qui paie"),
        max_length=5,
        choices=CustodySide.choices,
    )

    class Meta:
        verbose_name = _("activité d'une garde partagée")
        verbose_name_plural = _("activités d'une garde partagée")
        constraints = [
            models.UniqueConstraint(fields=["custody", "activity"], name="custody_activity_unique")
        ]

    def __str__(self):
        return f"{self.activity} → {self.get_side_display()}"
