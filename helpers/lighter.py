"""A class's processes on the hub, started without what the course never uses: ``python -m helpers.lighter server``
(each learner's single-user server, in place of ``jupyterhub-singleuser``), ``python -m helpers.lighter kernel
-f FILE`` (their kernels: the class's ``python3`` kernel spec, ``jupyter/kernels``, runs it) and ``python -m
helpers.lighter relay …`` (lesson 08's relay page, as jupyter-server-proxy starts it: ``python -m helpers.web …``).

Each skips an optional import its library makes only because the package happens to be installed (the libraries
catch the ImportError and go on without it), measured on this course's environment (bench/hub.py's memory figure):

- server: ``rfc3987_syntax``, which jsonschema loads for its "iri" format checks and which builds an Earley parser
  at import (about 1 CPU second and 16 MiB per server). Only jupyter_events validates with formats there, and none
  of the server's event schemas uses "iri".
- kernel: debugpy's server (JupyterLab's debugger; 8 MiB in every kernel, no lesson uses it: the class kernel spec
  says ``"debugger": false``) and the SDK's aiohttp transport (``anthropic.DefaultAioHttpClient``, 12 MiB in every
  kernel; the course's clients use httpx). ``import debugpy`` or ``import aiohttp`` in a learner's own code still
  works.
- relay: the SDK's aiohttp transport too (a third of the relay's start-up imports: thirty relays start at once
  when a class opens lesson 08, and jupyter-server-proxy gives each 60 s to answer).
"""

from __future__ import annotations

import sys

SKIPPED = {
    "server": ("rfc3987_syntax",),
    "kernel": ("debugpy.server", "anthropic._vendor.httpx_aiohttp"),
    "relay": ("anthropic._vendor.httpx_aiohttp",),
}


def skip(which: str) -> None:
    """Make ``which``'s optional imports fail as if their package were not installed (None in sys.modules)."""
    for name in SKIPPED[which]:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None in sys.modules: "no such module"


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in SKIPPED:
        raise SystemExit(f"python -m helpers.lighter: expected server, kernel or relay first, got {argv[:1]}")
    which, sys.argv = argv[0], [sys.argv[0], *argv[1:]]
    skip(which)
    if which == "server":
        from jupyterhub.singleuser import main as start
    elif which == "relay":
        from helpers.web.__main__ import main as start
    else:
        if sys.path and sys.path[0] == "":  # as ipykernel_launcher does: the kernel adds its folder back itself
            del sys.path[0]
        from ipykernel.kernelapp import launch_new_instance as start
    start()


if __name__ == "__main__":
    main(sys.argv[1:])
