"""Helpers for the streaming course: mode selection, the local Messages API, live views and the web relay.

Nothing happens at import time; import the part you need:

    from helpers.connect import client, async_client
"""
