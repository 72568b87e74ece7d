"""Local stand-ins for the speech and language providers, speaking their real wire protocols.

- `DeepgramServer`: Deepgram's live transcription websocket (`/v1/listen`): linear16 audio
  in, `SpeechStarted` and interim/final `Results` out, `KeepAlive`/`Finalize`/`CloseStream`
  understood, `Authorization: Token <key>` checked; `GET /v1/projects` for key checks. It
  does not recognise speech: it finds speech in the audio by its energy, and each utterance
  it hears is transcribed as the next line of its script (interim results grow word by word
  with the speech, so word-count barge-in sees real interim transcripts).
- `ElevenLabsServer`: ElevenLabs' multi-context websocket
  (`/v1/text-to-speech/{voice}/multi-stream-input`): text in, base64 PCM and `isFinal` out,
  `xi-api-key` checked; `GET /v1/voices` and `GET /v1/user` for the voice list and key checks.
- `OpenAIServer`: `POST /v1/chat/completions` (streamed), `POST /v1/audio/speech` (PCM) and
  `GET /v1/models`, bearer key checked; a reply can be delayed or stall for ever.

Synthesised speech is a tone, 0.3 s a word, so a test knows how long the agent talks.
Each server runs its own event loop in a thread on 127.0.0.1 (any port), and records what
it received with timestamps (`time.monotonic()`), so tests and the benchmark can measure
the pipeline's own overhead apart from the providers'.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy
from aiohttp import WSMsgType, web

SECONDS_PER_WORD = 0.3
TTS_SAMPLE_RATE = 24000


def tone(seconds: float, *, sample_rate: int = TTS_SAMPLE_RATE, frequency: float = 220.0) -> bytes:
    t = numpy.arange(int(seconds * sample_rate)) / sample_rate
    return (8000 * numpy.sin(2 * math.pi * frequency * t)).astype("<i2").tobytes()


def speech_for(text: str) -> bytes:
    words = max(1, len(text.split()))
    return tone(words * SECONDS_PER_WORD)


class _AioServer:
    """An aiohttp application served from its own loop and thread."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self._runner = web.AppRunner(self.app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True, name=type(self).__name__)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _key_checked(handler):
    """A route of a keyed provider API: a request without the right key gets the
    provider's own 401 (`_refusal`) before the handler runs, checked here for every route."""

    @functools.wraps(handler)
    async def checked(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._refusal()
        return await handler(self, request)

    return checked


class _KeyedV1Server(_AioServer):
    """A provider's API under `/v1` (ElevenLabs, OpenAI): its routes are `_key_checked`
    with the provider's own header (`_authorized`) and 401 body (`_refusal`)."""

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def _authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def _refusal(self) -> web.Response:
        raise NotImplementedError


# --- Deepgram -----------------------------------------------------------------------------


@dataclass
class Utterance:
    """What the Deepgram stand-in heard: when speech started and ended (stream seconds and
    monotonic clock), and the transcript it answered."""

    transcript: str
    speech_started: float
    speech_ended: float
    final_sent_at: float = 0.0
    interims: list[str] = field(default_factory=list)


class DeepgramServer(_AioServer):
    # Energy of a 20 ms window above which it counts as speech (int16 RMS).
    SPEECH_RMS = 400.0
    # Silence after speech before the transcript is final (`is_final`), and before the
    # end of speech is declared (`speech_final`, Deepgram's `endpointing`); a longer
    # endpointing sends the final transcript first, then an empty `speech_final` result.
    FINAL_AFTER = 0.3
    ENDPOINTING = 0.3
    INTERIM_EVERY = 0.25

    def __init__(self, script: list[str] | None = None, *, api_key: str = "dg-test-key") -> None:
        super().__init__()
        self.api_key = api_key
        self.script = list(script or [])
        self.utterances: list[Utterance] = []
        self.audio_seconds = 0.0
        self.connections = 0
        self.rejected = 0
        self.app.router.add_get("/v1/listen", self._listen)
        self.app.router.add_get("/v1/projects", self._projects)

    @property
    def listen_url(self) -> str:
        return f"{self.url}/v1/listen"

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header in (f"Token {self.api_key}", f"token {self.api_key}", f"Bearer {self.api_key}")

    async def _projects(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, status=401)
        return web.json_response({"projects": [{"project_id": "p-1", "name": "Test project"}]})

    async def _listen(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            self.rejected += 1
            return web.json_response({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}, status=401)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        rate = int(request.query.get("sample_rate", "16000"))
        request_id = str(uuid.uuid4())
        state = {"t": 0.0, "speech_start": None, "last_voice": None, "last_interim": 0.0, "finalized": False}

        async def send_results(
            words: list[str], *, final: bool, start: float, end: float, speech_final: bool | None = None
        ) -> None:
            step = (end - start) / max(1, len(words))
            await ws.send_json(
                {
                    "type": "Results",
                    "channel_index": [0, 1],
                    "duration": end - start,
                    "start": start,
                    "is_final": final,
                    "speech_final": final if speech_final is None else speech_final,
                    "from_finalize": False,
                    "channel": {
                        "alternatives": [
                            {
                                "transcript": " ".join(words),
                                "confidence": 0.98,
                                "words": [
                                    {
                                        "word": w.strip(".,?!").lower(),
                                        "punctuated_word": w,
                                        "start": start + i * step,
                                        "end": start + (i + 1) * step,
                                        "confidence": 0.98,
                                    }
                                    for i, w in enumerate(words)
                                ],
                            }
                        ]
                    },
                    "metadata": {"request_id": request_id, "model_uuid": "stand-in", "model_info": {}},
                }
            )

        async def finish_utterance(*, endpoint: bool = True) -> None:
            start, end = state["speech_start"], state["last_voice"]
            transcript = self.script.pop(0) if self.script else ""
            utterance = Utterance(transcript=transcript, speech_started=start, speech_ended=end)
            await send_results(transcript.split(), final=True, start=start, end=end, speech_final=endpoint)
            utterance.final_sent_at = time.monotonic()
            self.utterances.append(utterance)
            state["finalized"] = True
            if endpoint:
                state["speech_start"], state["finalized"] = None, False

        async def endpoint() -> None:
            state["speech_start"], state["finalized"] = None, False
            await send_results([], final=True, start=state["last_voice"], end=state["t"], speech_final=True)

        async for message in ws:
            if message.type == WSMsgType.BINARY:
                data = message.data
                samples = len(data) // 2
                window = max(1, rate // 50)
                values = numpy.frombuffer(data[: samples * 2], dtype="<i2").astype(numpy.float64)
                for offset in range(0, samples, window):
                    chunk = values[offset : offset + window]
                    if not len(chunk):
                        continue
                    rms = float(numpy.sqrt(numpy.mean(chunk * chunk)))
                    state["t"] += len(chunk) / rate
                    now = state["t"]
                    if rms >= self.SPEECH_RMS:
                        if state["speech_start"] is None or state["finalized"]:
                            state["speech_start"], state["finalized"] = now, False
                            state["last_interim"] = now
                            await ws.send_json({"type": "SpeechStarted", "channel": [0], "timestamp": now})
                        state["last_voice"] = now
                    if state["speech_start"] is None:
                        continue
                    silence = now - state["last_voice"]
                    if state["finalized"]:
                        if silence >= self.ENDPOINTING:
                            await endpoint()
                    elif silence >= self.FINAL_AFTER:
                        await finish_utterance(endpoint=silence >= self.ENDPOINTING)
                    elif now - state["last_interim"] >= self.INTERIM_EVERY and self.script:
                        state["last_interim"] = now
                        words = self.script[0].split()
                        heard = min(len(words), 1 + int((now - state["speech_start"]) / SECONDS_PER_WORD))
                        await send_results(words[:heard], final=False, start=state["speech_start"], end=now)
                self.audio_seconds += samples / rate
            elif message.type == WSMsgType.TEXT:
                kind = json.loads(message.data).get("type")
                if kind == "Finalize" and state["speech_start"] is not None and not state["finalized"]:
                    await finish_utterance()
                elif kind == "CloseStream":
                    await ws.close()
        return ws


# --- ElevenLabs ---------------------------------------------------------------------------


@dataclass
class Synthesis:
    voice_id: str
    text: str
    first_text_at: float
    first_audio_at: float = 0.0


class ElevenLabsServer(_KeyedV1Server):
    def __init__(
        self, *, api_key: str = "el-test-key", voices: list[tuple[str, str]] | None = None, latency: float = 0.0
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.voices = voices or [("voice-rachel", "Rachel"), ("voice-adam", "Adam")]
        self.latency = latency
        self.syntheses: list[Synthesis] = []
        self.voice_list_requests = 0
        self.app.router.add_get("/v1/text-to-speech/{voice_id}/multi-stream-input", self._multi_stream)
        self.app.router.add_get("/v1/voices", self._voices)
        self.app.router.add_get("/v2/voices", self._voices)
        self.app.router.add_get("/v1/user", self._user)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("xi-api-key") == self.api_key

    def _refusal(self) -> web.Response:
        detail = {"status": "invalid_api_key", "message": "Invalid API key"}
        return web.json_response({"detail": detail}, status=401)

    @_key_checked
    async def _user(self, request: web.Request) -> web.Response:
        return web.json_response({"user_id": "u-1", "subscription": {"tier": "starter"}})

    @_key_checked
    async def _voices(self, request: web.Request) -> web.Response:
        self.voice_list_requests += 1
        voices = [{"voice_id": vid, "name": name, "category": "premade", "labels": {}} for vid, name in self.voices]
        return web.json_response({"voices": voices, "has_more": False, "total_count": len(voices)})

    @_key_checked
    async def _multi_stream(self, request: web.Request) -> web.StreamResponse:
        voice_id = request.match_info["voice_id"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        texts: dict[str, list[str]] = {}
        records: dict[str, Synthesis] = {}

        async def speak(context_id: str) -> None:
            text = "".join(texts.get(context_id, [])).strip()
            texts[context_id] = []
            if not text:
                return
            if self.latency:
                await asyncio.sleep(self.latency)
            record = records[context_id]
            record.text = (record.text + " " + text).strip()
            audio = speech_for(text)
            if not record.first_audio_at:
                record.first_audio_at = time.monotonic()
            for offset in range(0, len(audio), 9600):
                chunk = base64.b64encode(audio[offset : offset + 9600]).decode()
                await ws.send_json({"audio": chunk, "contextId": context_id, "alignment": None})

        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            context_id = data.get("context_id") or data.get("contextId") or ""
            if context_id not in records:
                records[context_id] = Synthesis(voice_id=voice_id, text="", first_text_at=time.monotonic())
                self.syntheses.append(records[context_id])
            if data.get("close_context"):
                await speak(context_id)
                await ws.send_json({"isFinal": True, "contextId": context_id})
                continue
            if data.get("close_socket"):
                await ws.close()
                break
            text = data.get("text", "")
            if text.strip():
                texts.setdefault(context_id, []).append(text)
            if data.get("flush"):
                await speak(context_id)
        return ws


# --- OpenAI -------------------------------------------------------------------------------


@dataclass
class Reply:
    """A scripted chat completion: its text, a delay before the first token, or a stall
    (no answer at all, as a hung upstream)."""

    text: str = ""
    delay: float = 0.0
    stall: bool = False
    tool_call: tuple[str, dict] | None = None


@dataclass
class Completion:
    messages: list[dict]
    received_at: float
    first_token_at: float = 0.0


class OpenAIServer(_KeyedV1Server):
    """`responder(body)`, when set, sees each chat request first and may answer it (a Reply)
    by what it asks, e.g. a classification prompt; None falls through to the script."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        api_key: str = "sk-test",
        default: Reply | None = None,
        responder: Callable[[dict], Reply | None] | None = None,
    ):
        super().__init__()
        self.api_key = api_key
        self.replies = list(replies or [])
        self.default = default or Reply(text="Okay.")
        self.responder = responder
        self.completions: list[Completion] = []
        self.speeches: list[tuple[str, str, float]] = []  # (voice, text, received_at)
        self.app.router.add_post("/v1/chat/completions", self._chat)
        self.app.router.add_post("/v1/audio/speech", self._speech)
        self.app.router.add_get("/v1/models", self._models)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _refusal(self) -> web.Response:
        error = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}
        return web.json_response({"error": error}, status=401)

    @_key_checked
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})

    @_key_checked
    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.speeches.append((body.get("voice", ""), body.get("input", ""), time.monotonic()))
        response = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await response.prepare(request)
        await response.write(speech_for(body.get("input", "")))
        await response.write_eof()
        return response

    @_key_checked
    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        record = Completion(messages=body.get("messages", []), received_at=time.monotonic())
        self.completions.append(record)
        reply = self.responder(body) if self.responder is not None else None
        if reply is None:
            reply = self.replies.pop(0) if self.replies else self.default
        if reply.stall:
            await asyncio.sleep(3600)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chat_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"

        async def send(delta: dict, finish: str | None = None, usage: dict | None = None) -> None:
            chunk = {
                "id": chat_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", "gpt-4o-mini"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else [],
            }
            if usage is not None:
                chunk["usage"] = usage
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        words = reply.text.split(" ") if reply.text else []
        for index, word in enumerate(words):
            if not record.first_token_at:
                record.first_token_at = time.monotonic()
            await send({"role": "assistant", "content": word if index == len(words) - 1 else word + " "})
        if reply.tool_call is not None:
            name, arguments = reply.tool_call
            call = {"index": 0, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "function"}
            call["function"] = {"name": name, "arguments": json.dumps(arguments)}
            await send({"role": "assistant", "tool_calls": [call]})
            await send({}, finish="tool_calls")
        else:
            await send({}, finish="stop")
        await send({}, usage={"prompt_tokens": 10, "completion_tokens": max(1, len(words)), "total_tokens": 11})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
