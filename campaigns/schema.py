"""OpenAPI documentation of /campaigns and /dnc, kept out of the views."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from morpheus.api.schema import error, resource_views

from .serializers import (
    CampaignInput,
    CampaignOutput,
    CampaignPageOutput,
    ContactListQuery,
    ContactPageOutput,
    ContactsJsonInput,
    DncInput,
    DncListQuery,
    DncOutput,
    DncPageOutput,
    DncRemovedOutput,
    UploadReportOutput,
)


# The campaign's status does not allow it (campaigns/services.py names the status).
def _conflict(message: str) -> OpenApiResponse:
    return error(409, message, description="The campaign's status does not allow it")


campaign = resource_views("campaigns", globals(), "campaign_")

campaign_list = extend_schema(summary="List campaigns", responses=CampaignPageOutput)

campaign_create = extend_schema(
    summary="Create a campaign",
    description="A draft: add contacts, then start it. `schedule.windows` are local times of each recipient "
    "(their number's zone when it has one, else `schedule.timezone`).",
    request=CampaignInput,
    responses={201: CampaignOutput},
)

campaign_retrieve = extend_schema(summary="Get a campaign with its progress", responses=CampaignOutput)

campaign_partial_update = extend_schema(
    summary="Update a draft or paused campaign",
    request=CampaignInput,
    responses={200: CampaignOutput, 409: _conflict("Campaign with ID 1 is running: pause it to change it")},
)

campaign_destroy = extend_schema(
    summary="Delete a campaign that is not running or paused",
    responses={200: None, 409: _conflict("Campaign with ID 1 is running: cancel it first")},
)

campaign_start = extend_schema(
    summary="Start dialing",
    description="Refused (400) with no pending contacts or no calling window; 409 unless draft.",
    request=None,
    responses={200: CampaignOutput, 409: _conflict("Campaign with ID 1 is running, not draft")},
)

campaign_pause = extend_schema(
    summary="Pause dialing (calls in progress finish)", request=None, responses={200: CampaignOutput}
)

campaign_resume = extend_schema(summary="Resume a paused campaign", request=None, responses={200: CampaignOutput})

campaign_cancel = extend_schema(
    summary="Cancel: pending contacts will not be called", request=None, responses={200: CampaignOutput}
)

campaign_contacts = extend_schema(
    summary="List a campaign's contacts",
    parameters=[ContactListQuery],
    responses=ContactPageOutput,
)

campaign_add_contacts = extend_schema(
    summary="Add contacts (JSON rows or a CSV upload)",
    description=(
        "JSON: `{contacts: [{phone, variables}]}` (at most 1000). Multipart: `file`, a UTF-8 CSV whose first row "
        "names the columns: `phone` and one column per variable of the agent's prompt (at most 100,000 rows, "
        "read as a stream). Numbers are normalised to E.164; premium and emergency numbers, and rows missing "
        "a variable, are rejected and reported by row; a number already in the campaign is merged."
    ),
    request={"application/json": ContactsJsonInput, "multipart/form-data": None},
    responses={201: UploadReportOutput, 409: _conflict("Campaign with ID 1 is completed: contacts cannot be added")},
)

campaign_results = extend_schema(
    summary="Results as CSV",
    description="One row per contact: phone, status, attempts, outcome, call ids, variables. Streamed.",
    responses={(200, "text/csv"): OpenApiResponse(description="CSV with a header row")},
)

do_not_call = resource_views("campaigns", globals(), "do_not_call_")

do_not_call_list = extend_schema(summary="The do-not-call list", parameters=[DncListQuery], responses=DncPageOutput)

do_not_call_create = extend_schema(
    summary="Add a number to the do-not-call list",
    description="Every campaign skips it from then on. 409 if it is already listed.",
    request=DncInput,
    responses={201: DncOutput, 409: OpenApiResponse(description="The number is already on the list")},
    parameters=[OpenApiParameter("search", str, required=False)],
)

do_not_call_destroy = extend_schema(
    summary="Remove a number from the do-not-call list", responses={200: DncRemovedOutput}
)
