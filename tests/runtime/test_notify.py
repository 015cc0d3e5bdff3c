"""Notifications go out only to allowed destinations; a refusal fails the step and is recorded."""

from __future__ import annotations

import json
import re
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.project import set_vault, write_agent, write_skill
from tests.helpers.runtime import SECRET_URL_PART, run

HINT = "(allow it with notifications.allowed_hosts)"


def webhook_agent(root: Path, name: str, url: str) -> None:
    write_agent(root, name, f"  - skill: core.notify.webhook\n    args: {{url: '{url}'}}\n")


def test_a_webhook_to_loopback_is_refused_and_nothing_reaches_it(
        project: Path, hooks: HTTPServer) -> None:
    webhook_agent(project, "admin-poke", f"{hooks.url}/internal-admin")  # type: ignore[attr-defined]
    record, store = run(project, "admin-poke")
    assert record.status == "failed"
    assert record.errors[0].endswith(
        f": webhook destination refused: 127.0.0.1 is a loopback address {HINT}")
    assert hooks.posts == []  # type: ignore[attr-defined]
    [message] = store.outbox()
    assert message.delivery == "refused: 127.0.0.1 is a loopback address"


def test_a_url_from_a_template_input_is_refused_the_same_way(
        project: Path, hooks: HTTPServer) -> None:
    write_skill(project, "forward", "inputs:\n  url: {type: string, required: true}\n"
                "steps:\n  - action: core.notify.webhook\n"
                "    args: {url: \"{{ inputs.url }}\", payload: {x: 1}}\n")
    write_agent(project, "forwarder", "  - skill: forward\n    args: {url: \"{{ event.url }}\"}\n")
    record, store = run(project, "forwarder",
                        inputs={"url": f"{hooks.url}/internal-admin"})  # type: ignore[attr-defined]
    assert record.status == "failed"
    assert f"webhook destination refused: 127.0.0.1 is a loopback address {HINT}" \
        in record.errors[0]
    assert hooks.posts == []  # type: ignore[attr-defined]
    assert [m.delivery for m in store.outbox()] == ["refused: 127.0.0.1 is a loopback address"]


def test_the_metadata_address_is_refused_without_a_network_attempt(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    attempts: list[Any] = []

    def connect(_sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    webhook_agent(project, "imds", "http://169.254.169.254/latest/meta-data/iam/")
    record, store = run(project, "imds")
    assert record.status == "failed" and attempts == []
    assert f"webhook destination refused: 169.254.169.254 is a cloud metadata address {HINT}" \
        in record.errors[0]
    assert store.outbox()[0].delivery == "refused: 169.254.169.254 is a cloud metadata address"


def test_a_refused_secret_url_is_named_by_its_host_and_recorded_by_its_setting(
        project: Path, hooks: HTTPServer) -> None:
    write_agent(project, "chatty", "  - skill: core.notify.slack\n    args: {message: hi}\n")
    secret_url = f"{hooks.url}/{SECRET_URL_PART}"  # type: ignore[attr-defined]
    record, store = run(project, "chatty", {"SLACK_WEBHOOK_URL": secret_url})
    assert f"slack destination refused: 127.0.0.1 is a loopback address {HINT}" \
        in record.errors[0]
    [message] = store.outbox()
    assert (message.target, message.delivery) == (
        "env:SLACK_WEBHOOK_URL", "refused: 127.0.0.1 is a loopback address")
    recorded = json.dumps([record.audit_entry(), [vars(m) for m in store.outbox()],
                           [vars(line) for line in store.run_log(record.run_id)]], default=str)
    assert "xoxsecret42" not in recorded and hooks.posts == []  # type: ignore[attr-defined]


def test_a_redirect_to_a_refused_destination_is_not_followed(
        project: Path, hooks: HTTPServer, redirector: HTTPServer) -> None:
    set_vault(project, notifications__allowed_hosts=[f"127.0.0.1:{redirector.server_port}"])
    webhook_agent(project, "bounced", f"http://127.0.0.1:{redirector.server_port}/hook")
    record, store = run(project, "bounced")
    assert record.status == "failed"
    assert "webhook message not delivered (HTTP 307, redirects are not followed)" \
        in record.errors[0]
    assert hooks.posts == []  # type: ignore[attr-defined]
    assert store.outbox()[0].delivery == "failed: HTTP 307, redirects are not followed"


def test_the_allowlist_opens_exactly_the_listed_host(project: Path, hooks: HTTPServer) -> None:
    port = hooks.server_port
    set_vault(project, notifications__allowed_hosts=["127.0.0.1"])
    write_agent(project, "local", "  - skill: core.notify.webhook\n"
                f"    args: {{url: 'http://127.0.0.1:{port}/ok'}}\n"
                "  - skill: core.notify.webhook\n"
                f"    args: {{url: 'http://127.0.0.2:{port}/other-loopback'}}\n")
    record, store = run(project, "local")
    assert record.status == "failed"
    assert [path for path, _body in hooks.posts] == ["/ok"]  # type: ignore[attr-defined]
    assert [m.delivery for m in store.outbox()] == [
        "delivered", "refused: 127.0.0.2 is a loopback address"]


def test_a_port_in_the_allowlist_opens_only_that_port(project: Path, hooks: HTTPServer) -> None:
    set_vault(project, notifications__allowed_hosts=["127.0.0.1:9"])
    webhook_agent(project, "wrong-port", hooks.url)  # type: ignore[attr-defined]
    record, _store = run(project, "wrong-port")
    assert "127.0.0.1 is a loopback address" in record.errors[0]
    assert hooks.posts == []  # type: ignore[attr-defined]


def test_a_destination_that_resolves_slowly_fails_within_the_run_deadline(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import threading

    release = threading.Event()

    def hanging(*_args: Any, **_kwargs: Any) -> Any:
        release.wait(5)
        raise socket.gaierror("no answer")

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    write_agent(project, "slow-dns", "  - skill: core.notify.webhook\n"
                "    args: {url: 'http://hooks.slow.test/x', payload: {x: 1}}\n",
                retry="retry:\n  max_attempts: 1\ntimeout_seconds: 0.5\n")
    try:
        record, store = run(project, "slow-dns")
    finally:
        release.set()
    assert record.status == "failed"
    assert "webhook message not delivered (the destination could not be resolved in time" \
        in record.errors[0], record.errors
    delivery = store.outbox()[0].delivery
    waited = re.fullmatch(r"failed: the destination could not be resolved in time \((.+) s\)",
                          delivery)
    assert waited is not None, delivery
    assert 0 < float(waited[1]) <= 0.5  # what was left of the run, not the HTTP timeout
