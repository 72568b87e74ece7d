"""Platform admin actions on one account, from the Django admin."""

from django.db import transaction

from accounts.models import User, UserStatus
from morpheus.errors import Conflict, PermissionDenied
from morpheus.services import model_lock_live

from .invitations import user_invitation_send
from .sessions import user_sessions_revoke

# What a platform admin does to one account from the Django admin. Each refuses, with a
# message naming the account and without changing anything, what makes no sense: a
# removed account, suspending twice, suspending oneself.

USER_REMOVED_MESSAGE = "User {email} has been removed"
USER_ALREADY_SUSPENDED_MESSAGE = "User {email} is already suspended"
USER_NOT_SUSPENDED_MESSAGE = "User {email} is not suspended"
USER_SELF_SUSPEND_MESSAGE = "You cannot suspend your own account"
USER_NO_PENDING_INVITATION_MESSAGE = "User {email} has no pending invitation"


def platform_admin_require(*, actor: User) -> None:
    """The actor as stored now must be an active platform admin (fail-closed for any caller)."""
    current = User.objects.filter(pk=actor.pk, deleted_at__isnull=True).first()
    if current is None or not (current.is_active and current.is_platform_admin):
        raise PermissionDenied()


def _lock_live_user(user: User) -> User:
    return model_lock_live(user, removed=lambda locked: USER_REMOVED_MESSAGE.format(email=locked.email))


@transaction.atomic
def user_suspend(*, user: User, actor: User) -> User:
    """Suspends the account and ends every session: refresh tokens are revoked now, and
    access tokens stop on the next request (authentication re-reads the user)."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.pk == actor.pk:
        raise PermissionDenied(USER_SELF_SUSPEND_MESSAGE)
    if locked.status == UserStatus.SUSPENDED:
        raise Conflict(USER_ALREADY_SUSPENDED_MESSAGE.format(email=locked.email))
    locked.status = UserStatus.SUSPENDED
    locked.save(update_fields=["status", "updated_at"])
    user_sessions_revoke(user=locked)
    return locked


@transaction.atomic
def user_reactivate(*, user: User, actor: User) -> User:
    """Lifts a suspension. Someone suspended before accepting their invitation (no usable
    password yet) goes back to `invited`, so the invitation link works again."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.status != UserStatus.SUSPENDED:
        raise Conflict(USER_NOT_SUSPENDED_MESSAGE.format(email=locked.email))
    locked.status = UserStatus.ACTIVE if locked.has_usable_password() else UserStatus.INVITED
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def user_invitation_resend(*, user: User, actor: User) -> User:
    """Mails a fresh invitation link (on commit) to a user who has not accepted yet."""
    platform_admin_require(actor=actor)
    locked = _lock_live_user(user)
    if locked.status != UserStatus.INVITED or locked.customer_id is None:
        raise Conflict(USER_NO_PENDING_INVITATION_MESSAGE.format(email=locked.email))
    # No inviter named: the mail comes from the organization, not from a platform admin.
    user_invitation_send(user=locked, actor=None)
    return locked
