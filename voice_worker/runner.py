"""One call in the voice worker: from the dispatch to a running `CallRunner`.

`run_job` reads the dispatch (`dispatch.py`), loads the call with its agent and providers,
builds the pipeline and starts a `CallRunner` (`call_runner.py`). Bad dispatches are
refused without touching any call. A call we cannot run (its agent was deleted, its
customer suspended, a provider without credentials) is closed as failed with that reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from asgiref.sync import sync_to_async
from livekit.agents import JobContext

from agents import voice_settings
from calls.models import EndReason

from . import providers
from .bridge import BridgeMedia
from .call_runner import CallAudio, CallRunner
from .closing import delete_room
from .config import AgentConfig, CallInfo, call_info
from .dispatch import InvalidDispatch, dispatch_problem, parse_dispatch
from .persistence import acall_end_if_open, release_stale_connections
from .selectors import acall_for_conversation, afallback_provider_rows

logger = logging.getLogger(__name__)

BuildModels = Callable[[AgentConfig], providers.PipelineModels]


async def run_job(
    ctx: JobContext,
    *,
    build_models: BuildModels | None = None,
    text_mode: bool = False,
    caller_identity: str | None = None,
    audio: CallAudio | None = None,
    bridge: BridgeMedia | None = None,
) -> CallRunner | None:
    """The job: returns the running call, or None when the dispatch was refused or the
    call could not start (and was closed). `build_models`, `text_mode`, `caller_identity`,
    `audio` and `bridge` (a warm transfer's bridged parties) let tests run the real thing
    without a room or real providers."""
    await sync_to_async(release_stale_connections)()
    try:
        dispatch = parse_dispatch(ctx.job.metadata)
    except InvalidDispatch as exc:
        logger.warning("refusing dispatch: %s", exc, extra={"job_id": ctx.job.id})
        ctx.shutdown(reason=str(exc))
        return None

    try:
        call = await acall_for_conversation(dispatch.call_id)
    except Exception:
        # The database is unreachable: nothing to record; the stale-call sweep closes the call.
        logger.exception("could not load call %s", dispatch.call_id)
        ctx.shutdown(reason="could not load the call")
        return None
    if problem := dispatch_problem(call, dispatch, room_name=ctx.job.room.name):
        logger.warning("refusing dispatch: %s", problem, extra={"job_id": ctx.job.id})
        ctx.shutdown(reason=problem)
        return None

    info = call_info(call)
    if call.agent is None:
        await fail_call(ctx, info, "The call's agent was deleted.")
        return None
    if not call.customer.is_active:
        await fail_call(ctx, info, "The customer's account is suspended.")
        return None
    config = AgentConfig.from_agent(call.agent, fallback_rows=await afallback_provider_rows(call.agent))
    # Outbound: the call's {{variables}} in the prompt and first message.
    config = config.with_variables((call.metadata or {}).get("variables"))
    try:
        if build_models is not None:
            # A test's factory may read the database (customer keys): off the event loop.
            models = await sync_to_async(build_models)(config)
        else:
            resolved = await sync_to_async(providers.resolve)(config)
            models = providers.build_pipeline(config, vad=ctx.proc.userdata.get("vad"), resolved=resolved)
    except providers.ProviderNotConfigured as exc:
        await fail_call(ctx, info, str(exc))
        return None
    except Exception as exc:  # a plugin refusing its options, ...
        logger.exception("could not set up the models of call %s", info.call_id)
        await fail_call(ctx, info, f"The agent's models could not be set up: {exc}")
        return None

    runner = CallRunner(
        ctx=ctx,
        call=info,
        config=config,
        models=models,
        answered_at=call.answered_at,
        text_mode=text_mode,
        caller_identity=caller_identity,
        audio=audio,
        bridge=bridge,
    )
    runner.voicemail = voice_settings.complete(call.agent.voice_settings).get("voicemail")
    try:
        await runner.start()
    except Exception as exc:
        logger.exception("the agent could not start", extra={"call_id": info.call_id})
        await runner.abort(f"The agent could not start: {exc}")
        return None
    return runner


async def fail_call(ctx: JobContext, call: CallInfo, message: str) -> None:
    logger.warning("failing call %s: %s", call.call_id, message)
    await acall_end_if_open(call_id=call.call_id, reason=EndReason.ERROR, error_message=message)
    await delete_room(call.room_name)
    ctx.shutdown(reason=message)
