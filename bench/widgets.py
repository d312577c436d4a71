"""What a stream costs between kernel and browser, counted on a real kernel's iopub socket: a live view (TextView),
the tutorial's ``print(text, end="", flush=True)`` loop, and the naive ``ipywidgets.HTML().value += text``, one run.

A python3 kernel is started with jupyter_client; a zmq SUB socket on its iopub port receives every message the
kernel sends, and every byte of every part of each multipart message is counted (topic, delimiter, signature,
header, parent header, metadata, content) from the cell's execute request to its ``idle``. The same request is
streamed from one local API into each of the three, at two paces: instant (a 10,000-token answer, as fast as the SDK
parses it) and realistic (~28 deltas/s). Each pace starts a fresh kernel, whose first view carries the views' code.

    python bench/widgets.py
"""

from __future__ import annotations

import ast
import json
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict

import zmq
from jupyter_client.manager import start_new_kernel

MODEL = "claude-sonnet-4-6"
CASES = [("realistic", "Explain streaming in detail.", 1024), ("instant", "Count to 3700", 20_000)]
SECOND_VIEW_LIMIT = 4000  # bytes: a view after the kernel's first opens in less
UPDATES_LIMIT = 1.5  # x the text: a TextView's update messages at instant pace
LATENCY_LIMIT = 0.100  # seconds a delta may wait for its message
OPENING = ("comm_open", "display_data")  # what opening a view sends (any cell also sends status and its input)

SETUP = """
import json, time
import anthropic, ipywidgets
from IPython.display import display
from helpers.widgets import TextView
client = anthropic.Anthropic(base_url={url!r}, api_key="bench", max_retries=0)
REQUEST = {{"model": {model!r}, "max_tokens": {max_tokens}, "messages": [{{"role": "user", "content": {prompt!r}}}]}}
ARRIVALS, SHOWN = [], ""
"""
CELLS = {
    "TextView": """
view = TextView()
with client.messages.stream(**REQUEST) as stream:
    for text in stream.text_stream:
        view.append(text)
        ARRIVALS.append((time.time(), len(view.text)))
    view.finish(stream.get_final_message())
SHOWN = view.text
""",
    "print loop": """
with client.messages.stream(**REQUEST) as stream:
    for text in stream.text_stream:
        print(text, end="", flush=True)
""",
    "HTML.value +=": """
html = ipywidgets.HTML()
display(html)
with client.messages.stream(**REQUEST) as stream:
    for text in stream.text_stream:
        html.value += text
""",
}


class Iopub:
    """Every message on a kernel's iopub socket, with its size in bytes (all parts) and when it arrived."""

    def __init__(self, info: dict):
        self.sock = zmq.Context.instance().socket(zmq.SUB)
        self.sock.setsockopt(zmq.RCVHWM, 0)  # no limit: a burst must not be dropped before it is counted
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect(f"{info['transport']}://{info['ip']}:{info['iopub_port']}")
        self.messages: list[dict] = []
        self.lock = threading.Condition()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                frames = self.sock.recv_multipart()
            except zmq.ZMQError:
                return
            at = time.time()
            i = frames.index(b"<IDS|MSG>")
            header, parent, content = (json.loads(frames[i + k]) for k in (2, 3, 5))
            message = {
                "at": at,
                "bytes": sum(len(f) for f in frames),
                "type": header["msg_type"],
                "parent": parent.get("msg_id"),
                "content": content,
            }
            with self.lock:
                self.messages.append(message)
                self.lock.notify_all()

    def cell(self, client, code: str, timeout: float = 300) -> list[dict]:
        """Run ``code``; every iopub message from the request to its ``idle``."""
        with self.lock:
            first = len(self.messages)
        msg_id = client.execute(code)
        deadline = time.monotonic() + timeout
        with self.lock:
            while not any(
                m["type"] == "status" and m["parent"] == msg_id and m["content"]["execution_state"] == "idle"
                for m in self.messages[first:]
            ):
                if not self.lock.wait(deadline - time.monotonic()):
                    raise TimeoutError(f"the cell did not finish within {timeout} s: {code[:80]!r}")
            got = self.messages[first:]
        if errors := [m["content"] for m in got if m["type"] == "error"]:
            raise RuntimeError(f"the cell failed: {errors[0]['ename']}: {errors[0]['evalue']}")
        return got


def evaluate(client, expression: str):
    """The value of ``expression`` in the kernel, from the shell reply (the client's own iopub queue is never read)."""
    msg_id = client.execute("", silent=True, user_expressions={"x": f"json.dumps({expression})"})  # a str: whole
    while (reply := client.get_shell_msg(timeout=60))["parent_header"].get("msg_id") != msg_id:
        pass
    return json.loads(ast.literal_eval(reply["content"]["user_expressions"]["x"]["data"]["text/plain"]))


def kinds(messages: list[dict]) -> dict:
    """Bytes by what they are: view open, updates, static output, printed text, the cell's own envelope."""
    out: dict[str, int] = defaultdict(int)
    for m in messages:
        kind = {
            "comm_open": "open",
            "comm_msg": "updates",
            "display_data": "outputs",
            "stream": "outputs",
        }.get(m["type"], "status")
        out[kind] += m["bytes"]
    return out


def carried(message: dict) -> int:
    """Characters of text a view's update message carries (short form ``[seq, text]`` or ``+`` ops)."""
    data = message["content"].get("data", {})
    if data.get("method") != "custom":
        return 0
    body = data["content"]
    if isinstance(body, list):
        return len(body[1])
    return sum(len(op[3]) for op in body.get("o", []) if op[0] == "+")


def latencies(arrivals: list, messages: list[dict]) -> list[float]:
    """For each delta (its append time, the view's length after it): seconds until the message that carried it."""
    sent, total = [], 0
    for m in messages:
        if m["type"] == "comm_msg" and (n := carried(m)):
            total += n
            sent.append((m["at"], total))
    delays, i = [], 0
    for at, chars in arrivals:
        while sent[i][1] < chars:
            i += 1
        delays.append(max(0.0, sent[i][0] - at))
    return delays


def kb(n: float) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def local_api(pace: str) -> tuple[subprocess.Popen, str]:
    """The local API in a process of its own (a thread here would compete with the iopub reader for the GIL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.offline", "--port", "0", "--pace", pace], stdout=subprocess.PIPE, text=True
    )
    return proc, proc.stdout.readline().strip().removeprefix("listening on ")


def run(pace: str, prompt: str, max_tokens: int) -> dict:
    api_proc, url = local_api(pace)
    try:
        manager, client = start_new_kernel(kernel_name="python3")
        try:
            iopub = Iopub(manager.get_connection_info())
            while not iopub.messages:  # the SUB socket is connected once it hears the kernel
                client.execute("pass")
                time.sleep(0.2)
            iopub.cell(client, SETUP.format(url=url, model=MODEL, max_tokens=max_tokens, prompt=prompt))
            opens = [
                iopub.cell(client, "view = TextView()") for _ in range(2)
            ]  # the kernel's first view, then a second
            cells = {name: iopub.cell(client, code) for name, code in CELLS.items()}
            text = evaluate(client, "SHOWN")
            arrivals = evaluate(client, "ARRIVALS")
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    finally:
        api_proc.terminate()
        api_proc.wait(timeout=10)
    return {"pace": pace, "prompt": prompt, "text": text, "opens": opens, "cells": cells, "arrivals": arrivals}


def report(result: dict) -> dict:
    text = len(result["text"].encode())
    deltas = len(result["arrivals"])
    seconds = result["arrivals"][-1][0] - result["arrivals"][0][0]
    print(
        f"\n{result['pace']} pace · {result['prompt']!r}: {kb(text)} of text in {deltas} deltas "
        f"({deltas / max(seconds, 1e-9):.0f} deltas/s)"
    )
    print(
        f"  {'the cell':<16}{'whole cell':>11}{'per text B':>11}{'messages':>10}"
        f"{'open':>10}{'updates':>11}{'outputs':>10}{'status etc':>11}"
    )
    totals = {}
    for name, messages in result["cells"].items():
        total, parts = sum(m["bytes"] for m in messages), kinds(messages)
        totals[name] = total
        print(
            f"  {name:<16}{kb(total):>11}{total / text:>10.2f}x{len(messages):>10}"
            f"{kb(parts['open']):>10}{kb(parts['updates']):>11}{kb(parts['outputs']):>10}{kb(parts['status']):>11}"
        )
    view = result["cells"]["TextView"]
    updates = sum(m["bytes"] for m in view if m["type"] == "comm_msg")
    n_updates = sum(m["type"] == "comm_msg" for m in view)
    delays = sorted(latencies(result["arrivals"], view))
    printed = sum(m["type"] == "stream" for m in result["cells"]["print loop"])
    print(
        f"  TextView updates: {n_updates} messages, {kb(updates)} = {updates / text:.2f}x the text "
        f"(the print loop: {printed} messages for {deltas} deltas)"
    )
    first, second = (sum(m["bytes"] for m in cell if m["type"] in OPENING) for cell in result["opens"])
    envelope = sum(m["bytes"] for m in result["opens"][1] if m["type"] not in OPENING)
    print(
        f"  opening a view (`view = TextView()`: its comm_open and display_data): the kernel's first {kb(first)}, "
        f"a second {kb(second)} (target < {kb(SECOND_VIEW_LIMIT)}); the cell's own status and input: {kb(envelope)}"
    )
    p99 = delays[int(0.99 * (len(delays) - 1))]
    print(
        f"  latency batching adds, per delta: median {statistics.median(delays) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms (target <= {LATENCY_LIMIT * 1000:.0f} ms)"
    )
    return {
        "text": text,
        "totals": totals,
        "updates": updates,
        "second": second,
        "max_latency": delays[-1],
        "p99": p99,
    }


def main() -> None:
    print("Kernel -> browser traffic of one stream on a real kernel's iopub socket: every byte of every message")
    figures = {case[0]: report(run(*case)) for case in CASES}
    real, instant = figures["realistic"], figures["instant"]
    checks = [
        (
            "TextView's whole cell <= the print loop's at realistic pace",
            real["totals"]["TextView"] <= real["totals"]["print loop"],
            f"{kb(real['totals']['TextView'])} vs {kb(real['totals']['print loop'])}",
        ),
        (
            f"TextView's updates <= {UPDATES_LIMIT}x the text at instant pace",
            instant["updates"] <= UPDATES_LIMIT * instant["text"],
            f"{instant['updates'] / instant['text']:.2f}x",
        ),
        (
            f"a second view opens in < {kb(SECOND_VIEW_LIMIT)}",
            max(real["second"], instant["second"]) < SECOND_VIEW_LIMIT,
            kb(max(real["second"], instant["second"])),
        ),
        (
            f"batching adds <= {LATENCY_LIMIT * 1000:.0f} ms (p99)",
            max(real["p99"], instant["p99"]) <= LATENCY_LIMIT,
            f"{max(real['p99'], instant['p99']) * 1000:.0f} ms",
        ),
    ]
    print("\ntargets")
    for label, ok, figure in checks:
        print(f"  {'met   ' if ok else 'MISSED'} {label}: {figure}")


if __name__ == "__main__":
    main()
