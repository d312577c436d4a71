"""Solution to 06_thinking's "Try it": after a tool call with thinking on, the thinking block goes back unchanged.

Run from the repository: ``python notebooks/solutions/06_thinking.py`` (the turns come from the local API).
"""

from helpers.exercises import lesson06

TOOLS = [
    {
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
]


def assistant_turn(final):
    """The assistant turn to send back after a tool-use turn made with thinking on."""
    return {"role": "assistant", "content": final.content}  # ✏️ solved: every block, thinking first, unchanged


lesson06.check(assistant_turn, TOOLS)
