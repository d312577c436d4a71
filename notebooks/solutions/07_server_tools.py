"""Solution to 07_server_tools' "Try it": a paused turn goes back as the request's last message, unchanged.

Run from the repository: ``python notebooks/solutions/07_server_tools.py`` (the turns come from the local API).
"""

from helpers.exercises import lesson07


def resume(messages, paused):
    """The messages for the request that resumes `paused`, a turn that stopped with pause_turn."""
    return [*messages, {"role": "assistant", "content": paused.content}]  # ✏️ solved: the partial turn, last


lesson07.check(resume)
