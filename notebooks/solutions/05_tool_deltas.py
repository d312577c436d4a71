"""Solution to 05_tool_deltas' "Try it": stream a message, keep its text and each tool call's JSON fragments by block
index, and return the parsed inputs only when the message stopped to call tools (a call that streamed no JSON has
the input {}).

Run from the repository: ``python notebooks/solutions/05_tool_deltas.py`` (the tool calls come from the local API).
"""

import json

from helpers.exercises import lesson05

MODEL = "claude-sonnet-5-5"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city, e.g. Paris"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}
TOOLS = [WEATHER_TOOL]


def tool_inputs(client, messages, tools):
    """Stream an answer; return (text, inputs): the parsed input of each tool call, [] unless it stopped for them."""
    text, fragments, stop_reason = [], {}, None
    with client.messages.stream(model=MODEL, max_tokens=1024, tools=tools, messages=messages) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                fragments.setdefault(event.index, []).append(event.delta.partial_json)
            elif event.type == "message_delta":
                stop_reason = event.delta.stop_reason
    if stop_reason != "tool_use":
        return "".join(text), []
    # a tool that takes no input streams no JSON at all: its input is {}
    return "".join(text), [json.loads("".join(fragments[i]) or "{}") for i in sorted(fragments)]


lesson05.check(tool_inputs, TOOLS)
