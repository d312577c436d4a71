"""Cohort mode: a class gateway, run by JupyterHub as a service, that keeps the class's key.

Learners' kernels send their requests to the gateway (``ANTHROPIC_BASE_URL``, set by the spawner) with their own hub
token as the credential; the gateway checks the token with the hub, applies the instructor's limits, and streams the
upstream's answer byte for byte: the real API with the class's key, or one local Messages API for the whole class.
Its dashboard shows the instructor every learner's lesson, checker verdicts, streams and tokens.

- :mod:`helpers.gateway.learner`: what a kernel needs (is there a gateway? report a checker's verdict to it).
- :mod:`helpers.gateway.store`: usage, limits and verdicts in SQLite, so a restart loses nothing.
- :mod:`helpers.gateway.app`: the ASGI app (the API pass-through, limits, the dashboard and its OAuth login).
- ``python -m helpers.gateway``: what the hub runs (docs/workshop.md, "The class gateway").
"""

URL_ENV = "COURSE_GATEWAY_URL"  # set by the spawner: where a learner's kernel reaches the gateway
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # the learner's own hub token, which the single-user server and its kernels hold
NOTEBOOK_HEADER = "x-course-notebook"  # which notebook sent a request (the kernel's JPY_SESSION_NAME)
SERVICE_NAME = "gateway"  # its name among the hub's services: it is served at /services/gateway/
