"""An OpenAI-compatible stand-in for post-call analysis: the voice worker's server
(real HTTP, real chat-completions JSON) with answers that can also be slow."""

import json
import time
from dataclasses import dataclass

from voice_worker.tests.servers import ChatReply, OpenAICompatibleServer, _OpenAIHandler


@dataclass
class AnalysisReply(ChatReply):
    delay: float = 0.0  # seconds before answering (a slow model)


def answer(**fields) -> AnalysisReply:
    return AnalysisReply(text=json.dumps(fields))


class _SlowHandler(_OpenAIHandler):
    def _completion(self, request, reply):
        time.sleep(getattr(reply, "delay", 0.0))
        return super()._completion(request, reply)


class AnalysisLLM(OpenAICompatibleServer):
    handler_class = _SlowHandler
