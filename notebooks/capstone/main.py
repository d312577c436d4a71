"""Capstone, part 2: your chat as a web app, served with uvicorn and read by a browser.

    uvicorn main:app        # from this folder; then open http://127.0.0.1:8000/

It has the shape of most streaming tutorials' FastAPI endpoint, and their four holes (TODOs 1-4). Check it from
lesson 10 with ``lesson10.check_app("capstone")``.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel

from helpers import connect
from helpers.models import DEFAULT_MODEL as MODEL

app = FastAPI()
# TODO 4: when the browser leaves, the model must stop writing. A sync client in a sync generator runs in a thread
#         that nobody stops: make the generator async (`AsyncAnthropic` via `connect.async_client()`, `async with`,
#         `async for`), so that FastAPI can cancel it and the `async with` closes the upstream stream (lesson 08).
client = connect.client()

# TODO 3: only your own page may spend your key. Refuse a request whose Host is not yours (DNS rebinding) or that a
#         browser marks as sent by another site (CSRF), with a 4xx and an error JSON, before it reaches Claude.
#         Compare the host name without its port: the checker (or a proxy) runs the app on a port of its own.
#         Over plain http a browser marks another site's link, <img> or form with neither header, so start a stream
#         only for a POST with Content-Type: application/json, which they cannot send: your page POSTs, so delete
#         GET /chat below. The `Conversation` parameter already refuses a body of any other type (FastAPI reads it
#         before the route runs: keep it, rather than reading request.json() inside a route that streams). Let a
#         request with neither header through (a script's), and keep GET / open: it is the page.


class Conversation(BaseModel):
    messages: list[dict]  # [{"role": "user", "content": "..."}, {"role": "assistant", ...}, ...]


@app.get("/")
def page():
    return FileResponse(Path(__file__).with_name("index.html"))


def answer(messages: list[dict]):
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=messages) as stream:
        for text in stream.text_stream:
            # TODO 1: a newline in `text` ends this data: line, and the rest is lost. Name the event and send JSON:
            #         FastAPI's EventSourceResponse and ServerSentEvent do it for you. Declare the route with
            #         response_class=EventSourceResponse and yield the ServerSentEvents from the route itself (loop
            #         over answer(...) and yield each one): returning EventSourceResponse(...) can't send them.
            yield f"data: {text}\n\n"
    # TODO 2: end with a `done` event, so the page can tell a finished answer from a cut connection. If Claude's stream
    #         fails mid-answer, catch what it raises (lesson 04: anthropic.APIError, httpx2.TransportError, ValueError)
    #         and send an `error` event, then still `done`.


HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@app.get("/chat")
def chat(message: str):
    """One question in the URL: what a browser's EventSource can send."""
    return StreamingResponse(
        answer([{"role": "user", "content": message}]), media_type="text/event-stream", headers=HEADERS
    )


@app.post("/chat")
def chat_conversation(conversation: Conversation):
    """A whole conversation as JSON: what the page sends."""
    return StreamingResponse(answer(conversation.messages), media_type="text/event-stream", headers=HEADERS)
