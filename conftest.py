"""Project-wide pytest settings, here at the root so that `pytest --nbval notebooks/` gets them too.

nbval starts the notebooks' kernels as subprocesses that inherit this environment, so the mode is set in
pytest_configure (a fixture would be too late): offline, at instant pace, whatever .env says.
"""

import os


def pytest_configure(config):
    os.environ["COURSE_OFFLINE"] = "1"
    os.environ["COURSE_PACE"] = "instant"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
