"""The procedure builder at the guichet (issue 21), under /<commune>/guichet/concepteur/: the
commune's procedures with their state and usage; create, copy, take from the library, import
and export; steps and fields (every option of each type, « afficher si » chosen from lists,
reordered with « Monter » / « Descendre » buttons or by drag and drop where JavaScript runs);
documents; e-mails and processing time; the preview as a citizen sees it; publish, versions and
restore; switch on and off; share in the library.

For a « concepteur de démarches » or the administrator (accounts.agents.builder_required).
Thin views: reads from selectors_builder, writes through services_builder (audited)."""

from __future__ import annotations

import copy
import json

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from parvis.accounts.agents import builder_required
from parvis.demarches import builder, services_builder
from parvis.demarches.definitions import NAME_RE, DefinitionError, is_required
from parvis.demarches.forms import StepForm, display_answers
from parvis.demarches.forms_wizard import field_items, valid_part
from parvis.demarches.guichet import selectors_builder as selectors
from parvis.demarches.guichet.forms_builder import (
    TYPE_LABELS,
    CreateForm,
    DocumentsForm,
    FieldEditForm,
    ImportForm,
    NewFieldForm,
    SettingsForm,
    StepEditForm,
    WorkflowForm,
    workflow_initial,
)
from parvis.demarches.models import Procedure, ProcedureState

SECTION = "backoffice:concepteur"
PREVIEW_SESSION = "parvis.demarches.apercu"  # {procedure pk: {"answers": {}, "step": n}}


def _url(procedure: Procedure, url_name: str = "concepteur_demarche", **kwargs) -> str:
    return reverse(
        f"backoffice:{url_name}",
        kwargs={"commune": procedure.commune.slug, "pk": procedure.pk, **kwargs},
    )


def _procedure(request, pk) -> Procedure:
    return selectors.procedure_for(request.commune, pk)


def _step_index(definition: dict, number: int) -> int:
    if not 1 <= number <= len(definition["steps"]):
        raise Http404
    return number - 1


def _field_place(definition: dict, name: str) -> tuple[int, int]:
    place = builder.find_field(definition, name) if NAME_RE.match(name or "") else None
    if place is None:
        raise Http404
    return place


def _edit(request, procedure: Procedure, definition: dict, what: str):
    services_builder.save_draft(
        procedure=procedure, actor=request.user, definition=definition, what=what
    )


def _shipped() -> str:
    return _("Parvis")


# --- The list, create, import, the library -------------------------------------------------------


@never_cache
@require_GET
@builder_required
def liste(request):
    rows = list(selectors.procedures(request.commune))
    return render(
        request,
        "demarches/guichet/builder/liste.html",
        {"procedures": rows, "states": ProcedureState, "current_section": SECTION},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def creer(request):
    commune = request.commune
    form = CreateForm(request.POST or None, commune=commune)
    if request.method == "POST" and form.is_valid():
        procedure = services_builder.create_procedure(
            commune=commune, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Démarche créée : ajoutez ses étapes et ses champs."))
        return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/creer.html",
        {"form": form, "current_section": SECTION},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def importer(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            procedure = services_builder.create_from_entry(
                commune=request.commune,
                entry=form.cleaned_data["file"],
                actor=request.user,
                source=_("fichier importé"),
            )
        except (DefinitionError, ValueError) as error:
            form.add_error("file", _("Fichier refusé : %(error)s") % {"error": error})
        else:
            messages.success(request, _("Démarche importée, en brouillon."))
            return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/importer.html",
        {"form": form, "current_section": SECTION},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def bibliotheque(request):
    if request.method == "POST":
        item = selectors.library_item(request.POST.get("entree", ""), shipped_label=_shipped())
        try:
            procedure = services_builder.create_from_entry(
                commune=request.commune,
                entry=copy.deepcopy(item.entry),
                actor=request.user,
                source=_("bibliothèque : %(source)s") % {"source": item.source},
            )
        except (DefinitionError, ValueError) as error:
            messages.error(request, str(error))
            return redirect("backoffice:concepteur_bibliotheque", commune=request.commune.slug)
        messages.success(
            request,
            _("« %(title)s » est copiée dans vos démarches, en brouillon.")
            % {"title": procedure.title},
        )
        return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/bibliotheque.html",
        {"items": selectors.library(shipped_label=_shipped()), "current_section": SECTION},
    )


# --- One procedure -------------------------------------------------------------------------------


def _condition_text(spec: dict, definition: dict) -> str:
    condition = spec.get("show_if")
    if not condition:
        return ""
    place = builder.find_field(definition, condition["field"])
    target = definition["steps"][place[0]]["fields"][place[1]] if place else None
    labels = dict(builder.condition_values(target)) if target else {}
    values = condition.get("in", [condition.get("equals")])
    return _("Affiché si « %(field)s » vaut %(values)s") % {
        "field": target["label"] if target else condition["field"],
        "values": _(" ou ").join(f"« {labels.get(v, v)} »" for v in values),
    }


def _outline(procedure: Procedure) -> tuple[list[dict], tuple | None]:
    definition = procedure.working_definition
    problem = builder.problem(definition)
    steps = []
    for s, step in enumerate(definition.get("steps", []), start=1):
        fields = step.get("fields", [])
        steps.append(
            {
                "number": s,
                "title": step.get("title", ""),
                "intro": step.get("intro", ""),
                "first": s == 1,
                "last": s == len(definition["steps"]),
                "problem": problem[0] if problem and problem[1] == s and not problem[2] else "",
                "fields": [
                    {
                        "spec": field,
                        "number": f,
                        "type_label": TYPE_LABELS.get(field.get("type"), field.get("type")),
                        "required": is_required(field) if field.get("type") else False,
                        "condition": _condition_text(field, definition),
                        "first": f == 1,
                        "last": f == len(fields),
                        "problem": problem[0]
                        if problem and problem[1] == s and problem[2] == f
                        else "",
                    }
                    for f, field in enumerate(fields, start=1)
                ],
            }
        )
    return steps, problem


@never_cache
@require_GET
@builder_required
def demarche(request, pk):
    procedure = _procedure(request, pk)
    steps, problem = _outline(procedure)
    return render(
        request,
        "demarches/guichet/builder/demarche.html",
        {
            "procedure": procedure,
            "steps": steps,
            "problem": problem[0] if problem else "",
            "publishable": problem is None and procedure.draft is not None,
            "broken": problem is not None,
            "documents": procedure.working_definition.get("documents", []),
            "new_step": StepEditForm(auto_id="id_nouvelle_etape_%s"),
            "current_section": SECTION,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def parametres(request, pk):
    procedure = _procedure(request, pk)
    # The form changes its instance as it checks: a copy, the procedure changes in the service.
    form = SettingsForm(
        request.POST or None, instance=copy.copy(procedure), commune=request.commune
    )
    if request.method == "POST" and form.is_valid():
        services_builder.update_settings(
            procedure=procedure, actor=request.user, **form.cleaned_data
        )
        messages.success(request, _("Paramètres enregistrés."))
        return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/parametres.html",
        {"procedure": procedure, "form": form, "current_section": SECTION},
    )


# --- Steps ---------------------------------------------------------------------------------------


@require_POST
@builder_required
def etape_ajouter(request, pk):
    procedure = _procedure(request, pk)
    form = StepEditForm(request.POST, auto_id="id_nouvelle_etape_%s")
    if not form.is_valid():
        steps, problem = _outline(procedure)
        return render(
            request,
            "demarches/guichet/builder/demarche.html",
            {
                "procedure": procedure,
                "steps": steps,
                "problem": problem[0] if problem else "",
                "publishable": False,
                "broken": problem is not None,
                "documents": procedure.working_definition.get("documents", []),
                "new_step": form,
                "current_section": SECTION,
            },
        )
    definition = builder.add_step(
        builder.working_copy(procedure.working_definition), **form.cleaned_data
    )
    _edit(
        request,
        procedure,
        definition,
        _("étape « %(t)s » ajoutée") % {"t": form.cleaned_data["title"]},
    )
    messages.success(request, _("Étape ajoutée."))
    return redirect(f"{_url(procedure)}#etape-{len(definition['steps'])}")


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def etape(request, pk, number):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    index = _step_index(definition, number)
    step = definition["steps"][index]
    form = StepEditForm(
        request.POST or None, initial={"title": step["title"], "intro": step.get("intro", "")}
    )
    if request.method == "POST" and form.is_valid():
        builder.update_step(definition, index, **form.cleaned_data)
        _edit(request, procedure, definition, _("étape %(n)s modifiée") % {"n": number})
        messages.success(request, _("Étape enregistrée."))
        return redirect(f"{_url(procedure)}#etape-{number}")
    return render(
        request,
        "demarches/guichet/builder/etape.html",
        {"procedure": procedure, "number": number, "form": form, "current_section": SECTION},
    )


@require_POST
@builder_required
def etape_supprimer(request, pk, number):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    index = _step_index(definition, number)
    title = definition["steps"][index]["title"]
    builder.remove_step(definition, index)
    _edit(request, procedure, definition, _("étape « %(t)s » supprimée") % {"t": title})
    messages.success(request, _("Étape « %(title)s » supprimée.") % {"title": title})
    return redirect(_url(procedure))


@require_POST
@builder_required
def etape_deplacer(request, pk, number):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    index = _step_index(definition, number)
    delta = -1 if request.POST.get("sens") == "monter" else 1
    if builder.move(definition["steps"], index, delta):
        _edit(request, procedure, definition, _("étape %(n)s déplacée") % {"n": number})
        messages.success(
            request,
            _("Étape « %(title)s » déplacée en position %(n)s.")
            % {"title": definition["steps"][index + delta]["title"], "n": number + delta},
        )
    moved = number + delta if 0 <= index + delta < len(definition["steps"]) else number
    return redirect(f"{_url(procedure)}#etape-{moved}")


@require_POST
@builder_required
def etape_ordre(request, pk, number):
    """The order of a step's fields after a drag and drop (the JavaScript enhancement): every
    field of the step, each once."""
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    index = _step_index(definition, number)
    fields = definition["steps"][index]["fields"]
    order = [name for name in request.POST.get("ordre", "").split(",") if name]
    by_name = {field["name"]: field for field in fields}
    if sorted(order) != sorted(by_name) or len(set(order)) != len(order):
        messages.error(request, _("L'ordre envoyé ne correspond pas aux champs de l'étape."))
        return redirect(_url(procedure))
    definition["steps"][index]["fields"] = [by_name[name] for name in order]
    _edit(request, procedure, definition, _("champs de l'étape %(n)s réordonnés") % {"n": number})
    messages.success(request, _("Ordre des champs enregistré."))
    return redirect(f"{_url(procedure)}#etape-{number}")


# --- Fields --------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def champ_ajouter(request, pk, number):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    index = _step_index(definition, number)
    form = NewFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        label, kind = form.cleaned_data["label"].strip(), form.cleaned_data["type"]
        field = {"name": builder.new_name(definition, label), "label": label, "type": kind}
        if kind in {"choice", "multiple"}:
            field["choices"] = [["choix_1", _("Choix 1")], ["choix_2", _("Choix 2")]]
        builder.set_field(definition, index, field)
        _edit(request, procedure, definition, _("champ « %(l)s » ajouté") % {"l": label})
        messages.success(request, _("Champ ajouté : précisez ses options."))
        return redirect(_url(procedure, "concepteur_champ", name=field["name"]))
    return render(
        request,
        "demarches/guichet/builder/champ_ajouter.html",
        {
            "procedure": procedure,
            "number": number,
            "step_title": definition["steps"][index]["title"],
            "form": form,
            "current_section": SECTION,
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def champ(request, pk, name):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    place = _field_place(definition, name)
    spec = definition["steps"][place[0]]["fields"][place[1]]
    form = FieldEditForm(request.POST or None, spec=spec, definition=definition, place=place)
    if request.method == "POST" and form.is_valid():
        builder.set_field(definition, place[0], form.result, at=place[1])
        _edit(
            request,
            procedure,
            definition,
            _("champ « %(l)s » modifié") % {"l": form.result["label"]},
        )
        messages.success(
            request, _("Champ « %(label)s » enregistré.") % {"label": form.result["label"]}
        )
        return redirect(f"{_url(procedure)}#champ-{name}")
    return render(
        request,
        "demarches/guichet/builder/champ.html",
        {
            "procedure": procedure,
            "spec": spec,
            "step_number": place[0] + 1,
            "form": form,
            "dependants": builder.dependants(definition, name),
            "current_section": SECTION,
        },
    )


@require_POST
@builder_required
def champ_supprimer(request, pk, name):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    place = _field_place(definition, name)
    label = definition["steps"][place[0]]["fields"][place[1]]["label"]
    dependants = builder.dependants(definition, name)
    if dependants:
        messages.error(
            request,
            _(
                "« %(label)s » ne peut pas être supprimé : %(others)s s'affichent selon sa "
                "réponse. Modifiez d'abord leur condition."
            )
            % {"label": label, "others": ", ".join(f"« {d} »" for d in dependants)},
        )
        return redirect(f"{_url(procedure)}#champ-{name}")
    builder.remove_field(definition, name)
    _edit(request, procedure, definition, _("champ « %(l)s » supprimé") % {"l": label})
    messages.success(request, _("Champ « %(label)s » supprimé.") % {"label": label})
    return redirect(f"{_url(procedure)}#etape-{place[0] + 1}")


@require_POST
@builder_required
def champ_deplacer(request, pk, name):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    step_index, index = _field_place(definition, name)
    delta = -1 if request.POST.get("sens") == "monter" else 1
    fields = definition["steps"][step_index]["fields"]
    if builder.move(fields, index, delta):
        _edit(
            request,
            procedure,
            definition,
            _("champ « %(l)s » déplacé") % {"l": fields[index + delta]["label"]},
        )
        messages.success(
            request,
            _("« %(label)s » déplacé en position %(n)s.")
            % {"label": fields[index + delta]["label"], "n": index + delta + 1},
        )
    return redirect(f"{_url(procedure)}#champ-{name}")


# --- Documents, workflow -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def documents(request, pk):
    procedure = _procedure(request, pk)
    definition = builder.working_copy(procedure.working_definition)
    form = DocumentsForm(
        request.POST or None, initial={"documents": "\n".join(definition.get("documents", []))}
    )
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["documents"]:
            definition["documents"] = form.cleaned_data["documents"]
        else:
            definition.pop("documents", None)
        _edit(request, procedure, definition, _("pièces à fournir modifiées"))
        messages.success(request, _("Pièces à fournir enregistrées."))
        return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/documents.html",
        {"procedure": procedure, "form": form, "current_section": SECTION},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def courriels(request, pk):
    procedure = _procedure(request, pk)
    form = WorkflowForm(request.POST or None, initial=workflow_initial(procedure))
    previews = []
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "apercu":
            previews = form.previews()
        else:
            services_builder.update_workflow(
                procedure=procedure,
                actor=request.user,
                emails=form.emails(),
                processing_days=form.cleaned_data["processing_days"],
                confirmation=form.cleaned_data["confirmation"].strip(),
            )
            messages.success(request, _("Courriels et délais enregistrés."))
            return redirect(_url(procedure))
    return render(
        request,
        "demarches/guichet/builder/courriels.html",
        {
            "procedure": procedure,
            "form": form,
            "previews": previews,
            "placeholders": builder.PLACEHOLDERS,
            "current_section": SECTION,
        },
    )


# --- Preview -------------------------------------------------------------------------------------


def _preview_state(request, procedure: Procedure) -> dict:
    return request.session.get(PREVIEW_SESSION, {}).get(str(procedure.pk), {"answers": {}})


def _save_preview(request, procedure: Procedure, state: dict) -> None:
    previews = request.session.get(PREVIEW_SESSION, {})
    previews = {
        str(procedure.pk): state,
        **{k: v for k, v in previews.items() if k != str(procedure.pk)},
    }
    request.session[PREVIEW_SESSION] = dict(list(previews.items())[:5])


@never_cache
@require_http_methods(["GET", "POST"])
@builder_required
def apercu(request, pk, number):
    """A step as a citizen without an account sees it, its checks active; nothing is filed."""
    procedure = _procedure(request, pk)
    shown = copy.copy(procedure)
    shown.definition = procedure.working_definition
    if builder.problem(shown.definition) is not None:
        messages.error(request, _("Corrigez la démarche avant de la prévisualiser."))
        return redirect(_url(procedure))
    steps = shown.definition["steps"]
    if number == 1 and request.method == "GET" and request.GET.get("reprendre") is None:
        _save_preview(request, procedure, {"answers": {}})
    if not 1 <= number <= len(steps) + 1:
        raise Http404
    state = _preview_state(request, procedure)
    bar = [{"number": n, "label": s["title"]} for n, s in enumerate(steps, start=1)]
    bar.append({"number": len(steps) + 1, "label": _("Récapitulatif")})
    context = {
        "procedure": shown,
        "builder_url": _url(procedure),
        "step": number,
        "steps": bar,
        "last_step": len(bar),
        "current_section": SECTION,
    }
    if number == len(steps) + 1:
        return render(
            request,
            "demarches/guichet/builder/apercu_fin.html",
            {**context, "sections": display_answers(shown.definition, state["answers"], {})},
        )
    action = request.POST.get("action", "suivant") if request.method == "POST" else ""
    if action == "annuler":
        return redirect(_url(procedure))
    form = StepForm(
        data=request.POST if request.method == "POST" else None,
        files=request.FILES if request.method == "POST" else None,
        procedure=shown,
        step=number,
        answers=state["answers"],
    )
    if request.method == "POST":
        valid = form.is_valid()
        if action == "precedent" and number > 1:
            answers = form.cleaned_answers() if valid else valid_part(form)
            _save_preview(request, procedure, {"answers": {**state["answers"], **answers}})
            return redirect(f"{_url(procedure, 'concepteur_apercu', number=number - 1)}?reprendre")
        if valid:
            _save_preview(
                request, procedure, {"answers": {**state["answers"], **form.cleaned_answers()}}
            )
            return redirect(f"{_url(procedure, 'concepteur_apercu', number=number + 1)}?reprendre")
    step = steps[number - 1]
    return render(
        request,
        "demarches/guichet/builder/apercu.html",
        {
            **context,
            "previous_url": "",
            "step_title": step["title"],
            "intro": step.get("intro", ""),
            "form": form,
            "fields": field_items(form, {}),
            "next_step": number + 1,
        },
    )


# --- Publish, versions, state, copy, share, export -----------------------------------------------


@require_POST
@builder_required
def publier(request, pk):
    procedure = _procedure(request, pk)
    try:
        version = services_builder.publish(procedure=procedure, actor=request.user)
    except DefinitionError as error:
        messages.error(request, _("Publication impossible : %(error)s") % {"error": error})
    except services_builder.BuilderError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _(
                "Version %(number)s publiée : c'est celle que voient les habitants. Les "
                "demandes déjà commencées gardent la leur."
            )
            % {"number": version.number},
        )
    return redirect(_url(procedure))


@require_POST
@builder_required
def abandonner(request, pk):
    procedure = _procedure(request, pk)
    try:
        services_builder.discard_draft(procedure=procedure, actor=request.user)
    except services_builder.BuilderError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Modifications abandonnées : retour à la version publiée."))
    return redirect(_url(procedure))


@never_cache
@require_GET
@builder_required
def versions(request, pk):
    procedure = _procedure(request, pk)
    return render(
        request,
        "demarches/guichet/builder/versions.html",
        {
            "procedure": procedure,
            "versions": selectors.versions(procedure),
            "current_section": SECTION,
        },
    )


@require_POST
@builder_required
def restaurer(request, pk, version):
    procedure = _procedure(request, pk)
    old = selectors.version_for(procedure, version)
    new = services_builder.restore(procedure=procedure, version=old, actor=request.user)
    messages.success(
        request,
        _("Version %(old)s restaurée : publiée comme version %(new)s.")
        % {"old": old.number, "new": new.number},
    )
    return redirect(_url(procedure, "concepteur_versions"))


@require_POST
@builder_required
def etat(request, pk):
    procedure = _procedure(request, pk)
    enabled = request.POST.get("etat") == "activer"
    try:
        services_builder.set_enabled(procedure=procedure, actor=request.user, enabled=enabled)
    except services_builder.BuilderError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Démarche réactivée : elle est proposée aux habitants.")
            if enabled
            else _("Démarche désactivée : elle n'est plus proposée."),
        )
    return redirect(_url(procedure))


@require_POST
@builder_required
def copier(request, pk):
    procedure = services_builder.copy_procedure(
        procedure=_procedure(request, pk), actor=request.user
    )
    messages.success(request, _("Copie créée, en brouillon."))
    return redirect(_url(procedure))


@require_POST
@builder_required
def partager(request, pk):
    procedure = _procedure(request, pk)
    try:
        services_builder.share(procedure=procedure, actor=request.user)
    except (services_builder.BuilderError, DefinitionError) as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Démarche partagée : toute commune peut la copier depuis la bibliothèque.")
        )
    return redirect(_url(procedure))


@never_cache
@require_GET
@builder_required
def exporter(request, pk):
    procedure = _procedure(request, pk)
    body = json.dumps(services_builder.export_entry(procedure), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{procedure.slug}.json"'
    return response
