"""helpers.lighter: what it skips is what the libraries import only optionally, and nothing the course uses is lost.

Each check runs in a fresh interpreter (what a module imported is process-wide). If a library stops importing one
of these, the first test fails: the skip is then dead and should go."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.lighter import SKIPPED

pytestmark = pytest.mark.slow  # each check imports libraries in a fresh interpreter: seconds of CPU each

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = {  # what the server / a lesson-01 kernel imports that pulls the skipped modules in
    "server": "import jupyter_events.validators",
    "kernel": "import ipykernel.debugger, anthropic",  # IPythonKernel imports ipykernel.debugger as it starts
    "relay": "import helpers.web.app",
}


def loaded(which: str, skipped: bool) -> dict:
    skip = f"from helpers.lighter import skip; skip({which!r})\n" if skipped else ""
    check = f"print(json.dumps({{name: sys.modules.get(name) is not None for name in {SKIPPED[which]!r}}}))"
    code = f"import json, sys\n{skip}{IMPORTS[which]}\n{check}\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("which", sorted(SKIPPED))
def test_the_libraries_import_them_unless_skipped(which):
    assert all(loaded(which, skipped=False).values())
    assert not any(loaded(which, skipped=True).values())


def test_a_kernel_without_them_keeps_what_the_course_uses():
    code = (
        "from helpers.lighter import skip; skip('kernel')\n"
        "import anthropic, aiohttp, debugpy\n"  # a learner's own imports still work
        "from ipykernel.debugger import _is_debugpy_available\n"
        "assert not _is_debugpy_available\n"
        "client = anthropic.Anthropic(api_key='k', base_url='http://127.0.0.1:9')\n"
        "print(type(client._client).__module__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("anthropic")  # the SDK's own httpx2 client


def test_no_server_event_schema_checks_an_iri_format():
    import jupyter_server

    schemas = Path(jupyter_server.__file__).parent / "event_schemas"
    texts = [path.read_text() for path in schemas.rglob("*") if path.suffix in (".yaml", ".json")]
    assert texts and not any("iri" in text and "format" in text for text in texts)


def test_the_class_kernel_spec_runs_the_lighter_kernel_without_a_debugger():
    spec = json.loads((ROOT / "jupyter" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][:4] == ["python", "-m", "helpers.lighter", "kernel"]
    assert spec["metadata"]["debugger"] is False


def test_a_wrong_process_name_is_a_clear_error():
    done = subprocess.run(
        [sys.executable, "-m", "helpers.lighter", "notebook"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode != 0 and "expected server, kernel or relay first, got ['notebook']" in done.stderr
