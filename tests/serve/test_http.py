"""The server's HTTP face on real HTTP: webhooks start runs (with a key once access control is
on), errors are one-line JSON with the documented status, /healthz and /metrics answer."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from flexor_iac.controlplane.store import ControlPlane, locate
from tests.helpers.flexor_serve import PROBE, deploy, listening, service, wait_for_run
from tests.helpers.keys import issue_key
from tests.helpers.project import files_settled, rewrite_keeping_its_times, write_agent
from tests.helpers.waiting import eventually


def hooked(root: Path, name: str = "hooked", path: str = "") -> None:
    write_agent(root, name, PROBE, trigger="type: webhook" + (f"\n  path: {path}" if path
                                                               else ""))


def test_a_webhook_post_starts_a_run_with_the_body_as_its_event(project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project)) as url:
        answer = httpx.post(f"{url}/hooks/hooked", json={"fund_id": "GLOBAL-EQ-1"})
        assert answer.status_code == 202
        run_id = answer.json()["run_id"]
        record = wait_for_run(project, run_id)
        metrics = httpx.get(f"{url}/metrics").text
    assert (record.agent, record.trigger_type, record.status) == ("hooked", "webhook", "success")
    assert 'flexor_runs_total{status="success",trigger="webhook"} 1.0' in metrics


def test_an_agent_listens_on_its_own_trigger_path(project: Path) -> None:
    hooked(project, path="/portfolio/rebalanced")
    deploy(project)
    with listening(service(project)) as url:
        assert httpx.post(f"{url}/hooks/hooked", json={}).status_code == 404
        answer = httpx.post(f"{url}/portfolio/rebalanced", json={})
        assert answer.status_code == 202
        wait_for_run(project, answer.json()["run_id"])


def test_bad_requests_get_one_line_json_errors_and_start_nothing(project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project, max_body=64)) as url:
        cases = {
            404: httpx.post(f"{url}/hooks/nobody", json={}),
            415: httpx.post(f"{url}/hooks/hooked", content=b"fund=1",
                            headers={"content-type": "application/x-www-form-urlencoded"}),
            413: httpx.post(f"{url}/hooks/hooked", json={"pad": "x" * 200}),
            400: httpx.post(f"{url}/hooks/hooked", json=[1, 2]),
            405: httpx.get(f"{url}/hooks/hooked"),
        }
        for status, answer in cases.items():
            assert answer.status_code == status, (status, answer.text)
            body = answer.json()
            assert list(body) == ["error"] and "\n" not in body["error"]
    with ControlPlane(locate(project)) as store:
        assert store.latest_runs("staging") == {}


def test_a_paused_agent_is_refused_with_409(project: Path) -> None:
    hooked(project)
    deploy(project)
    with ControlPlane(locate(project)) as store:
        store.set_paused("staging", "hooked", True)
    with listening(service(project)) as url:
        answer = httpx.post(f"{url}/hooks/hooked", json={})
    assert answer.status_code == 409 and "paused" in answer.json()["error"]


def test_once_access_control_is_on_a_webhook_needs_a_key_with_run_scope(
        project: Path) -> None:
    hooked(project)
    deploy(project)
    with ControlPlane(locate(project)) as store:
        runner = issue_key(store, "ci", "run:staging")
        reader = issue_key(store, "viewer", "read", role="viewer")
    with listening(service(project)) as url:
        hook = f"{url}/hooks/hooked"
        missing = httpx.post(hook, json={})
        wrong = httpx.post(hook, json={}, headers={"Authorization": "Bearer flx_not-a-key"})
        reading = httpx.post(hook, json={}, headers={"Authorization": f"Bearer {reader}"})
        allowed = httpx.post(hook, json={}, headers={"Authorization": f"Bearer {runner}"})
        unknown = httpx.post(f"{url}/hooks/nobody", json={})
        assert allowed.status_code == 202
        wait_for_run(project, allowed.json()["run_id"])
    assert (missing.status_code, wrong.status_code, reading.status_code) == (401, 401, 403)
    assert "run:staging" in missing.json()["error"]
    assert unknown.status_code == 401  # no key learns which agents exist


def test_a_stack_file_requiring_keys_while_serving_applies_to_the_next_webhook(
        project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project)) as url:
        hook = f"{url}/hooks/hooked"
        before = [httpx.post(hook, json={}).status_code for _ in range(3)]  # (no access control)
        stack = project / "Pulumi.staging.yaml"
        stack.write_text(stack.read_text() + "  flexor:requireApiKey: true\n")
        after = httpx.post(hook, json={})
    assert before == [202] * 3 and after.status_code == 401


def test_a_stack_file_rewritten_with_its_old_size_and_times_is_read_again(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hooked(project)
    deploy(project)
    stack = project / "Pulumi.staging.yaml"
    requiring, placeholder = "  flexor:requireApiKey: true\n", "  # keys: none needed here\n"
    placeholder = placeholder.replace("here", "here" + " " * (len(requiring) - len(placeholder)))
    stack.write_text(stack.read_text() + placeholder)
    files_settled(monkeypatch)  # its times are taken as long past: they identify its content
    with listening(service(project)) as url:
        hook = f"{url}/hooks/hooked"
        before = [httpx.post(hook, json={}).status_code for _ in range(2)]
        rewrite_keeping_its_times(stack, placeholder, requiring)  # as cp -p or rsync -a would
        after = httpx.post(hook, json={})
    assert before == [202] * 2 and after.status_code == 401


def test_healthz_answers_ok_with_each_part(project: Path) -> None:
    deploy(project)
    with listening(service(project)) as url:
        answer = httpx.get(f"{url}/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "environment": "staging", "store": "ok",
                             "queue": "ok", "scheduler": "ok"}


def test_an_empty_or_blank_body_is_400_and_starts_nothing(project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project)) as url:
        for body in (b"", b"  \r\n\t "):
            answer = httpx.post(f"{url}/hooks/hooked", content=body,
                                headers={"content-type": "application/json"})
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json() == {"error": "the body is empty: send the event as a JSON "
                                              "object ({} for none)"}
    with ControlPlane(locate(project)) as store:
        assert store.latest_runs("staging") == {}


def _raw(url: str) -> socket.socket:
    """A plain TCP connection to the server, reads bounded at 20 s (a failure, not a goal)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = socket.create_connection((host, int(port)), timeout=20)
    return connection


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize("sent", [
    b"",  # connects and says nothing
    b"POST /hooks/hooked HTTP/1.1\r\nHost: x\r\nContent-Ty",  # headers a byte at a time
], ids=["silent", "slow headers"])
def test_a_client_that_does_not_finish_its_headers_is_cut_off(project: Path,
                                                             sent: bytes) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project, read_timeout=0.2)) as url, _raw(url) as connection:
        connection.sendall(sent)
        answer = _answer(connection)  # the server closes it: recv does not wait 20 s
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'{"error":"the request did not arrive within 0.2 s"}' in answer


def test_a_body_that_does_not_arrive_is_408_and_starts_nothing(project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project, read_timeout=0.2)) as url, _raw(url) as connection:
        connection.sendall(b"POST /hooks/hooked HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = _answer(connection)
    assert answer.startswith(b"HTTP/1.1 408 ")
    with ControlPlane(locate(project)) as store:
        assert store.latest_runs("staging") == {}


def test_one_client_address_may_hold_only_so_many_connections(project: Path) -> None:
    hooked(project)
    deploy(project)
    with listening(service(project, connections_per_client=3)) as url:
        held = [_raw(url) for _ in range(3)]
        try:
            with _raw(url) as extra:
                refused = _answer(extra)
            assert refused.startswith(b"HTTP/1.1 429 ")
            assert b"connections from 127.0.0.1 are open" in refused
        finally:
            for connection in held:
                connection.close()
        # room again once the server has seen them close
        eventually(lambda: httpx.get(f"{url}/healthz").status_code == 200,
                   "a fourth connection is still refused after three closed")
