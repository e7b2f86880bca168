"""Writes of « S'identifier avec FranceConnect »: an identity linked to an existing account (after
its password, or through a link e-mailed to it), or a new space created from the identity. The
certified fields (civility, names) come from the identity and are never edited afterwards
(`services.update_coordinates` leaves them alone)."""

from __future__ import annotations

import uuid

from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from parvis.accounts.franceconnect import Identity
from parvis.accounts.models import Civility, FranceConnectIdentity, User
from parvis.accounts.services import audit, diff, normalise_identifier, send_email_confirmation
from parvis.communes.models import Commune
from parvis.mail import absolute_url, queue_email

LINK_SALT = "parvis.franceconnect-link"
LINK_MAX_AGE = 60 * 60  # seconds: the e-mailed link to join an identity to an account

GENDER_CIVILITY = {"female": Civility.MADAME, "male": Civility.MONSIEUR}


class AlreadyLinked(Exception):
    """The account, or the identity, is already linked."""


def linked_account(*, commune: Commune, sub: str) -> User | None:
    """The active citizen account of `commune` that this FranceConnect identity opens."""
    return (
        User.objects.filter(
            commune=commune,
            franceconnect__sub=sub,
            is_active=True,
            is_staff=False,
        )
        .select_related("franceconnect")
        .first()
    )


def certified_values(identity: Identity) -> dict:
    return {
        "civility": GENDER_CIVILITY.get(identity.gender, ""),
        "first_name": identity.given_name,
        "last_name": identity.family_name,
    }


def _link(*, user: User, identity: Identity, action_by: User) -> FranceConnectIdentity:
    if FranceConnectIdentity.objects.filter(user=user).exists():
        raise AlreadyLinked
    try:
        with transaction.atomic():
            link = FranceConnectIdentity.objects.create(
                commune=user.commune,
                user=user,
                sub=identity.sub,
                given_name=identity.given_name,
                family_name=identity.family_name,
                birthdate=identity.birthdate,
                gender=identity.gender,
                birthplace=identity.birthplace,
                birthcountry=identity.birthcountry,
            )
    except IntegrityError as error:
        raise AlreadyLinked from error  # this identity already opens another account
    values = certified_values(identity)
    if not values["civility"]:
        values.pop("civility")  # FranceConnect said nothing: the account's own stays
    changes = diff(user, values)
    for name in changes:
        setattr(user, name, values[name])
    if changes:
        user.save(update_fields=list(changes))
    audit(
        actor=action_by,
        action="account.franceconnect_link",
        commune=user.commune,
        target=user,
        changes=changes,
    )
    return link


@transaction.atomic
def link_identity(*, user: User, identity: Identity) -> FranceConnectIdentity:
    """Join the identity to the account (its owner proved it with the password): from now on
    FranceConnect opens it; its civility and names become the certified ones."""
    return _link(user=user, identity=identity, action_by=user)


@transaction.atomic
def create_account(
    *,
    commune: Commune,
    identity: Identity,
    email: str,
    phone: str = "",
    address: str = "",
    postal_code: str = "",
    city: str = "",
) -> User:
    """A new space opened with FranceConnect: no password (FranceConnect opens it), the certified
    identity, the coordinates typed; the e-mail is confirmed by the usual link (on commit).
    Raises IntegrityError when the e-mail has an account (the form checks it first)."""
    values = certified_values(identity)
    user = User(
        commune=commune,
        username=f"{commune.slug}/{uuid.uuid4().hex}",
        email=normalise_identifier(email),
        civility=values["civility"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        phone=phone.strip(),
        address=address.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
    )
    user.set_unusable_password()
    with transaction.atomic():
        user.save()
    audit(actor=user, action="account.create", commune=commune, target=user)
    _link(user=user, identity=identity, action_by=user)
    transaction.on_commit(lambda: send_email_confirmation(user=user))
    return user


def link_token(*, user: User, identity: Identity) -> str:
    return signing.dumps(
        {"u": user.pk, "i": identity.as_session() | {"id_token": ""}}, salt=LINK_SALT
    )


def send_link_email(*, commune: Commune, email: str, identity: Identity) -> None:
    """« Recevoir un lien »: the account of `email` (if any: the page says the same either way)
    gets a link that joins this identity to it. Nothing leaves for an account already linked."""
    user = (
        User.objects.filter(
            commune=commune,
            email__iexact=normalise_identifier(email),
            is_active=True,
            is_staff=False,
        )
        .exclude(franceconnect__isnull=False)
        .first()
    )
    if user is None:
        return
    token = link_token(user=user, identity=identity)
    url = absolute_url(
        reverse("accounts:franceconnect_lien", kwargs={"commune": commune.slug, "token": token})
    )
    body = render_to_string(
        "accounts/emails/franceconnect_link.txt",
        {
            "user": user,
            "commune": commune,
            "url": url,
            "identity": identity,
            "minutes": LINK_MAX_AGE // 60,
        },
    )
    queue_email(
        subject=_("%(commune)s — relier votre espace à FranceConnect") % {"commune": commune.name},
        body=body,
        commune_id=commune.pk,
        to=[user.email],
    )


class InvalidLink(Exception):
    pass


def read_link(*, commune: Commune, token: str) -> tuple[User, Identity]:
    """The account and identity an e-mailed link names (InvalidLink when it is expired,
    tampered with, or its account has gone or is already linked)."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE)
        identity = Identity.from_session(data["i"])
        pk = int(data["u"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise InvalidLink from error
    user = (
        User.objects.filter(commune=commune, pk=pk, is_active=True, is_staff=False)
        .exclude(franceconnect__isnull=False)
        .first()
    )
    if user is None:
        raise InvalidLink
    return user, identity


@transaction.atomic
def link_from_email(*, commune: Commune, token: str) -> User:
    user, identity = read_link(commune=commune, token=token)
    try:
        _link(user=user, identity=identity, action_by=user)
    except AlreadyLinked as error:
        raise InvalidLink from error
    return user
