"""The team services for callers other than the API (Django admin, commands): the same
rules, fail-closed, and the last-owner rule that the API can only reach under races."""

import pytest

from accounts.models import Role, User, UserStatus
from accounts.tests.factories import UserFactory
from morpheus.errors import Conflict, NotFound, PermissionDenied
from tenants import services

pytestmark = pytest.mark.django_db


def test_the_last_active_owner_cannot_be_demoted_or_removed(platform_admin, alice, customer_a):
    with pytest.raises(Conflict, match="The last owner of the organization cannot be demoted"):
        services.user_role_change(user=alice, role=Role.ADMIN, actor=platform_admin)
    with pytest.raises(Conflict, match="The last owner of the organization cannot be removed"):
        services.user_remove(user=alice, actor=platform_admin)
    alice.refresh_from_db()
    assert alice.role == Role.OWNER and alice.deleted_at is None


@pytest.mark.parametrize(
    "other",
    [
        {"status": UserStatus.INVITED},
        {"status": UserStatus.SUSPENDED},
        {"status": UserStatus.ACTIVE, "deleted_at": "now"},
    ],
)
def test_owners_who_cannot_sign_in_do_not_count(platform_admin, alice, customer_a, other):
    from django.utils import timezone

    if other.get("deleted_at") == "now":
        other["deleted_at"] = timezone.now()
    UserFactory(customer=customer_a, role=Role.OWNER, **other)
    with pytest.raises(Conflict):
        services.user_role_change(user=alice, role=Role.MEMBER, actor=platform_admin)


def test_with_a_second_active_owner_a_platform_admin_may_demote_one(platform_admin, alice, customer_a):
    UserFactory(customer=customer_a, role=Role.OWNER)
    services.user_role_change(user=alice, role=Role.MEMBER, actor=platform_admin)
    alice.refresh_from_db()
    assert alice.role == Role.MEMBER


def test_an_invited_owner_is_not_protected(platform_admin, alice, customer_a):
    invited = UserFactory(customer=customer_a, role=Role.OWNER, status=UserStatus.INVITED)
    services.user_remove(user=invited, actor=platform_admin)
    invited.refresh_from_db()
    assert invited.deleted_at is not None


def test_a_platform_admin_may_invite_an_owner(platform_admin, customer_a):
    user = services.user_invite(customer=customer_a, actor=platform_admin, email="boss@example.com", role="owner")
    assert (user.role, user.status, user.customer_id) == (Role.OWNER, UserStatus.INVITED, customer_a.id)


def test_another_tenants_actor_finds_nothing(bob, charlie):
    with pytest.raises(NotFound):
        services.user_role_change(user=charlie, role=Role.ADMIN, actor=bob)
    with pytest.raises(NotFound):
        services.user_remove(user=charlie, actor=bob)
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER and charlie.deleted_at is None


def test_another_tenants_actor_cannot_invite_into_a_customer(bob, customer_a):
    with pytest.raises(PermissionDenied):
        services.user_invite(customer=customer_a, actor=bob, email="mole@example.com")
    assert not User.objects.filter(email="mole@example.com").exists()


def test_an_inactive_manager_is_refused(alice, charlie, customer_a):
    alice.status = UserStatus.SUSPENDED
    alice.save(update_fields=["status"])
    with pytest.raises(PermissionDenied):
        services.user_role_change(user=charlie, role=Role.ADMIN, actor=alice)


def test_a_removed_target_is_not_found(alice, charlie):
    services.user_remove(user=charlie, actor=alice)
    with pytest.raises(NotFound):
        services.user_role_change(user=charlie, role=Role.ADMIN, actor=alice)


def test_customer_update_refuses_fields_tenants_may_not_change(customer_a):
    with pytest.raises(ValueError, match="status"):
        services.customer_update(customer=customer_a, data={"status": "active"})


def test_the_actor_is_judged_by_their_stored_role_not_a_stale_copy(alice, charlie, customer_a):
    stale_admin = UserFactory(customer=customer_a, role=Role.ADMIN)
    User.objects.filter(pk=stale_admin.pk).update(role=Role.MEMBER)  # demoted meanwhile
    with pytest.raises(PermissionDenied):
        services.user_role_change(user=charlie, role=Role.ADMIN, actor=stale_admin)
    with pytest.raises(PermissionDenied):
        services.user_invite(customer=customer_a, actor=stale_admin, email="late@example.com")
    charlie.refresh_from_db()
    assert charlie.role == Role.MEMBER and not User.objects.filter(email="late@example.com").exists()
