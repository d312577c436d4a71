"""Solution to 05_tool_deltas' "Try it": a tool_result that tells Claude when the tool failed.

Run from the repository: ``python notebooks/solutions/05_tool_deltas.py`` (the tool calls come from the local API).
"""

import json

from helpers.exercises import lesson05

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

FAKE_WEATHER = {"paris": (18, "partly cloudy"), "london": (14, "light rain"), "tokyo": (23, "clear")}


def get_weather(location, unit="celsius"):
    """Fixed, made-up weather for a few cities; ValueError for any other place."""
    city = location.split(",")[0].strip().lower()
    if city not in FAKE_WEATHER:
        raise ValueError(f"no weather data for {location!r}")
    celsius, conditions = FAKE_WEATHER[city]
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {"location": location, "temperature": temperature, "unit": unit, "conditions": conditions}


def run_tool(block):
    """Run the tool a tool_use block asks for; return its tool_result block, flagged when the tool failed."""
    try:
        return {"type": "tool_result", "tool_use_id": block.id, "content": json.dumps(get_weather(**block.input))}
    except (TypeError, ValueError) as err:
        return {"type": "tool_result", "tool_use_id": block.id, "content": str(err), "is_error": True}  # ✏️ solved


lesson05.check(run_tool, TOOLS)
