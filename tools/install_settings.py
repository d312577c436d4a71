"""Install the course's JupyterLab / Notebook 7 setting defaults into the running Python's environment.

Both apps read setting defaults from ``<prefix>/share/jupyter/lab/settings/overrides.d``. The course's file there
saves the views' widget state with the notebook, so a saved notebook reopens showing its views rather than "Error
displaying widget: model not found" (tests/browser/test_reopen.py). pip's editable install leaves data files out, so
every install route runs this: ``make``, Binder's ``postBuild`` and the README's steps without make.

    python tools/install_settings.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SETTINGS = Path(__file__).resolve().parent.parent / "jupyter" / "streaming-course.json"


def install(prefix: str = sys.prefix) -> Path:
    """Copy the settings file into ``prefix``'s overrides.d; return where it went."""
    folder = Path(prefix, "share", "jupyter", "lab", "settings", "overrides.d")
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(SETTINGS, folder))


if __name__ == "__main__":
    print(f"settings installed: {install().name}")
