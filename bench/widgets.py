"""What a live view sends from the kernel to the browser, beside the naive widget, in one run.

The same request is streamed twice from one local API (same deltas): into ``TextView.append(text)``, and into the
baseline everyone writes first, ``ipywidgets.HTML().value += text`` (which re-sends the whole text on every token). Every message both widgets hand
to their comm is counted as jupyter_client packs it (``payload``), and with the Jupyter envelope every message pays
(``wire``). Two paces: instant (a 10,000-token answer, as fast as the SDK parses it) and realistic (about 60 tokens/s).

    python bench/widgets.py
"""

from __future__ import annotations

import statistics
import time

import anthropic
import ipywidgets

from helpers.offline import start
from helpers.widgets import CommMeter, TextView

MODEL = "claude-sonnet-4-6"
CASES = [("instant", "Count to 3700", 20_000), ("realistic", "Explain streaming in detail.", 1024)]
IOPUB_DATA_LIMIT = 1_000_000  # bytes/s: jupyter_server's default iopub_data_rate_limit
IOPUB_MSG_LIMIT = 1000  # messages/s: its default iopub_msg_rate_limit


def kb(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def added_latency(appends: list[tuple[float, int]], meter: CommMeter) -> list[float]:
    """For each delta: seconds from its append() to the send of the message that carried it."""
    sent, total = [], 0
    for t, message in zip(meter.custom_times(), meter.custom(), strict=True):
        total += sum(len(op[3]) for op in message["o"] if op[0] == "+")
        sent.append((t, total))
    delays, i = [], 0
    for t, chars in appends:
        while sent[i][1] < chars:
            i += 1
        delays.append(max(0.0, sent[i][0] - t))
    return delays


def stream_into(client, prompt: str, max_tokens: int, widget) -> dict:
    """One stream into ``widget`` (TextView, or the naive HTML widget), metered; returns what was measured."""
    appends: list[tuple[float, int]] = []
    with CommMeter(widget) as meter:
        request = {"model": MODEL, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        with client.messages.stream(**request) as stream:
            began, chars = time.monotonic(), 0
            for text in stream.text_stream:
                if isinstance(widget, TextView):
                    widget.append(text)
                else:
                    widget.value += text  # the naive way: the whole text again, every token
                chars += len(text)
                appends.append((time.monotonic(), chars))
            if isinstance(widget, TextView):
                widget.finish(stream.get_final_message())
            seconds = time.monotonic() - began
    text = widget.text if isinstance(widget, TextView) else widget.value
    return {"meter": meter, "seconds": seconds, "text": text, "deltas": len(appends), "appends": appends}


def run(pace: str, prompt: str, max_tokens: int) -> dict:
    """The same request twice against one local API: once into a TextView, once into the naive widget."""
    with start(pace=pace) as api:
        client = anthropic.Anthropic(base_url=api.url, api_key="bench", max_retries=0)
        ours = stream_into(client, prompt, max_tokens, TextView(display=False))
        naive = stream_into(client, prompt, max_tokens, ipywidgets.HTML())
    assert ours["text"] == naive["text"], "both widgets must have shown the same text"
    ours["latency"] = added_latency(ours["appends"], ours["meter"])
    return {"pace": pace, "prompt": prompt, "text": len(ours["text"].encode()), "ours": ours, "naive": naive}


def report(result: dict) -> None:
    text = result["text"]
    print(f"\n{result['pace']} pace · {result['prompt']!r}: {kb(text)} of text in {result['ours']['deltas']} deltas")
    print(
        f"  {'widget':<26}{'payload':>10}{'per text byte':>15}{'wire':>11}{'messages':>10}{'seconds':>9}{'updates/s':>11}{'peak in 1 s':>13}"
    )
    for name, run in (("TextView (deltas)", result["ours"]), ("baseline: HTML.value +=", result["naive"])):
        meter, seconds = run["meter"], run["seconds"]
        print(
            f"  {name:<26}{kb(meter.bytes):>10}{meter.bytes / text:>14.2f}x{kb(meter.wire_bytes):>11}"
            f"{meter.messages:>10}{seconds:>9.2f}{meter.messages / seconds:>11.0f}{meter.peak_rate():>13}"
        )
    delays = sorted(result["ours"]["latency"])
    p99 = delays[int(0.99 * (len(delays) - 1))]
    print(
        f"  TextView latency added by batching, per delta: median {statistics.median(delays) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms (target 1/30 s; the max includes scheduler stalls)"
    )
    naive = result["naive"]
    data_rate, msg_rate = naive["meter"].wire_bytes / naive["seconds"], naive["meter"].messages / naive["seconds"]
    if data_rate > IOPUB_DATA_LIMIT or msg_rate > IOPUB_MSG_LIMIT:
        print(
            f"  baseline needs {kb(data_rate)}/s and {msg_rate:.0f} msg/s: over Jupyter's iopub limits "
            f"({kb(IOPUB_DATA_LIMIT)}/s, {IOPUB_MSG_LIMIT} msg/s), so the server would drop its updates"
        )


def main() -> None:
    print(
        "Kernel → browser traffic of one stream: the live view vs the naive widget (the same request, streamed once into each)."
    )
    print("payload: the comm data as packed by jupyter_client · wire: with the Jupyter message envelope")
    for case in CASES:
        report(run(*case))


if __name__ == "__main__":
    main()
