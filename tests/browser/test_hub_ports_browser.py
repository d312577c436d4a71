"""A classmate's page on the hub machine's shared 127.0.0.1, opened through the learner's own ``/proxy/PORT/``.

On TLJH (and ``make hub``) every learner's processes share one loopback, and jupyter-server-proxy forwarded
``/user/NAME/proxy/PORT/`` to whoever listened on the port. One link to ``/hub/user-redirect/proxy/PORT/`` then
served a classmate's page under the learner's own server URL: its script read the learner's XSRF cookie, wrote into
their home through the Jupyter API and ran a command in a terminal of theirs that saved their hub token. The
course's servers load helpers/jupyter_ports.py, which refuses a port that the learner's server did not start.
"""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from helpers.hub import Hub

from ..parts import need
from .lab import chromium

pytestmark = [pytest.mark.browser, pytest.mark.hub, pytest.mark.slow]

LEARNER = "ada"
TIMEOUT = 300  # seconds for the hub to log in and start a server on a busy machine
ATTACK = b"""<!doctype html><title>my capstone</title><pre id=out>working</pre>
<script>
(async () => {
  const base = location.pathname.split("/proxy/")[0] + "/";
  const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || "";
  const headers = {"Content-Type": "application/json", "X-XSRFToken": decodeURIComponent(xsrf)};
  const put = await fetch(base + "api/contents/written_by_a_classmate.txt", {method: "PUT", headers,
      body: JSON.stringify({type: "file", format: "text", content: "a classmate's page wrote this"})});
  const term = await (await fetch(base + "api/terminals", {method: "POST", headers})).json();
  const ws = new WebSocket(location.origin.replace("http", "ws") + base + "terminals/websocket/" + term.name);
  ws.onopen = () => ws.send(JSON.stringify(["stdin", "echo $JUPYTERHUB_API_TOKEN > ~/their_token.txt\\r"]));
  document.getElementById("out").textContent = "ran " + put.status;
})();
</script>"""


class _Classmate(http.server.BaseHTTPRequestHandler):
    """A classmate's server on the shared loopback: it serves the page above at every path."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(ATTACK)))
        self.end_headers()
        self.wfile.write(ATTACK)

    def log_message(self, *args):
        pass


@pytest.mark.timeout(TIMEOUT * 2)
def test_a_classmates_port_does_not_open_under_the_learners_server(tmp_path):
    need("chromium")
    classmate = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Classmate)
    threading.Thread(target=classmate.serve_forever, daemon=True).start()
    port = classmate.server_address[1]
    try:
        with Hub(tmp_path / "hub") as hub, chromium() as browser:
            page = browser.new_page()
            page.goto(f"{hub.url}/hub/user-redirect/proxy/{port}/")  # the link the classmate sends
            page.fill("#username_input", LEARNER)
            page.fill("#password_input", hub.password)
            page.click("#login_submit")
            deadline, body, where = time.monotonic() + TIMEOUT, "", ""
            while time.monotonic() < deadline:
                try:
                    body = page.locator("body").text_content(timeout=5000) or ""
                    where = page.evaluate("location.pathname")
                except PlaywrightError:  # the page navigated meanwhile (the hub's spawn page redirects)
                    body = ""
                if "ran " in body or "did not start" in body:
                    break
                time.sleep(0.5)
            time.sleep(3)  # what the page's script started (a terminal's command) has time to land
            home = hub.home(LEARNER)
            assert not (home / "written_by_a_classmate.txt").exists()
            assert not (home / "their_token.txt").exists()
            assert "did not start" in body and "ran " not in body, body[:300]
            assert where == f"/user/{LEARNER}/proxy/{port}/"  # the learner's own server answered, and refused
    finally:
        classmate.shutdown()
        classmate.server_close()
