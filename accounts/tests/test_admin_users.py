"""Users in the platform admin: suspend, reactivate, revoke sessions and resend
invitations, through the services (tested directly too) and the admin's action POST."""

import functools

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.utils import timezone

from accounts.models import RefreshToken, Role, User, UserStatus
from accounts.services.platform import user_invitation_resend, user_reactivate, user_suspend
from accounts.services.sessions import ClientInfo, session_create
from morpheus.errors import Conflict, PermissionDenied
from testsupport.admin import assert_refused_unchanged, run_action
from testsupport.api import assert_error, assert_success, client_for

from .factories import TEST_PASSWORD, UserFactory
from .helpers import links_in

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/user/"


def live_tokens(user) -> int:
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).count()


def invited(customer, email="dana@example.com"):
    user = UserFactory(email=email, customer=customer, role=Role.MEMBER, status=UserStatus.INVITED)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


# --- Services -----------------------------------------------------------------------


def test_suspending_ends_every_session_and_the_api_refuses_the_user(alice, platform_admin):
    session_create(user=alice, client=ClientInfo())
    session_create(user=alice, client=ClientInfo())
    api = client_for(alice)
    assert_success(api.get("/api/v1/auth/profile"))

    user_suspend(user=alice, actor=platform_admin)

    alice.refresh_from_db()
    assert alice.status == UserStatus.SUSPENDED and live_tokens(alice) == 0
    assert_error(api.get("/api/v1/auth/profile"), 401, "User account is not active")
    login = {"email": alice.email, "password": TEST_PASSWORD}
    assert_error(client_for().post("/api/v1/auth/login", login, format="json"), 403, "Your account has been suspended")


def test_suspending_twice_is_refused_and_changes_nothing(alice, platform_admin):
    user_suspend(user=alice, actor=platform_admin)
    suspend = functools.partial(user_suspend, user=alice, actor=platform_admin)
    assert_refused_unchanged(suspend, alice, "User alice@example.com is already suspended")


def test_a_removed_user_cannot_be_suspended_or_reactivated(charlie, platform_admin):
    User.objects.filter(pk=charlie.pk).update(deleted_at=timezone.now())
    for action in (user_suspend, user_reactivate):
        refused = functools.partial(action, user=charlie, actor=platform_admin)
        assert_refused_unchanged(refused, charlie, "User charlie@example.com has been removed")
    assert User.objects.get(pk=charlie.pk).status == UserStatus.ACTIVE


def test_a_platform_admin_cannot_suspend_themself(platform_admin):
    with pytest.raises(PermissionDenied, match="You cannot suspend your own account"):
        user_suspend(user=platform_admin, actor=platform_admin)


def test_only_an_active_platform_admin_acts(alice, charlie, platform_admin):
    with pytest.raises(PermissionDenied):
        user_suspend(user=charlie, actor=alice)  # an owner is not a platform admin
    User.objects.filter(pk=platform_admin.pk).update(status=UserStatus.SUSPENDED)
    with pytest.raises(PermissionDenied):
        user_suspend(user=charlie, actor=platform_admin)
    assert User.objects.get(pk=charlie.pk).status == UserStatus.ACTIVE


def test_reactivating_restores_access(alice, platform_admin):
    user_suspend(user=alice, actor=platform_admin)
    user_reactivate(user=alice, actor=platform_admin)
    alice.refresh_from_db()
    assert alice.status == UserStatus.ACTIVE
    assert_success(client_for(alice).get("/api/v1/auth/profile"))
    with pytest.raises(Conflict, match="User alice@example.com is not suspended"):
        user_reactivate(user=alice, actor=platform_admin)


def test_someone_suspended_before_accepting_goes_back_to_invited(customer_a, platform_admin):
    dana = invited(customer_a)
    user_suspend(user=dana, actor=platform_admin)
    assert user_reactivate(user=dana, actor=platform_admin).status == UserStatus.INVITED


def test_resending_an_invitation_mails_a_fresh_link(
    customer_a, alice, platform_admin, django_capture_on_commit_callbacks
):
    dana = invited(customer_a)
    with django_capture_on_commit_callbacks(execute=True):
        user_invitation_resend(user=dana, actor=platform_admin)
    [message] = mail.outbox
    assert message.to == ["dana@example.com"] and customer_a.company_name in message.subject
    assert links_in(message.body)
    with pytest.raises(Conflict, match="User alice@example.com has no pending invitation"):
        user_invitation_resend(user=alice, actor=platform_admin)
    assert len(mail.outbox) == 1


# --- The admin ----------------------------------------------------------------------


def test_the_suspend_action_suspends_and_names_who_was_skipped(admin_client, alice, charlie, platform_admin):
    user_suspend(user=charlie, actor=platform_admin)
    session_create(user=alice, client=ClientInfo())

    assert run_action(admin_client, CHANGELIST, "suspend_users", alice, charlie) == [
        ("warning", "User charlie@example.com is already suspended"),
        ("success", "Suspended 1 user: alice@example.com"),
    ]
    alice.refresh_from_db()
    assert alice.status == UserStatus.SUSPENDED and live_tokens(alice) == 0
    entry = LogEntry.objects.get(object_id=str(alice.pk))
    assert entry.user_id == platform_admin.pk and "Suspended" in entry.get_change_message()


def test_the_admin_cannot_suspend_itself_through_the_action(admin_client, platform_admin):
    shown = run_action(admin_client, CHANGELIST, "suspend_users", platform_admin)
    assert shown == [("warning", "You cannot suspend your own account")]
    platform_admin.refresh_from_db()
    assert platform_admin.status == UserStatus.ACTIVE


def test_the_reactivate_action(admin_client, alice, charlie, platform_admin):
    user_suspend(user=alice, actor=platform_admin)
    assert run_action(admin_client, CHANGELIST, "reactivate_users", alice, charlie) == [
        ("warning", "User charlie@example.com is not suspended"),
        ("success", "Reactivated 1 user: alice@example.com"),
    ]
    assert User.objects.get(pk=alice.pk).status == UserStatus.ACTIVE


def test_revoking_sessions_skips_removed_users(admin_client, alice, charlie):
    session_create(user=alice, client=ClientInfo())
    session_create(user=alice, client=ClientInfo())
    session_create(user=charlie, client=ClientInfo())
    User.objects.filter(pk=charlie.pk).update(deleted_at=timezone.now())

    assert run_action(admin_client, CHANGELIST, "revoke_sessions", alice, charlie) == [
        ("warning", "User charlie@example.com has been removed"),
        ("success", "Revoked the sessions of 1 user: alice@example.com"),
        ("info", "2 refresh token(s) revoked"),
    ]
    assert live_tokens(alice) == 0 and live_tokens(charlie) == 1


def test_resending_invitations_from_the_admin(admin_client, customer_a, alice, django_capture_on_commit_callbacks):
    dana = invited(customer_a)
    with django_capture_on_commit_callbacks(execute=True):
        assert run_action(admin_client, CHANGELIST, "resend_invitations", dana, alice) == [
            ("warning", "User alice@example.com has no pending invitation"),
            ("success", "Resent the invitation to 1 user: dana@example.com"),
        ]
    assert [m.to for m in mail.outbox] == [["dana@example.com"]]


def test_the_user_list_searches_and_filters(admin_client, alice, charlie, bob):
    page = admin_client.get(CHANGELIST, {"q": "charlie"})
    assert list(page.context["cl"].result_list) == [charlie]
    page = admin_client.get(CHANGELIST, {"q": "Bob Corp"})
    assert list(page.context["cl"].result_list) == [bob]
    page = admin_client.get(CHANGELIST, {"q": str(alice.pk)})
    assert list(page.context["cl"].result_list) == [alice]
    page = admin_client.get(CHANGELIST, {"role__exact": "owner", "status__exact": "active"})
    assert set(page.context["cl"].result_list) == {alice, bob}


def test_only_the_name_is_editable(admin_client, alice):
    form = {"name": "Alice Liddell", "email": "evil@example.com", "role": "platform_admin", "status": "suspended"}
    response = admin_client.post(f"{CHANGELIST}{alice.pk}/change/", form)
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.name, alice.email, alice.role, alice.status) == (
        "Alice Liddell",
        "alice@example.com",
        Role.OWNER,
        UserStatus.ACTIVE,
    )


def test_users_are_neither_added_nor_deleted_here(admin_client, alice):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{alice.pk}/delete/").status_code == 403


def test_refresh_tokens_are_read_only(admin_client, alice):
    session_create(user=alice, client=ClientInfo(ip="203.0.113.9", user_agent="pytest"))
    token = RefreshToken.objects.get()
    listing = admin_client.get("/admin/accounts/refreshtoken/", {"state": "live"})
    assert list(listing.context["cl"].result_list) == [token]
    page = admin_client.get(f"/admin/accounts/refreshtoken/{token.pk}/change/")
    assert page.status_code == 200 and b"203.0.113.9" in page.content and token.token_hash.encode() not in page.content
    assert admin_client.post(f"/admin/accounts/refreshtoken/{token.pk}/change/", {}).status_code == 403
    assert admin_client.get(f"/admin/accounts/refreshtoken/{token.pk}/delete/").status_code == 403
