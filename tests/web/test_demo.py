"""`make demo` for real: `ledgerlink demo` on free ports starts each part once (Xero and QuickBooks sandboxes,
web, huey consumer; the SMTP sink in-process), prints every organisation with its key and both ledgers, lets
a user connect either ledger through its sandbox's consent page, restarts a part that dies, and on SIGTERM
leaves no process and no port behind. A taken port is refused by name."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from ledgerlink.cashflow.demo import DEMO_PASSWORD, DEMO_USERNAME
from ledgerlink.devtools.ports import free_port, port_is_free

pytestmark = pytest.mark.slow


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid` with their command lines, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found[int(entry.name)] = cmdline
    return found


def _descendants(pid: int) -> set[int]:
    result, frontier = set(), [pid]
    while frontier:
        children = set(_children(frontier.pop()))
        result |= children
        frontier.extend(children)
    return result


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """The demo's stdout up to and including the line holding `marker`."""
    deadline = time.monotonic() + timeout_s
    seen = []
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout_s}s:\n{''.join(seen)}")


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _demo(tmp_path: Path, ports: list[int]) -> subprocess.Popen[str]:
    env = {**os.environ, "LEDGERLINK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the demo is the embedded default
    command = [sys.executable, "-m", "ledgerlink", "demo"]
    command += ["--port", str(ports[0]), "--xero-port", str(ports[1]), "--qbo-port", str(ports[2])]
    command += ["--smtp-port", str(ports[3])]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _connect_through_consent_page(web: str, provider: str, organisation: str, tenant_id: str) -> str:
    """What a user does in a browser (the README's walk-through): sign in, open the organisation, enable the
    connector, press Connect, tick its tenant on the sandbox's consent page, allow; returns the page
    LedgerLink shows on the way back."""
    browser = requests.Session()
    login = browser.get(f"{web}/login/", timeout=10)
    browser.post(
        f"{web}/login/",
        {"csrfmiddlewaretoken": _csrf(login.text), "username": DEMO_USERNAME, "password": DEMO_PASSWORD},
        headers={"Referer": f"{web}/login/"},
        timeout=10,
    ).raise_for_status()
    form = browser.get(f"{web}/connections/{provider}/connect/", timeout=10)
    option = re.search(rf'<option value="([^"]+)">{re.escape(html.escape(organisation))}</option>', form.text)
    assert option, form.text
    browser.get(f"{web}/orgs/{option[1]}/", timeout=10).raise_for_status()  # the organisation worked in
    terms = browser.get(f"{web}/orgs/{option[1]}/billing/enable", timeout=10)
    browser.post(
        terms.url, {"csrfmiddlewaretoken": _csrf(terms.text), "agree": "on"}, headers={"Referer": terms.url}
    ).raise_for_status()
    consent = browser.post(
        f"{web}/connections/{provider}/connect/",
        {"csrfmiddlewaretoken": _csrf(form.text), "organisation": option[1]},
        headers={"Referer": form.url},
        timeout=10,
    )  # followed to the sandbox's consent page
    assert consent.status_code == 200 and f'value="{tenant_id}"' in consent.text, consent.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', consent.text))
    fields = {name: html.unescape(value) for name, value in fields.items()}
    back = browser.post(consent.url, {**fields, "tenant_id": tenant_id, "decision": "allow"}, timeout=30)
    assert back.ok, back.text
    return back.text


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, page
    return found[1]


def test_demo_runs_each_part_once_connects_both_ledgers_restarts_the_dead_and_stops_cleanly(tmp_path):
    ports = [free_port() for _ in range(4)]
    demo = _demo(tmp_path, ports)
    try:
        welcome = _read_until(demo, "Ctrl-C stops everything", timeout_s=180)

        # Each organisation with its country, a working API key and its page in each sandbox.
        listed = re.findall(
            r"^    (.+) \((\w\w)\)\n      API key: (\S+)\n"
            r"      Xero sandbox ledger: (\S+)\n      QuickBooks sandbox ledger: (\S+)$",
            welcome,
            re.M,
        )
        assert sorted((name, country) for name, country, *_ in listed) == [
            ("Brightwater Solar Ltd", "GB"),
            ("Harbour Solar Pty Ltd", "AU"),
            ("Sunbelt Solar Co.", "US"),
        ]
        assert f"Xero sandbox: http://127.0.0.1:{ports[1]}/_sandbox" in welcome
        assert f"QuickBooks sandbox: http://127.0.0.1:{ports[2]}/_sandbox" in welcome
        web = f"http://127.0.0.1:{ports[0]}"
        for name, _, key, *ledgers in listed:
            assert requests.get(f"{web}/api/v1/invoices", headers={"Authorization": f"Bearer {key}"}).ok
            for ledger in ledgers:
                page = requests.get(ledger, timeout=5)
                assert page.status_code == 200 and name in page.text

        # Each ledger connected through its own consent page: QuickBooks for the US installer (one company
        # per consent, realmId on the way back), Xero for the AU one.
        tenants = {name: [ledger.rsplit("/", 1)[1] for ledger in ledgers] for name, _, _, *ledgers in listed}
        for provider, organisation, tenant in (
            ("quickbooks", "Sunbelt Solar Co.", tenants["Sunbelt Solar Co."][1]),
            ("xero", "Harbour Solar Pty Ltd", tenants["Harbour Solar Pty Ltd"][0]),
        ):
            landed = _connect_through_consent_page(web, provider, organisation, tenant)
            assert organisation in landed and "Connected" in landed, landed

        # Each child exactly once: two sandboxes, one gunicorn master (with its workers), one consumer.
        children = _children(demo.pid)
        kinds = sorted(
            "xero-sandbox"
            if " sandbox xero" in cmd
            else "quickbooks-sandbox"
            if " sandbox quickbooks" in cmd
            else "web"
            if "gunicorn" in cmd
            else "worker"
            if "run_huey" in cmd
            else cmd
            for cmd in children.values()
        )
        assert kinds == ["quickbooks-sandbox", "web", "worker", "xero-sandbox"], children
        # Each sandbox keeps its tenants for the next start.
        assert (tmp_path / "xero-sandbox.json").exists() and (tmp_path / "quickbooks-sandbox.json").exists()

        # A part that dies is restarted, with a line saying which and how it ended.
        worker = next(pid for pid, cmd in children.items() if "run_huey" in cmd)
        os.kill(worker, signal.SIGKILL)
        assert demo.stderr is not None
        line = demo.stderr.readline()
        assert line.startswith("[demo] worker killed by SIGKILL") and "restarting in 1s" in line, line
        _wait(
            lambda: any("run_huey" in cmd for pid, cmd in _children(demo.pid).items() if pid != worker),
            timeout_s=10,
            what="the worker was not restarted",
        )

        # SIGTERM: every process gone and every port free within 10 s.
        everything = _descendants(demo.pid)
        demo.send_signal(signal.SIGTERM)
        started = time.monotonic()
        demo.wait(timeout=10)
        _wait(
            lambda: not any(_alive(pid) for pid in everything), 10 - (time.monotonic() - started), "left over"
        )
        _wait(
            lambda: all(port_is_free(port) for port in ports), 10 - (time.monotonic() - started), "port held"
        )
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("index", "name", "variable", "option"),
    [(1, "xero-sandbox", "XERO_PORT", "--xero-port"), (2, "quickbooks-sandbox", "QBO_PORT", "--qbo-port")],
)
def test_demo_refuses_a_taken_port_and_says_how_to_choose_another(tmp_path, index, name, variable, option):
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = [free_port() for _ in range(4)]
        ports[index] = taken
        demo = _demo(tmp_path, ports)
        _, err = demo.communicate(timeout=60)
    assert demo.returncode != 0
    assert f"Port {taken} ({name}) is already in use" in err
    assert f"make demo {variable}=" in err and option in err
    assert not (tmp_path / "demo.json").exists()  # nothing was started


def test_sigterm_while_the_demo_is_still_starting_stops_what_has_started(tmp_path):
    # Both sandboxes start before the web server: a Ctrl-C in that window must not leave either behind.
    ports = [free_port() for _ in range(4)]
    demo = _demo(tmp_path, ports)
    try:
        _wait(
            lambda: any(" sandbox quickbooks" in cmd for cmd in _children(demo.pid).values()),
            timeout_s=120,
            what="the QuickBooks sandbox did not start",
        )
        everything = _descendants(demo.pid)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=15)
        _wait(lambda: not any(_alive(pid) for pid in everything), 10, "left over")
        _wait(lambda: all(port_is_free(port) for port in ports), 10, "port held")
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)


def test_a_data_folder_from_before_quickbooks_keeps_its_xero_tenants_and_app(tmp_path):
    from ledgerlink.web.management.commands.demo import DemoParts

    kept = {
        "control_token": "t",
        "api_keys": {},
        "tenants": {"Harbour Solar Pty Ltd": "x1"},
        "app": {"a": "b"},
    }
    (tmp_path / "demo.json").write_text(json.dumps(kept))
    state = DemoParts(tmp_path, {"web": 1, "xero-sandbox": 2, "quickbooks-sandbox": 3, "smtp": 4}).state
    assert state["xero"] == {"tenants": {"Harbour Solar Pty Ltd": "x1"}, "app": {"a": "b"}}
    assert "tenants" not in state and "quickbooks" not in state  # QuickBooks' companies are made at start
