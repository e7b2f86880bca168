"""The `<demarche:slug>` part of the addresses under /<commune>/demarches/ (registered by
views_wizard, whose addresses use it)."""

from django.urls.converters import SlugConverter


class ProcedureSlugConverter(SlugConverter):
    """A procedure's slug, never one of the fixed first segments of the other pages under
    /<commune>/demarches/ (views_suivi's « mes-demandes/ » and « suivi/ »): those pages are found
    whatever the order of inclusion. A test checks that every such segment is listed here."""

    reserved = frozenset({"mes-demandes", "suivi"})

    def to_python(self, value):
        if value in self.reserved:
            raise ValueError(value)
        return value
