"""Django forms built from a procedure's definition, one per step, and the answers shown back.

A field whose `show_if` points at an earlier step appears only when its condition is met; one
pointing at a field of the same step is shown with its condition in its help (the form works
without JavaScript) and is required and kept only when the condition is met."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.core.validators import RegexValidator
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from parvis.accounts.fields import PhoneField, PostalCodeField
from parvis.communes.dates import long_date
from parvis.demarches.definitions import all_fields, condition_met, is_required, resolve_date
from parvis.forms_renderer import ParvisBoundField
from parvis.uploads import check_upload

YES_NO = [("oui", gettext_lazy("Oui")), ("non", gettext_lazy("Non"))]
ADDRESS_PARTS = ("street", "postal_code", "city")
HONEYPOT_FIELD = "site_internet"
DOCUMENT_SUFFIX = "__document"  # a file field's companion: a document of the family's store


@dataclass(frozen=True)
class Member:
    """A member of the requester's household, as a « member » field offers it."""

    pk: int
    kind: str
    label: str


@dataclass(frozen=True)
class FileGroup:
    """A file field offered with the family's documents: the group's legend and help."""

    legend: str
    help_text: str
    optional: bool
    choice: str  # the name of the field choosing a stored document


def document_field_name(name: str) -> str:
    """The choice of a stored document offered next to the file field `name`."""
    return f"{name}{DOCUMENT_SUFFIX}"


def stored_document_text(document) -> str:
    """A document as the choice lists it: its name, its type and whom it concerns."""
    kind = document.get_doc_type_display()
    person = str(document.personne) if document.personne_id else _("tout le foyer")
    if document.label.strip().casefold() == str(kind).casefold():
        return _("%(label)s (%(person)s)") % {"label": document.label, "person": person}
    return _("%(label)s (%(type)s, %(person)s)") % {
        "label": document.label,
        "type": kind,
        "person": person,
    }


class ConditionalBoundField(ParvisBoundField):
    """A field required when another answer of its step says so: its help says when, and it is
    not marked « (facultatif) »."""

    @property
    def is_optional(self) -> bool:
        return False


def prefill_value(source: str, user):
    if user is None or not user.is_authenticated:
        return None
    if source == "user.address":
        return {"street": user.address, "postal_code": user.postal_code, "city": user.city}
    return getattr(user, source.removeprefix("user."), None) or None


class DateBound:
    def __init__(self, spec: str, *, lower: bool):
        self.spec, self.lower = spec, lower

    def __call__(self, value: date):
        bound = resolve_date(self.spec)
        if self.lower and value < bound:
            raise forms.ValidationError(
                _("La date doit être le %(date)s ou après.") % {"date": long_date(bound, "j F Y")}
            )
        if not self.lower and value > bound:
            raise forms.ValidationError(
                _("La date doit être le %(date)s ou avant.") % {"date": long_date(bound, "j F Y")}
            )


def _django_field(spec: dict, *, required: bool, members: list[Member]) -> forms.Field:
    kind = spec["type"]
    common = {"label": spec["label"], "required": required, "help_text": spec.get("help", "")}
    if kind in {"text", "textarea"}:
        validators = []
        if "pattern" in spec:
            validators.append(
                RegexValidator(
                    spec["pattern"],
                    spec.get("pattern_message") or _("Cette réponse n'a pas la forme attendue."),
                )
            )
        return forms.CharField(
            min_length=spec.get("min_length"),
            max_length=spec.get("max_length", 200 if kind == "text" else 5000),
            validators=validators,
            widget=forms.Textarea(attrs={"rows": 5}) if kind == "textarea" else forms.TextInput,
            **common,
        )
    if kind == "number":
        return forms.IntegerField(
            min_value=spec.get("min"),
            max_value=spec.get("max"),
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    if kind == "date":
        validators = []
        if "min_date" in spec:
            validators.append(DateBound(spec["min_date"], lower=True))
        if "max_date" in spec:
            validators.append(DateBound(spec["max_date"], lower=False))
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            validators=validators,
            **common,
        )
    if kind == "choice":
        widget = forms.RadioSelect if len(spec["choices"]) <= 6 else forms.Select
        choices = (
            spec["choices"]
            if widget is forms.RadioSelect
            else [("", _("— Choisissez —")), *spec["choices"]]
        )
        return forms.ChoiceField(choices=choices, widget=widget, **common)
    if kind == "multiple":
        return forms.MultipleChoiceField(
            choices=spec["choices"], widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == "yesno":
        return forms.ChoiceField(choices=YES_NO, widget=forms.RadioSelect, **common)
    if kind == "email":
        return forms.EmailField(
            max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}), **common
        )
    if kind == "phone":
        return PhoneField(**common)
    if kind == "file":
        return forms.FileField(
            widget=forms.ClearableFileInput(
                attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
            ),
            **{
                **common,
                "help_text": " ".join(
                    filter(None, [common["help_text"], _("PDF, JPEG ou PNG, 10 Mo au plus.")])
                ),
            },
        )
    if kind == "member":
        wanted = [m for m in members if spec.get("member_kind") in (None, m.kind)]
        return forms.TypedChoiceField(
            choices=[("", _("— Choisissez —")), *((str(m.pk), m.label) for m in wanted)],
            coerce=int,
            **common,
        )
    raise ValueError(kind)  # address is expanded by StepForm


class StepForm(forms.Form):
    """The fields of one step of a procedure."""

    def __init__(
        self,
        *args,
        procedure,
        step: int,
        answers: dict,
        user=None,
        members=(),
        attached=(),
        documents=(),
        **kwargs,
    ):
        self.procedure, self.step_number = procedure, step
        self.definition = procedure.definition
        self.step = self.definition["steps"][step - 1]
        self.previous_answers = answers
        self.members = list(members)
        self.attached = set(attached)  # file fields already answered in the draft
        # The documents of the family's store that may be joined instead of a new file (the
        # caller gives only those of the account's families, neither refused nor expired).
        self.documents = {document.pk: document for document in documents}
        self.document_fields: dict[str, str] = {}  # file field → its choice of a document
        self.file_groups: dict[str, FileGroup] = {}
        self.specs: list[dict] = []
        self.skipped: list[str] = []  # ruled out by an earlier answer: neither asked nor kept
        self.same_step_conditions: dict[str, dict] = {}
        step_names = {f["name"] for f in self.step["fields"]}
        initial = {}
        super().__init__(*args, **kwargs)
        for spec in self.step["fields"]:
            condition = spec.get("show_if")
            if (
                condition
                and condition["field"] not in step_names
                and not condition_met(spec, answers)
            ):
                self.skipped.append(spec["name"])
                continue  # depends on an earlier answer that rules it out
            required = is_required(spec)
            if condition and condition["field"] in step_names:
                self.same_step_conditions[spec["name"]] = spec
                required = False  # checked in clean(), once the other answer is known
            if spec["type"] == "file" and spec["name"] in self.attached:
                required = False  # a file is already joined; a new one replaces it
            self.specs.append(spec)
            value = answers.get(spec["name"])
            if value is None and "prefill" in spec:
                value = prefill_value(spec["prefill"], user)
            condition_help = (
                _condition_text(spec, self.definition)
                if condition and condition["field"] in step_names
                else ""
            )
            if spec["type"] == "address":
                # The condition and the help are said once, on the first of the three fields.
                self._add_address(
                    spec,
                    required,
                    value,
                    help_text=" ".join(filter(None, [condition_help, spec.get("help", "")])),
                )
                if condition_help and is_required(spec):
                    for part in ADDRESS_PARTS:
                        self.fields[
                            f"{spec['name']}__{part}"
                        ].bound_field_class = ConditionalBoundField
                continue
            field = _django_field(spec, required=required, members=self.members)
            if condition_help:
                field.help_text = " ".join(filter(None, [condition_help, str(field.help_text)]))
                if is_required(spec):
                    field.bound_field_class = ConditionalBoundField
            self.fields[spec["name"]] = field
            fitting = (
                {
                    pk: document
                    for pk, document in self.documents.items()
                    if document.doc_type in spec.get("document_types", [document.doc_type])
                }
                if spec["type"] == "file"
                else {}
            )
            if fitting:  # the stored documents of the types the field asks (any without)
                self._add_document_choice(
                    spec,
                    field,
                    fitting,
                    help_text=" ".join(filter(None, [condition_help, spec.get("help", "")])),
                )
            if value is not None and spec["type"] != "file":
                initial[spec["name"]] = (
                    value["id"] if spec["type"] == "member" and isinstance(value, dict) else value
                )
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label=_("Ne pas remplir ce champ"),
            required=False,
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )
        for name, value in initial.items():
            self.fields[name].initial = value

    def _add_document_choice(self, spec, field, documents: dict, *, help_text: str) -> None:
        """Two ways to answer a file field, shown as one group whose legend is the question
        (with its help): a new file, or a document already in the family's store. Exactly one
        is needed when the field is required (checked in clean())."""
        name = spec["name"]
        field.label = _("Joindre un fichier de votre appareil")
        field.help_text = _("PDF, JPEG ou PNG, 10 Mo au plus.")
        field.required = False
        field.bound_field_class = ConditionalBoundField  # the group's legend says « facultatif »
        choice = forms.TypedChoiceField(
            label=_("ou choisissez un document de votre espace de stockage sécurisé"),
            choices=[
                ("", _("— Aucun —")),
                *((str(pk), stored_document_text(d)) for pk, d in documents.items()),
            ],
            coerce=int,
            required=False,
            error_messages={
                "invalid_choice": _(
                    "Ce document n'est pas dans votre espace de stockage sécurisé, ou il ne "
                    "peut plus être joint (refusé ou expiré). Choisissez-en un autre dans la liste."
                )
            },
        )
        choice.bound_field_class = ConditionalBoundField
        self.fields[document_field_name(name)] = choice
        self.document_fields[name] = document_field_name(name)
        self.file_groups[name] = FileGroup(
            legend=spec["label"],
            help_text=help_text,
            optional=not is_required(spec),
            choice=document_field_name(name),
        )

    def _add_address(self, spec, required, value, help_text=""):
        value = value if isinstance(value, dict) else {}
        label = spec["label"]
        street = forms.CharField(
            label=_("%(label)s : numéro et voie") % {"label": label},
            help_text=help_text,
            max_length=200,
            required=required,
            widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
        )
        postal = PostalCodeField(
            label=_("%(label)s : code postal") % {"label": label},
            required=required,
            example=self.procedure.commune.postal_code,
        )
        city = forms.CharField(
            label=_("%(label)s : ville") % {"label": label},
            max_length=120,
            required=required,
            widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
        )
        for part, field in zip(ADDRESS_PARTS, (street, postal, city), strict=True):
            field.initial = value.get(part, "")
            self.fields[f"{spec['name']}__{part}"] = field

    @property
    def robot(self) -> bool:
        return bool((self.data.get(self.add_prefix(HONEYPOT_FIELD)) or "").strip())

    def visible_fields(self):
        return [field for field in super().visible_fields() if field.name != HONEYPOT_FIELD]

    @property
    def honeypot(self):
        return self[HONEYPOT_FIELD]

    def clean(self):
        cleaned = super().clean()
        merged = {**self.previous_answers, **self._raw_answers(cleaned)}
        for name, spec in self.same_step_conditions.items():
            if not (condition_met(spec, merged) and is_required(spec)):
                continue
            if spec["type"] == "address":
                # Each missing part is said next to it; a part already in error (a postal code
                # that is not one) keeps its own reason.
                for part in ADDRESS_PARTS:
                    part_name = f"{name}__{part}"
                    if part_name not in self.errors and not cleaned.get(part_name):
                        self.add_error(part_name, self.fields[part_name].error_messages["required"])
                continue
            if name in self.errors:
                continue  # already says why (a file refused by its checks…), not « obligatoire »
            if spec["type"] == "file" and name in self.attached:
                continue
            if self._empty(spec, cleaned):
                self.add_error(name, _("Ce champ est obligatoire."))
        for spec in self.specs:
            if spec["type"] != "file":
                continue
            name = spec["name"]
            upload = cleaned.get(name)
            if name in self.document_fields and not self._one_way(spec, cleaned):
                continue
            if upload:
                try:
                    check_upload(upload)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def _one_way(self, spec, cleaned) -> bool:
        """A file field offered with the family's documents: a new file or a stored document,
        not both; one of them when the field is required and nothing is joined yet. False
        (with the error next to the field, and neither kept) otherwise."""
        name = spec["name"]
        choice = self.document_fields[name]
        if cleaned.get(name) and cleaned.get(choice):
            self.add_error(
                name,
                _(
                    "Joignez un fichier ou choisissez un document de votre espace de stockage "
                    "sécurisé, pas les deux."
                ),
            )
            cleaned.pop(choice, None)
            return False
        if (
            not cleaned.get(name)
            and not cleaned.get(choice)
            and choice not in self.errors
            and is_required(spec)
            and name not in self.same_step_conditions  # checked above, once its condition is known
            and name not in self.attached
        ):
            self.add_error(
                name,
                _(
                    "Joignez un fichier ou choisissez un document de votre espace de stockage "
                    "sécurisé."
                ),
            )
            return False
        return True

    @staticmethod
    def _empty(spec, cleaned) -> bool:
        if spec["type"] == "address":
            return not all(cleaned.get(f"{spec['name']}__{part}") for part in ADDRESS_PARTS)
        if spec["type"] == "file" and cleaned.get(document_field_name(spec["name"])):
            return False  # a stored document answers it
        return cleaned.get(spec["name"]) in (None, "", [])

    def _raw_answers(self, cleaned) -> dict:
        answers = {}
        for spec in self.specs:
            name = spec["name"]
            if spec["type"] == "address":
                answers[name] = {part: cleaned.get(f"{name}__{part}", "") for part in ADDRESS_PARTS}
            elif spec["type"] == "file":
                continue
            elif spec["type"] == "member":
                member = next((m for m in self.members if m.pk == cleaned.get(name)), None)
                answers[name] = {"id": member.pk, "label": member.label} if member else None
            else:
                value = cleaned.get(name)
                answers[name] = value.isoformat() if isinstance(value, date) else value
        return answers

    def cleaned_answers(self) -> dict:
        """The step's answers, JSON-ready; those whose condition is not met are dropped."""
        answers = self._raw_answers(self.cleaned_data)
        merged = {**self.previous_answers, **answers}
        for name, spec in self.same_step_conditions.items():
            if not condition_met(spec, merged):
                answers[name] = None
        for name in self.skipped:
            answers[name] = None  # an answer given before the earlier one changed
        return answers

    def cleaned_files(self) -> dict:
        """{field name: uploaded file} of the files sent with this step."""
        return {
            spec["name"]: self.cleaned_data[spec["name"]]
            for spec in self.specs
            if spec["type"] == "file" and self.cleaned_data.get(spec["name"])
        }

    def cleaned_documents(self) -> dict:
        """{field name: stored document} of the documents of the family's store chosen with
        this step, to be joined as copies."""
        chosen = {}
        for name, choice in self.document_fields.items():
            pk = self.cleaned_data.get(choice)
            if pk and name not in self.errors and choice not in self.errors:
                chosen[name] = self.documents[pk]
        return chosen


# Where the steps ask the requester's own name and e-mail: the fields an account pre-fills.
CONTACT_NAME_SOURCES = ("user.first_name", "user.last_name")
CONTACT_EMAIL_SOURCE = "user.email"
CONTACT_NAME_MAX_LENGTH = 200  # Demande.contact_name


@dataclass(frozen=True)
class ContactLine:
    """The requester's name or e-mail as a step asked it, and that step (for « Modifier »)."""

    field: str  # the ContactForm field it stands for
    label: str
    value: str
    step: int


def contact_from_steps(definition: dict, answers: dict) -> dict[str, ContactLine]:
    """{ContactForm field: line} of the requester's name and e-mail that the steps already
    asked (« Vos coordonnées »: the fields an account would pre-fill with its own), so that a
    request without an account does not ask them again on the summary. Only what was answered;
    an e-mail field not meant for the requester (the young person's…) does not count."""
    names: dict[str, tuple[str, int]] = {}
    email = None
    for number, step in enumerate(definition["steps"], start=1):
        for spec in step["fields"]:
            value = answers.get(spec["name"])
            if not value or not isinstance(value, str) or not condition_met(spec, answers):
                continue
            source = spec.get("prefill", "")
            if source in CONTACT_NAME_SOURCES and spec["type"] == "text":
                names.setdefault(source, (value.strip(), number))
            elif source == CONTACT_EMAIL_SOURCE and spec["type"] == "email" and email is None:
                email = (value.strip(), number)
    lines = {}
    if names:
        name = " ".join(names[source][0] for source in CONTACT_NAME_SOURCES if source in names)
        lines["contact_name"] = ContactLine(
            field="contact_name",
            label=_("Vos nom et prénom"),
            value=name[:CONTACT_NAME_MAX_LENGTH].strip(),
            step=min(number for _value, number in names.values()),
        )
    if email:
        lines["contact_email"] = ContactLine(
            field="contact_email", label=_("Votre courriel"), value=email[0], step=email[1]
        )
    return lines


class ContactForm(forms.Form):
    """Who files a request without an account: to write back, and to send the tracking code.
    What the steps already asked (`asked`, from contact_from_steps) is not asked again."""

    contact_name = forms.CharField(
        label=gettext_lazy("Vos nom et prénom"),
        max_length=CONTACT_NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = forms.EmailField(
        label=gettext_lazy("Votre courriel"),
        max_length=254,
        help_text=gettext_lazy(
            "Le numéro de votre demande, son code de suivi et les réponses de la mairie vous "
            "seront envoyés à cette adresse."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    site_internet = forms.CharField(
        label=gettext_lazy("Ne pas remplir ce champ"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, asked: dict[str, ContactLine] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = asked or {}
        for name in self.asked:
            del self.fields[name]

    def visible_fields(self):
        return [field for field in super().visible_fields() if field.name != HONEYPOT_FIELD]

    @property
    def honeypot(self):
        return self[HONEYPOT_FIELD]

    @property
    def robot(self) -> bool:
        return bool((self.data.get(HONEYPOT_FIELD) or "").strip())

    def contact(self) -> dict[str, str]:
        """{"contact_name", "contact_email"} of a valid form: typed here or asked by the steps."""
        typed = {
            name: self.cleaned_data[name]
            for name in ("contact_name", "contact_email")
            if name in self.fields
        }
        return {**{name: line.value for name, line in self.asked.items()}, **typed}


def _condition_text(spec, definition) -> str:
    condition = spec["show_if"]
    target = next(f for f in all_fields(definition) if f["name"] == condition["field"])
    labels = dict(target.get("choices") or YES_NO)
    values = [condition["equals"]] if "equals" in condition else condition["in"]
    shown = ", ".join(f"« {labels.get(v, v)} »" for v in values)
    return _("(Si vous avez répondu %(answer)s à « %(question)s ».)") % {
        "answer": shown,
        "question": target["label"],
    }


@dataclass(frozen=True)
class AnswerLine:
    label: str
    value: str


@dataclass(frozen=True)
class AnswerSection:
    title: str
    lines: list[AnswerLine]


def display_answers(definition: dict, answers: dict, attachments=()) -> list[AnswerSection]:
    """The answers as the requester and the agents read them, step by step (plain text: the
    templates escape it)."""
    files = {}
    for attachment in attachments:
        if attachment.field_name:
            files.setdefault(attachment.field_name, []).append(attachment.original_name)
    sections = []
    for step in definition["steps"]:
        lines = []
        for spec in step["fields"]:
            if not condition_met(spec, answers):
                continue
            value = answers.get(spec["name"])
            if spec["type"] == "file":
                text = ", ".join(files.get(spec["name"], [])) or _("Aucun fichier")
            else:
                text = _display_value(spec, value)
            lines.append(AnswerLine(label=spec["label"], value=text))
        sections.append(AnswerSection(title=step["title"], lines=lines))
    return sections


def _display_value(spec, value) -> str:
    if value in (None, "", [], {}):
        return _("Non renseigné")
    kind = spec["type"]
    if kind in {"choice", "yesno"}:
        return str(dict(spec.get("choices") or YES_NO).get(value, value))
    if kind == "multiple":
        labels = dict(spec["choices"])
        return ", ".join(str(labels.get(v, v)) for v in value)
    if kind == "date":
        return date_format(date.fromisoformat(value), "d/m/Y")
    if kind == "address":
        return ", ".join(
            filter(
                None,
                [
                    value.get("street"),
                    " ".join(filter(None, [value.get("postal_code"), value.get("city")])),
                ],
            )
        )
    if kind == "member":
        return value.get("label", "")
    return str(value)
