"""Registration: sign-up by an emailed verification link, and the user's own profile."""

from django.db import IntegrityError, transaction

from accounts import tokens
from accounts.exceptions import EMAIL_TAKEN_MESSAGE, VERIFICATION_EXPIRED_MESSAGE, VERIFICATION_INVALID_MESSAGE
from accounts.models import Role, User, UserStatus
from accounts.selectors import normalize_email, user_email_taken
from morpheus import outbox
from morpheus.errors import Conflict
from morpheus.services import model_update

from .links import read_link
from .passwords import validate_user_and_password
from .sessions import ClientInfo, Session, session_create


def email_verification_request(*, email: str) -> str:
    """Mails a sign-up link for an address not registered yet; returns the address."""
    email = normalize_email(email)
    if user_email_taken(email=email):
        raise Conflict(EMAIL_TAKEN_MESSAGE)
    with transaction.atomic():
        outbox.enqueue("accounts.tasks.send_verification_email", email)
    return email


def user_register(*, token: str, name: str, password: str, client: ClientInfo) -> Session:
    """Creates an active, verified member without a customer (onboarding comes next)
    from a verification token, and signs them in."""
    email = normalize_email(
        read_link(
            tokens.read_email_verification_token,
            token,
            expired=VERIFICATION_EXPIRED_MESSAGE,
            invalid=VERIFICATION_INVALID_MESSAGE,
        )
    )
    if user_email_taken(email=email):
        raise Conflict(EMAIL_TAKEN_MESSAGE)

    user = User(
        email=email,
        name=name.strip(),
        role=Role.MEMBER,
        status=UserStatus.ACTIVE,
        provider="local",
        email_verified=True,
    )
    validate_user_and_password(user, password)
    user.set_password(password)
    with transaction.atomic():
        try:
            with transaction.atomic():
                user.save(force_insert=True)
        except IntegrityError:
            # A parallel registration of the same address got there first: the unique
            # index made this insert wait for it to commit, then refused it.
            raise Conflict(EMAIL_TAKEN_MESSAGE) from None
        return session_create(user=user, client=client)


@transaction.atomic
def user_profile_update(*, user: User, name: str | None = None) -> User:
    """The user's own editable fields (only the name: email, role and status change
    through their own flows). Nothing given, nothing written."""
    if name is None:
        return user
    user, _ = model_update(instance=user, fields=["name"], data={"name": name.strip()})
    return user
