"""Solution to 04_errors' "Try it": an except clause that catches every way a stream fails, and nothing else.

Run from the repository: ``python notebooks/solutions/04_errors.py`` (the failures come from the local API).
"""

import anthropic
import httpx2

from helpers.exercises import lesson04

# APIError covers everything the API reports (HTTP errors, error events inside a 200) and APIConnectionError;
# httpx2.TransportError covers what the SDK does not wrap while you iterate: drops and stalls;
# ValueError covers what cannot be parsed: a malformed line (json.JSONDecodeError), tool input JSON that breaks
# (the SDK's own ValueError) and structured output that fails its model (pydantic's ValidationError).
CATCH = (anthropic.APIError, httpx2.TransportError, ValueError)  # ✏️ solved

lesson04.check(CATCH)
