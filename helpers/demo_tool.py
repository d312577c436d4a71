"""The course's demo tool: ``get_weather``, its definition and a fake implementation (no network, works offline).

The local Messages API has scripted answers for it: ask about the weather somewhere with this tool offered.
Lessons write their tool definitions in the open; this module serves the playground, checkers and tests.
"""

from __future__ import annotations

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a place.",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City and country, e.g. Paris, France"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
}


def get_weather(location: str, unit: str = "celsius") -> dict:
    """The same mild weather everywhere."""
    temperature = 18 if unit == "celsius" else 64
    return {"location": location, "temperature": temperature, "unit": unit, "conditions": "partly cloudy"}
