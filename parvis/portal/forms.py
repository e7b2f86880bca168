"""Forms of the public pages."""

from django import forms

from parvis.portal import display


class DisplaySettingsForm(forms.Form):
    """« Paramètres d'affichage »: one group of radio buttons per setting of parvis.portal.display,
    each required and limited to its choices (a forged value is an error, never stored)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for setting in display.SETTINGS:
            self.fields[setting.name] = forms.ChoiceField(
                label=setting.label,
                help_text=setting.help_text,
                choices=setting.choices,
                widget=forms.RadioSelect,
            )

    def settings_values(self) -> dict[str, str]:
        return {setting.name: self.cleaned_data[setting.name] for setting in display.SETTINGS}
