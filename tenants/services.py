"""Writes for tenancy: onboarding, company settings and the team.

Keyword-only functions named <entity>_<action>; each validates before it saves and
runs in one transaction. Team changes lock the customer row first and then re-read
the acting user, so two owners acting at the same moment are serialised, each is
judged by the role the other one's change left them, and the last owner stays.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import MANAGER_ROLES, TENANT_ROLES, Role, User, UserStatus
from accounts.normalization import normalize_email
from accounts.services.invitations import user_invitation_send
from accounts.services.platform import platform_admin_require
from accounts.services.sessions import user_sessions_revoke
from morpheus.errors import FORBIDDEN_MESSAGE, Conflict, NotFound, PermissionDenied
from morpheus.services import model_lock_live, model_update

from .ip_rules import ip_allowed
from .models import Customer, CustomerStatus
from .validators import (
    merge_patch,
    normalize_allowed_ips,
    normalize_avatar,
    normalize_company_name,
    normalize_phone,
    normalize_settings,
)

ALREADY_ONBOARDED_MESSAGE = "You have already completed onboarding for a customer"
PLATFORM_ADMIN_ONBOARD_MESSAGE = "Platform admins do not belong to a customer and cannot onboard"
EMAIL_TAKEN_MESSAGE = "A user with this email already exists"
SELF_ROLE_CHANGE_MESSAGE = "You cannot change your own role"
SELF_REMOVAL_MESSAGE = "You cannot remove yourself from the organization"
ADMIN_TOUCHES_OWNER_MESSAGE = "Admins cannot change or remove an owner"
OWNER_ROLE_GRANT_MESSAGE = "Only an owner can grant the owner role"
LAST_OWNER_DEMOTE_MESSAGE = "The last owner of the organization cannot be demoted"
LAST_OWNER_REMOVE_MESSAGE = "The last owner of the organization cannot be removed"
INVALID_ROLE_MESSAGE = "Role must be one of: owner, admin, member"

UPDATABLE_CUSTOMER_FIELDS = ("company_name", "phone", "description", "avatar", "settings", "allowed_ips")


# --- Customers --------------------------------------------------------------------


@transaction.atomic
def customer_onboard(*, user: User, company_name: str, phone: str = "", description: str = "") -> Customer:
    """Creates the user's customer and makes them its owner (which clears needsOnboarding).

    The user row is locked first: two simultaneous onboardings by one user queue on
    that lock, and the second sees the customer the first created and is refused.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_platform_admin:
        raise PermissionDenied(PLATFORM_ADMIN_ONBOARD_MESSAGE)
    if locked.customer_id is not None:
        raise Conflict(ALREADY_ONBOARDED_MESSAGE)

    customer = Customer(
        company_name=normalize_company_name(company_name),
        phone=normalize_phone(phone),
        description=(description or "").strip(),
        created_by=locked,
    )
    customer.full_clean(exclude=["created_by", "avatar", "settings", "allowed_ips"])
    customer.save()

    locked.customer = customer
    locked.role = Role.OWNER
    locked.save(update_fields=["customer", "role", "updated_at"])
    # The caller's instance reflects the change too (the view answers with it).
    user.customer, user.role = customer, locked.role
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    data: dict[str, Any],
    client_ip: str | None = None,
    confirm_lockout: bool = False,
) -> Customer:
    """Partial update of the company profile and settings.

    `data` holds model field names; absent keys are left alone. `settings` is applied
    as an RFC 7396 merge patch onto the stored object. A non-empty `allowed_ips` that
    would refuse `client_ip` is accepted only with `confirm_lockout`.
    """
    unknown = set(data) - set(UPDATABLE_CUSTOMER_FIELDS)
    if unknown:
        raise ValueError(f"customer_update cannot change {sorted(unknown)}")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)

    changes: dict[str, Any] = {}
    if "company_name" in data:
        changes["company_name"] = normalize_company_name(data["company_name"])
    if "phone" in data:
        changes["phone"] = normalize_phone(data["phone"])
    if "description" in data:
        changes["description"] = (data["description"] or "").strip()
    if "avatar" in data:
        changes["avatar"] = normalize_avatar(data["avatar"])
    if "settings" in data:
        patch = data["settings"]
        if not isinstance(patch, dict):
            raise ValidationError({"settings": "Settings must be a JSON object"})
        changes["settings"] = normalize_settings(merge_patch(locked.settings or {}, patch))
    if "allowed_ips" in data:
        rules = normalize_allowed_ips(data["allowed_ips"])
        if rules and client_ip and not confirm_lockout and not ip_allowed(rules, client_ip):
            raise ValidationError(
                {
                    "allowed_ips": (
                        f"Your current IP address {client_ip} is not in allowedIps, so saving would lock you "
                        "out. Add it, or send confirmLockout: true to save anyway."
                    )
                }
            )
        changes["allowed_ips"] = rules

    locked, _ = model_update(instance=locked, fields=changes, data=changes)
    return locked


# --- Team -------------------------------------------------------------------------


@transaction.atomic
def user_invite(*, customer: Customer, actor: User, email: str, name: str = "", role: str = Role.MEMBER) -> User:
    """Creates an `invited` user in the customer and mails the invitation on commit.

    A user removed earlier (soft-deleted) with the same email is brought back as a new
    invitation, since the address stays reserved by the unique email constraint.
    """
    _check_role_value(role)
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    actor = _current_actor(actor, customer)
    if role == Role.OWNER and not _acts_as_owner(actor):
        raise PermissionDenied(OWNER_ROLE_GRANT_MESSAGE)
    email = normalize_email(email or "")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Invalid email format"}) from None
    name = (name or "").strip() or email.split("@")[0]

    user = User.objects.select_for_update().filter(email=email).first()
    if user is not None and user.deleted_at is None:
        raise Conflict(EMAIL_TAKEN_MESSAGE)
    revived = user is not None
    if user is None:
        user = User(email=email)
    user.name = name
    user.customer = customer
    user.role = role
    user.status = UserStatus.INVITED
    user.email_verified = False
    user.provider = "local"
    user.provider_id = None
    user.last_login_at = None
    user.deleted_at = None
    user.set_unusable_password()
    user.full_clean(exclude=["password", "customer", "email"])
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Another request invited or registered the same address a moment ago.
        raise Conflict(EMAIL_TAKEN_MESSAGE) from None
    if revived:  # nothing from the account's earlier life may still sign in
        user_sessions_revoke(user=user)
    user_invitation_send(user=user, actor=actor)
    return user


def _lock_teammate(user: User, actor: User, *, self_message: str) -> tuple[User, User]:
    """Locks the customer, then the teammate acted on, and re-reads the actor; refuses
    acting on oneself (`self_message`) and an admin acting on an owner."""
    customer = _lock_customer_of(user)
    target = User.objects.select_for_update().get(pk=user.pk)
    actor = _current_actor(actor, customer, target)
    if target.pk == actor.pk:
        raise PermissionDenied(self_message)
    if target.role == Role.OWNER and not _acts_as_owner(actor):
        raise PermissionDenied(ADMIN_TOUCHES_OWNER_MESSAGE)
    return target, actor


@transaction.atomic
def user_role_change(*, user: User, role: str, actor: User) -> User:
    """Sets a team member's role under the rules in docs/tenancy.md."""
    _check_role_value(role)
    target, actor = _lock_teammate(user, actor, self_message=SELF_ROLE_CHANGE_MESSAGE)
    if role == Role.OWNER and not _acts_as_owner(actor):
        raise PermissionDenied(OWNER_ROLE_GRANT_MESSAGE)
    if target.role == role:
        return target
    if role != Role.OWNER and _is_last_active_owner(target):
        raise Conflict(LAST_OWNER_DEMOTE_MESSAGE)
    target.role = role
    target.save(update_fields=["role", "updated_at"])
    return target


@transaction.atomic
def user_remove(*, user: User, actor: User) -> User:
    """Soft-deletes a team member and revokes their refresh tokens. Their access token
    stops working on the next request, because authentication re-reads the user."""
    target, actor = _lock_teammate(user, actor, self_message=SELF_REMOVAL_MESSAGE)
    if _is_last_active_owner(target):
        raise Conflict(LAST_OWNER_REMOVE_MESSAGE)
    target.deleted_at = timezone.now()
    target.save(update_fields=["deleted_at", "updated_at"])
    user_sessions_revoke(user=target)
    return target


def _check_role_value(role: object) -> None:
    if role not in TENANT_ROLES:
        raise ValidationError({"role": INVALID_ROLE_MESSAGE})


def _current_actor(actor: User, customer: Customer, target: User | None = None) -> User:
    """The actor as stored now, checked to manage this customer's team: a platform
    admin, or an active owner/admin of the customer.

    Called with the customer row locked, so the actor's role is the one committed by
    any team change that ran before: an owner demoted a moment ago is judged as what
    they are now, not by the copy their request loaded. The API already refuses other
    roles and scopes targets to the caller's tenant; this keeps every other caller of
    these services fail-closed too: a target outside the actor's customer (or
    removed) is "not found", never "forbidden".
    """
    current = User.objects.filter(pk=actor.pk).first()
    if current is None:
        raise PermissionDenied(FORBIDDEN_MESSAGE)
    actor = current
    if target is not None:
        foreign = not actor.is_platform_admin and actor.customer_id != target.customer_id
        if foreign or target.customer_id != customer.pk or target.deleted_at is not None:
            raise NotFound(f"User with ID {target.pk} does not exist")
    if not actor.is_active:
        raise PermissionDenied(FORBIDDEN_MESSAGE)
    if actor.is_platform_admin:
        return actor
    if actor.customer_id != customer.pk or actor.role not in MANAGER_ROLES:
        raise PermissionDenied(FORBIDDEN_MESSAGE)
    return actor


def _acts_as_owner(actor: User) -> bool:
    return actor.is_platform_admin or actor.role == Role.OWNER


def _lock_customer_of(user: User) -> Customer:
    if user.customer_id is None:
        raise NotFound(f"User with ID {user.pk} does not exist")
    return Customer.objects.select_for_update().get(pk=user.customer_id)


def _is_last_active_owner(target: User) -> bool:
    """Only an active, not removed owner counts: an invited owner cannot sign in yet."""
    if not (target.role == Role.OWNER and target.is_active) or target.customer_id is None:
        return False
    others = User.objects.filter(
        customer_id=target.customer_id, role=Role.OWNER, status=UserStatus.ACTIVE, deleted_at__isnull=True
    ).exclude(pk=target.pk)
    return not others.exists()


# --- Platform admin actions ---------------------------------------------------------
# Suspension is reversible and keeps everything: users keep their sessions but every
# API request of the customer's users is refused (IsTenantMember) and inbound calls to
# its numbers are rejected, until a platform admin reactivates it. Calls already in
# progress are left to finish; end them from the calls admin if they must stop.

CUSTOMER_REMOVED_MESSAGE = "Customer {name} has been deleted"
CUSTOMER_ALREADY_SUSPENDED_MESSAGE = "Customer {name} is already suspended"
CUSTOMER_NOT_SUSPENDED_MESSAGE = "Customer {name} is not suspended"


def _lock_live_customer(customer: Customer, actor: User) -> Customer:
    platform_admin_require(actor=actor)
    return model_lock_live(customer, removed=lambda locked: CUSTOMER_REMOVED_MESSAGE.format(name=locked.company_name))


@transaction.atomic
def customer_suspend(*, customer: Customer, actor: User) -> Customer:
    locked = _lock_live_customer(customer, actor)
    if locked.status == CustomerStatus.SUSPENDED:
        raise Conflict(CUSTOMER_ALREADY_SUSPENDED_MESSAGE.format(name=locked.company_name))
    locked.status = CustomerStatus.SUSPENDED
    locked.save(update_fields=["status", "updated_at"])
    return locked


@transaction.atomic
def customer_reactivate(*, customer: Customer, actor: User) -> Customer:
    locked = _lock_live_customer(customer, actor)
    if locked.status != CustomerStatus.SUSPENDED:
        raise Conflict(CUSTOMER_NOT_SUSPENDED_MESSAGE.format(name=locked.company_name))
    locked.status = CustomerStatus.ACTIVE
    locked.save(update_fields=["status", "updated_at"])
    return locked


# --- Demo tenant (the `seed_demo` command) -------------------------------------------

DEMO_OWNER_NAME = "Demo Owner"
DEMO_AGENT_NAME = "Demo receptionist"
DEMO_NUMBER_NAME = "Demo line"
DEMO_FIRST_MESSAGE = "Hello! Thanks for calling {company}. How can I help you today?"
DEMO_SYSTEM_PROMPT = (
    "You are the friendly receptionist of {company}. Greet callers, answer questions about the "
    "opening hours (9am to 5pm, Monday to Friday) and take a message with the caller's name and "
    "number when they need a person. Keep every answer short: this is a phone call."
)


class DemoSeedRefused(Exception):
    """The demo tenant cannot be seeded as asked; nothing was written."""


@dataclass(frozen=True)
class DemoTenant:
    customer: Customer
    owner: User
    agent: object  # agents.models.Agent
    phone_number: object  # telephony.models.PhoneNumber
    password: str | None  # set by this run (given or generated); None when left unchanged
    changes: list[str]  # what this run created or changed, e.g. ["owner created", "agent activated"]


@transaction.atomic
def demo_tenant_seed(*, email: str, company_name: str, phone_number: str, password: str | None = None) -> DemoTenant:
    """A demo tenant: an active owner, an active agent on the catalogue's default providers
    and a phone number routed to it. Idempotent: a second run finds the owner (by email),
    their customer, the agent (by name) and the number, and only fixes what drifted. One
    transaction: a refusal leaves nothing behind."""
    from agents.models import Agent, AgentStatus
    from agents.services import agent_create, agent_update
    from morpheus.e164 import InvalidNumber, parse_e164
    from telephony.models import PhoneNumber
    from telephony.services import phone_number_create, phone_number_update

    email = normalize_email(email or "")
    try:
        validate_email(email)
        number = parse_e164(phone_number).e164
    except ValidationError:
        raise DemoSeedRefused(f"{email!r} is not a valid email address") from None
    except InvalidNumber as exc:
        raise DemoSeedRefused(f"{phone_number!r} is not a valid phone number: {exc}") from None
    changes = []

    owner = User.objects.select_for_update().filter(email=email).first()
    if owner is None:
        owner = User(email=email, name=DEMO_OWNER_NAME, role=Role.MEMBER, status=UserStatus.ACTIVE)
        password = password or secrets.token_urlsafe(12)
        _demo_password_check(owner, password)
        owner = User.objects.create_user(
            email, password, name=DEMO_OWNER_NAME, role=Role.MEMBER, status=UserStatus.ACTIVE, email_verified=True
        )
        customer = customer_onboard(user=owner, company_name=company_name)
        changes += ["owner created", "customer created"]
    else:
        if owner.deleted_at is not None or owner.customer_id is None or owner.role != Role.OWNER:
            raise DemoSeedRefused(f"{email} is already used by an account that is not a customer's owner")
        linked = owner.customer
        if owner.status != UserStatus.ACTIVE or linked is None or not linked.is_active:
            raise DemoSeedRefused(f"{email} or its customer is suspended; reactivate them in the admin first")
        customer = linked
        if password:
            _demo_password_check(owner, password)
            owner.set_password(password)
            owner.save(update_fields=["password", "updated_at"])
            changes.append("password set")

    agent = Agent.objects.filter(customer=customer, name=DEMO_AGENT_NAME).order_by("id").first()
    if agent is None:
        agent = agent_create(
            customer=customer,
            data={
                "name": DEMO_AGENT_NAME,
                "system_prompt": DEMO_SYSTEM_PROMPT.format(company=customer.company_name),
                "first_message": DEMO_FIRST_MESSAGE.format(company=customer.company_name),
            },
        )
        changes.append("agent created")
    if agent.status != AgentStatus.ACTIVE:
        agent_update(agent=agent, data={"status": AgentStatus.ACTIVE})
        changes.append("agent activated")

    line = PhoneNumber.objects.select_for_update().filter(phone_number=number).first()
    if line is None:
        line = phone_number_create(
            customer=customer, data={"phone_number": number, "friendly_name": DEMO_NUMBER_NAME, "agent_id": agent.pk}
        )
        changes.append("phone number created")
    elif line.customer_id != customer.pk:
        raise DemoSeedRefused(f"Phone number {number} belongs to another customer; choose another one")
    elif line.agent_id != agent.pk:
        phone_number_update(phone_number=line, data={"agent_id": agent.pk})
        changes.append("phone number routed to the agent")
    return DemoTenant(customer, owner, agent, line, password or None, changes)


def _demo_password_check(user: User, password: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        raise DemoSeedRefused(f"The password is too weak: {' '.join(exc.messages)}") from None
