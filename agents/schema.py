"""OpenAPI documentation of /agents, agent versions and /providers, kept out of the views.

Examples (agents/examples.py) are the `data` of each answer; morpheus.api.schema adds the
envelope with the message each view declares."""

from drf_spectacular.utils import extend_schema

from morpheus.api.schema import error, resource_views

from . import examples
from .serializers import (
    AgentCreateInput,
    AgentDeleteOutput,
    AgentDeleteQuery,
    AgentListQuery,
    AgentOutput,
    AgentPageOutput,
    AgentUpdateInput,
    AgentVersionOutput,
    AgentVersionPageOutput,
    ProviderCatalogueOutput,
)
from .services import AGENT_ASSIGNED_MESSAGE, AGENT_ON_CALL_MESSAGE

CONFLICT = error(
    409,
    AGENT_ON_CALL_MESSAGE,
    AGENT_ASSIGNED_MESSAGE.format(count=2),
    description="In use: assigned to phone numbers, or on a ringing/active call",
)

agent = resource_views("agents", globals(), "agent_")

agent_list = extend_schema(
    summary="List agents",
    parameters=[AgentListQuery],
    responses=AgentPageOutput,
    examples=[examples.AGENT_LIST],
)

agent_create = extend_schema(
    summary="Create an agent (starts as draft)",
    request=AgentCreateInput,
    responses={201: AgentOutput},
    examples=[
        examples.AGENT_CREATE_REQUEST,
        examples.AGENT_CREATE_FULL_REQUEST,
        examples.AGENT_CREATE_RESPONSE,
    ],
)

agent_retrieve = extend_schema(summary="Get an agent", responses=AgentOutput, examples=[examples.AGENT_RESPONSE])

agent_partial_update = extend_schema(
    summary="Update an agent (partial)",
    request=AgentUpdateInput,
    responses=AgentOutput,
    examples=[examples.AGENT_UPDATE_REQUEST, examples.AGENT_UPDATE_RESPONSE],
)

agent_destroy = extend_schema(
    summary="Delete an agent",
    description=(
        "Refused with 409 while a call is ringing or active with the agent, and while phone numbers "
        "route to it unless `detachNumbers=true` (owners and admins), which unassigns them first."
    ),
    parameters=[AgentDeleteQuery],
    responses={200: AgentDeleteOutput, 409: CONFLICT},
    examples=[examples.AGENT_DELETE_RESPONSE],
)

agent_version = resource_views("agent-versions", globals(), "agent_version_")

agent_version_list = extend_schema(summary="List an agent's versions (newest first)", responses=AgentVersionPageOutput)

agent_version_retrieve = extend_schema(summary="Get one version with its snapshot", responses=AgentVersionOutput)

agent_version_restore = extend_schema(
    summary="Restore a version",
    description=(
        "Makes version n the agent's configuration again, recorded as a new version equal to n "
        "(`restoredFrom: n`). The snapshot is validated like any edit: a provider disabled since is a 400."
    ),
    request=None,
    responses={201: AgentVersionOutput},
)

provider_catalogue = extend_schema(
    tags=["agents"],
    summary="The provider catalogue",
    description=(
        "The active LLM, STT and TTS providers an agent may use, with the models and voices each offers. "
        "An empty `models` or `voices` list means the vendor has no fixed list and any name is accepted."
    ),
    responses=ProviderCatalogueOutput,
    examples=[examples.PROVIDERS_RESPONSE],
)
