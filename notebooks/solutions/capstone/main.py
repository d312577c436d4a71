"""Capstone, part 2, solved: your chat as a web app, served with uvicorn and read by a browser.

uvicorn main:app        # from the folder with index.html; then open http://127.0.0.1:8000/
"""

from pathlib import Path

import anthropic
import httpx2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL

app = FastAPI(max_body_size=1024 * 1024)  # a bigger body is refused (413) as it arrives: memory stays bounded
client = connect.async_client()  # async: FastAPI can cancel the generator when the browser leaves
OWN_HOSTS = ("127.0.0.1", "localhost")  # behind a hub, add its host name: "hub.example.org"


def refuse(status: int, kind: str, message: str) -> JSONResponse:
    """The real API's error shape, so a client handles the app's refusals like the API's."""
    return JSONResponse({"type": "error", "error": {"type": kind, "message": message}}, status_code=status)


@app.middleware("http")
async def only_our_own_page(request: Request, call_next):
    host = request.headers.get("host", "")
    if host.rsplit(":", 1)[0] not in OWN_HOSTS:  # another name for this machine: DNS rebinding
        return refuse(421, "invalid_request_error", f"this server answers only {' and '.join(OWN_HOSTS)}")
    site, origin = request.headers.get("sec-fetch-site"), request.headers.get("origin")
    if site not in (None, "same-origin", "none") or (site is None and origin not in (None, f"http://{host}")):
        return refuse(403, "permission_error", "requests from other sites are refused")  # CSRF, where marked
    # Over plain http a browser marks another site's link, <img> or form with neither header: what it cannot send
    # is a JSON POST (a form can't; a fetch from another site that tries must ask first, and is never allowed).
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if request.url.path != "/" and (request.method != "POST" or kind != "application/json"):
        return refuse(415, "invalid_request_error", "expected a POST with Content-Type: application/json")
    return await call_next(request)


class Conversation(BaseModel):
    messages: list[dict]  # [{"role": "user", "content": "..."}, {"role": "assistant", ...}, ...]


@app.get("/")
async def page():
    return FileResponse(Path(__file__).with_name("index.html"))


async def answer(messages: list[dict]):
    """``text`` events as the answer arrives, ``error`` if the API fails, and always ``done`` last."""
    try:
        async with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
            async for text in stream.text_stream:
                yield ServerSentEvent(event="text", data={"text": text})  # JSON: no newline can end the line
    # lesson 04's catch rule: the SDK's errors (an error event too), a connection dropped mid-stream, bad data
    except (anthropic.APIError, httpx2.TransportError, ValueError) as err:
        yield ServerSentEvent(event="error", data={"message": f"The model API failed ({type(err).__name__})."})
    yield ServerSentEvent(event="done", data={})


@app.post("/chat", response_class=EventSourceResponse)
async def chat_conversation(conversation: Conversation):
    """A whole conversation as JSON: what the page sends (no GET /chat: any link could start that one)."""
    async for event in answer(conversation.messages):
        yield event
