"""The course's Jupyter contents manager: a notebook's saved widget state reaches the browser only if it is trusted.

JupyterLab and Notebook 7 rebuild every widget model saved in a notebook's metadata as soon as the notebook opens,
trusted or not (@jupyter-widgets/jupyterlab-manager restores them whatever its ``saveState`` setting), and an
anywidget model runs the JavaScript module in its saved state (``_esm``) when it is created. A notebook from elsewhere
(a download, a classmate's file, a pulled repository) could so run code with the learner's Jupyter API access, write
files and start kernels, without a cell being run or an output being trusted. Outputs of such a notebook are
sanitized; its widget state is dropped here, when the server reads it. A notebook the learner saved is signed by
their own server, so it keeps its state and reopens showing its views (tests/browser/test_reopen.py).

tools/install_settings.py names this class in the environment's Jupyter server config.
"""

from __future__ import annotations

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

WIDGET_STATE = "widgets"  # the notebook metadata key ipywidgets saves its models under


class ContentsManager(AsyncLargeFileManager):
    """Jupyter Server's default contents manager, except that an untrusted notebook loses its saved widget state."""

    def mark_trusted_cells(self, nb, path=""):
        trusted = self.notary.check_signature(nb)
        super().mark_trusted_cells(nb, path)
        if not trusted and nb.get("metadata", {}).pop(WIDGET_STATE, None) is not None:
            self.log.warning("Notebook %s is not trusted: its saved widget state is not loaded", path)


__all__ = ["ContentsManager"]
