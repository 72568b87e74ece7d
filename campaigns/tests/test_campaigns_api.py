"""/campaigns CRUD, lifecycle, contacts (JSON and CSV), results.csv; /dnc."""

import io

import pytest

from campaigns import services
from campaigns.models import Campaign, CampaignStatus, Contact, ContactAttempt, DoNotCall
from campaigns.tests.conftest import ALWAYS
from telephony.tests.factories import PhoneNumberFactory
from tenants.tests.cross_tenant import MANAGERS, Action, CrossTenantMatrix, ResourceMatrix, crud_actions
from testsupport.api import assert_error, assert_success

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns"


def create_body(outbound, **overrides):
    return {
        "name": "Renewals",
        "agentId": outbound["agent"].id,
        "fromNumberIds": [outbound["number"].id],
        "schedule": ALWAYS,
        "retry": {"maxAttempts": 3, "delayMinutes": 60, "on": ["busy", "no_answer", "voicemail"]},
        "maxConcurrency": 4,
        "callsPerMinute": 20,
        **overrides,
    }


def test_it_creates_a_draft_campaign(alice_client, outbound):
    data = assert_success(
        alice_client.post(URL, create_body(outbound), format="json"), 201, "Campaign created successfully"
    )
    campaign = Campaign.objects.get()
    assert data == {
        **create_body(outbound),  # what was sent, as it was sent
        "id": campaign.id,
        "status": "draft",
        "statusReason": "",
        "progress": {
            "total": 0,
            "pending": 0,
            "inProgress": 0,
            "completed": 0,
            "failed": 0,
            "voicemail": 0,
            "noAnswer": 0,
            "busy": 0,
            "skipped": 0,
            "canceled": 0,
            "answerRate": None,
        },
        "startedAt": None,
        "completedAt": None,
        "createdAt": data["createdAt"],
        "updatedAt": data["updatedAt"],
    }


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"name": ""}, ["name"]),
        ({"schedule": {"timezone": "Mars/Olympus", "windows": []}}, ["schedule.timezone", "schedule.windows"]),
        (
            {"schedule": {"timezone": "UTC", "windows": [{"days": ["mon"], "start": "18:00", "end": "09:00"}]}},
            ["schedule.windows.0.end"],
        ),
        ({"retry": {"maxAttempts": 0, "delayMinutes": 5, "on": ["maybe"]}}, ["retry.maxAttempts", "retry.on"]),
        ({"maxConcurrency": 0, "callsPerMinute": 100000}, ["maxConcurrency", "callsPerMinute"]),
        ({"fromNumberIds": []}, ["fromNumberIds"]),
    ],
)
def test_bad_campaigns_are_refused_and_nothing_is_created(alice_client, outbound, overrides, fields):
    assert_error(alice_client.post(URL, create_body(outbound, **overrides), format="json"), 400, fields=fields)
    assert not Campaign.objects.exists()


def test_another_tenants_number_or_agent_is_refused(alice_client, outbound, customer_b):
    from agents.tests.factories import AgentFactory

    theirs = PhoneNumberFactory(customer=customer_b)
    body = create_body(outbound, fromNumberIds=[theirs.id], agentId=AgentFactory(customer=customer_b).id)
    assert_error(alice_client.post(URL, body, format="json"), 400, fields=["fromNumberIds.0", "agentId"])
    assert not Campaign.objects.exists()


def test_json_contacts_are_validated_per_row_and_merged(alice_client, make_campaign):
    campaign = make_campaign()
    rows = [
        {"phone": "+1 415 555 0101", "variables": {"name": "Ada"}},
        {"phone": "not a phone", "variables": {"name": "X"}},
        {"phone": "+14155550101", "variables": {"name": "Ada L."}},  # duplicate: merged, last wins
        {"phone": "+1 900 555 0199", "variables": {"name": "Premium"}},
        {"phone": "+14155550102", "variables": {}},  # the prompt needs {{name}}
    ]
    data = assert_success(alice_client.post(f"{URL}/{campaign.id}/contacts", {"contacts": rows}, format="json"), 201)
    assert data["received"] == 5 and data["added"] == 1 and data["merged"] == 1 and data["rejected"] == 3
    assert [e["row"] for e in data["errors"]] == [2, 4, 5]
    assert data["errors"][2]["message"] == "Missing variable 'name'"
    [contact] = Contact.objects.all()
    assert (contact.phone_number, contact.variables) == ("+14155550101", {"name": "Ada L."})
    assert contact.timezone == "America/Los_Angeles"


def csv_upload(client, campaign, text: str):
    upload = io.BytesIO(text.encode())
    upload.name = "contacts.csv"
    return client.post(f"{URL}/{campaign.id}/contacts", {"file": upload}, format="multipart")


def test_a_csv_upload_adds_contacts_and_reports_bad_rows(alice_client, make_campaign):
    campaign = make_campaign()
    text = "phone,name,plan\n+14155550101,Ada,gold\n12,Bob,silver\n+12125550123,Cy,\n+14155550101,Ada,platinum\n"
    data = assert_success(csv_upload(alice_client, campaign, text), 201, "Contacts added successfully")
    assert (data["received"], data["added"], data["merged"], data["rejected"]) == (4, 2, 1, 1)
    assert data["errors"] == [
        {"row": 3, "phone": "12", "message": "Enter the number in E.164 format, e.g. +14155550100"}
    ]
    ada = Contact.objects.get(phone_number="+14155550101")
    assert ada.variables == {"name": "Ada", "plan": "platinum"}
    assert Contact.objects.get(phone_number="+12125550123").timezone == "America/New_York"
    # Uploading again merges into the same contacts.
    data = assert_success(csv_upload(alice_client, campaign, "phone,name\n+14155550101,Ada\n"), 201)
    assert (data["added"], data["merged"]) == (0, 1) and Contact.objects.count() == 2


@pytest.mark.parametrize(
    "text",
    ["number,name\n+14155550101,Ada\n", "", "phone,name,name\n+14155550101,A,B\n", "phone,first name\n+1415,A\n"],
)
def test_a_csv_with_wrong_columns_is_refused_and_adds_nothing(alice_client, make_campaign, text):
    campaign = make_campaign()
    assert_error(csv_upload(alice_client, campaign, text), 400, fields=["file"])
    assert not Contact.objects.exists()


def test_a_csv_over_the_row_limit_adds_nothing(alice_client, make_campaign, monkeypatch):
    from campaigns import services

    monkeypatch.setattr(services, "CSV_ROWS_MAX", 3)
    campaign = make_campaign()
    text = "phone,name\n" + "".join(f"+1415555{n:04d},N\n" for n in range(4))
    body = assert_error(csv_upload(alice_client, campaign, text), 400, fields=["file"])
    assert body["errors"][0]["message"] == "At most 3 rows per upload"
    assert not Contact.objects.exists()


def test_a_big_csv_is_accepted_above_the_json_body_limit(alice_client, make_campaign, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    campaign = make_campaign()
    text = "phone,name\n" + "".join(f"+1415555{n:04d},Name{n}\n" for n in range(200))
    assert_success(csv_upload(alice_client, campaign, text), 201)
    assert Contact.objects.count() == 200
    assert_error(alice_client.post(URL, {"name": "x" * 2000}, format="json"), 413)


def test_start_is_refused_without_contacts(alice_client, make_campaign):
    campaign = make_campaign()
    body = assert_error(alice_client.post(f"{URL}/{campaign.id}/start"), 400, fields=["contacts"])
    assert body["errors"][0]["message"] == "The campaign has no contacts to call: add some first"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_the_lifecycle(alice_client, make_campaign, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    campaign = make_campaign()
    assert_success(
        alice_client.post(
            f"{URL}/{campaign.id}/contacts",
            {"contacts": [{"phone": "+14155550101", "variables": {"name": "A"}}]},
            format="json",
        ),
        201,
    )
    data = assert_success(alice_client.post(f"{URL}/{campaign.id}/start"), 200, "Campaign started successfully")
    assert data["status"] == "running" and data["startedAt"] and data["progress"]["pending"] == 1
    assert_error(alice_client.post(f"{URL}/{campaign.id}/start"), 409)
    assert_error(alice_client.patch(f"{URL}/{campaign.id}", {"name": "x"}, format="json"), 409)
    assert assert_success(alice_client.post(f"{URL}/{campaign.id}/pause"))["status"] == "paused"
    assert (
        assert_success(alice_client.patch(f"{URL}/{campaign.id}", {"name": "Renamed"}, format="json"))["name"]
        == "Renamed"
    )
    assert assert_success(alice_client.post(f"{URL}/{campaign.id}/resume"))["status"] == "running"
    data = assert_success(alice_client.post(f"{URL}/{campaign.id}/cancel"), 200, "Campaign canceled successfully")
    assert data["status"] == "canceled" and data["progress"]["canceled"] == 1
    assert_error(alice_client.post(f"{URL}/{campaign.id}/cancel"), 409)
    assert_success(alice_client.delete(f"{URL}/{campaign.id}"), 200, "Campaign deleted successfully")


def test_contacts_list_filters_by_status(alice_client, make_campaign):
    campaign = make_campaign()
    services.contacts_add_rows(
        campaign=campaign, rows=[{"phone": f"+1415555010{n}", "variables": {"name": "N"}} for n in range(3)]
    )
    Contact.objects.filter(phone_number="+14155550100").update(status="busy", attempts=1, last_outcome="busy")
    url = f"{URL}/{campaign.id}/contacts"
    data = assert_success(alice_client.get(url, {"status": "busy"}), 200, "Contacts retrieved successfully")
    assert [c["phone"] for c in data["contacts"]] == ["+14155550100"]
    assert data["contacts"][0]["attempts"] == 1 and data["contacts"][0]["outcome"] == "busy"
    assert_error(alice_client.get(url, {"status": "bogus"}), 400, fields=["status"])


def test_results_csv(alice_client, make_campaign):
    from campaigns import services

    campaign = make_campaign()
    services.contacts_add_rows(campaign=campaign, rows=[{"phone": "+14155550101", "variables": {"name": "=cmd"}}])
    response = alice_client.get(f"{URL}/{campaign.id}/results.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "phone,status,attempts,outcome,callIds,timezone,variables"
    assert lines[1] == "+14155550101,pending,0,,,America/Los_Angeles,name==cmd"


def test_dnc_add_list_remove(alice_client, bob_client):
    data = assert_success(
        alice_client.post("/api/v1/dnc", {"phoneNumber": "+1 415 555 0101", "reason": "asked"}, format="json"), 201
    )
    assert data["phoneNumber"] == "+14155550101" and data["reason"] == "asked"
    assert_error(alice_client.post("/api/v1/dnc", {"phoneNumber": "+14155550101"}, format="json"), 409)
    assert_error(alice_client.post("/api/v1/dnc", {"phoneNumber": "nope"}, format="json"), 400, fields=["phoneNumber"])
    listed = assert_success(
        alice_client.get("/api/v1/dnc", {"search": "0101"}), 200, "Do-not-call list retrieved successfully"
    )
    assert [e["id"] for e in listed["doNotCall"]] == [data["id"]]
    assert assert_success(bob_client.get("/api/v1/dnc"))["doNotCall"] == []
    assert_success(alice_client.delete(f"/api/v1/dnc/{data['id']}"))
    assert not DoNotCall.objects.exists()


class CampaignMakers:
    """Campaigns of customer A (alice's, through `make_campaign`) and of customer B (bob's,
    on an agent, number and trunk of B) for the matrices below."""

    @pytest.fixture(autouse=True)
    def _factory(self, make_campaign, outbound, customer_a, customer_b, bob, livekit_server):
        from agents.models import AgentStatus
        from agents.tests.factories import AgentFactory
        from campaigns import services
        from telephony import trunks

        self._outbound = outbound
        agent = AgentFactory(customer=customer_b, status=AgentStatus.ACTIVE)
        number = PhoneNumberFactory(customer=customer_b)
        trunks.sip_trunk_create(
            customer=customer_b, data={"name": "B", "address": "b.example.com", "phone_number_ids": [number.id]}
        )

        def make_b():
            data = {"name": "B", "agent_id": agent.id, "from_number_ids": [number.id], "schedule": ALWAYS}
            return services.campaign_create(actor=bob, data=data)

        self._makers = {customer_a.pk: make_campaign, customer_b.pk: make_b}

    def make_campaign(self, customer):
        return self._makers[customer.pk]()


class TestCampaignsMatrix(CampaignMakers, ResourceMatrix):
    list_url = URL
    list_key = "campaigns"
    not_found_label = "Campaign"
    actions = crud_actions("Campaign", create={}, update={"name": "Hijacked"})  # create: payload_of
    # Members read campaigns; managers build and run them.
    roles = {"create": MANAGERS, "update": MANAGERS, "delete": MANAGERS}
    query_rows = (1, 5)

    def make_object(self, customer):
        return self.make_campaign(customer)

    def payload_of(self, name):
        return create_body(self._outbound) if name == "create" else super().payload_of(name)


class TestCampaignContactsMatrix(CampaignMakers, ResourceMatrix):
    """A campaign's contacts. The campaign is the tenant's row: another tenant's is the
    campaign's 404 for its contacts, listed or added. Members read them; managers add."""

    list_url = URL  # the campaigns: each contact route is under one of them
    list_key = "contacts"
    not_found_label = "Campaign"
    actions = {
        "list": Action("get", on="list", message="Contacts retrieved successfully"),
        # The same list, addressed through the campaign, for the cross-tenant checks.
        "campaign_list": Action("get", suffix="/contacts", message="Contacts retrieved successfully"),
        "add": Action(
            "post",
            suffix="/contacts",
            payload={"contacts": [{"phone": "+12125550199", "variables": {"name": "A"}}]},
            status=201,
            message="Contacts added successfully",
        ),
    }
    roles = {"add": MANAGERS}

    def make_object(self, customer):
        sibling = self.make_campaign(customer)  # its contacts must not be listed
        services.contacts_add_rows(campaign=sibling, rows=[{"phone": "+12125550100", "variables": {"name": "S"}}])
        campaigns = self.__dict__.setdefault("_campaigns", {})
        campaigns[customer.pk] = self.make_campaign(customer)
        services.contacts_add_rows(
            campaign=campaigns[customer.pk], rows=[{"phone": "+12125550101", "variables": {"name": "N"}}]
        )
        return campaigns[customer.pk]

    def list_path(self, customer):
        return f"{URL}/{self._campaigns[customer.pk].pk}/contacts"

    def list_id(self, obj):
        return obj.pk if isinstance(obj, Contact) else obj.contacts.get().pk

    def make_row(self, customer, index):
        """Contacts with 0, 1 and 2 attempts (the list shows each attempt and its call)."""
        if index == 0:
            return self.make_object(customer).contacts.get()
        campaign = self._campaigns[customer.pk]
        services.contacts_add_rows(
            campaign=campaign, rows=[{"phone": f"+1212555{index + 200:04d}", "variables": {"name": "N"}}]
        )
        contact = campaign.contacts.get(phone_number=f"+1212555{index + 200:04d}")
        for number in range(1, index % 3 + 1):
            ContactAttempt.objects.create(contact=contact, campaign=campaign, number=number, outcome="busy")
        return contact

    def tenant_rows(self, obj, customer) -> list[dict]:
        return [*super().tenant_rows(obj, customer), *Contact.objects.filter(campaign=obj).order_by("pk").values()]

    def check_data(self, name, data, obj, customer) -> None:
        super().check_data(name, data, obj, customer)
        if name in ("list", "campaign_list"):
            assert {row["id"] for row in data["contacts"]} <= set(obj.contacts.values_list("pk", flat=True)), data


@pytest.mark.parametrize("action", ["start", "pause", "resume", "cancel"])
def test_lifecycle_of_another_tenants_campaign_is_a_404(bob_client, make_campaign, action):
    campaign = make_campaign()
    assert_error(
        bob_client.post(f"{URL}/{campaign.id}/{action}"), 404, f"Campaign with ID {campaign.id} does not exist"
    )
    assert_error(bob_client.get(f"{URL}/{campaign.id}/results.csv"), 404)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


class TestDncCrossTenant(CrossTenantMatrix):
    list_url = "/api/v1/dnc"
    list_key = "doNotCall"
    not_found_label = "Do-not-call entry"
    detail_requests = {"delete": None}
    counter = 0

    def make_object(self, customer):
        TestDncCrossTenant.counter += 1
        return DoNotCall.objects.create(customer=customer, phone_number=f"+1415555{TestDncCrossTenant.counter:04d}")
