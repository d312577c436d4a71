"""Solution to 07_server_tools' "Try it": a paused turn goes back as the request's last message, unchanged, in the
container it ran in.

Run from the repository: ``python notebooks/solutions/07_server_tools.py`` (the turns come from the local API).
"""

from helpers.exercises import lesson07


def resume(messages, paused):
    """The request that resumes `paused`, a turn that stopped with pause_turn: (messages, container)."""
    return [*messages, {"role": "assistant", "content": paused.content}], paused.container.id  # ✏️ solved


lesson07.check(resume)
