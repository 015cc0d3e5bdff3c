"""Send one verb to the team server and replay its output here, line by line as the server
writes it, ending with the verb's own exit code (remote/protocol.py says what travels)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from flexor_iac import __version__
from flexor_iac.core.constants import ExitCode
from flexor_iac.core.errors import FlexorError, PolicyRefusal, UsageError
from flexor_iac.core.output import printable_line
from flexor_iac.remote.protocol import (
    API_PREFIX,
    MAX_UPLOAD_BODY,
    UPLOAD_ENTRY_BYTES,
    CommandRequest,
    digest_of,
)
from flexor_iac.remote.settings import Remote

CONNECT_SECONDS = 10.0
# A verb may run for long (a deploy waiting its turn, `logs --follow`); a silent one's server
# sends a keep-alive event, so a connection silent for 2 minutes is a lost server.
TIMEOUT = httpx.Timeout(CONNECT_SECONDS, read=120.0)  # the server says `alive` every 15 s


@dataclass
class Outcome:
    """How a verb ended on the server."""

    exit_code: int
    plan_id: str | None = None


@dataclass
class Client:
    """One team server, reached with one key."""

    server: Remote
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def __post_init__(self) -> None:
        headers = {"user-agent": f"flexor/{__version__}"}
        if self.server.key:
            headers["authorization"] = f"Bearer {self.server.key}"
        self._http = httpx.Client(base_url=self.server.url + API_PREFIX, headers=headers,
                                  timeout=TIMEOUT, verify=self.server.verify)

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, request: CommandRequest, files: dict[str, bytes],
            on_event: Callable[[dict[str, Any]], None] | None = None) -> Outcome:
        """Run `request` on the server (uploading the files it lacks first) and replay its
        output; the verb's exit code."""
        for _attempt in range(3):
            missing: list[str] = []
            try:
                with self._http.stream("POST", "/commands",
                                       json=request.model_dump()) as response:
                    if response.status_code == 409:
                        response.read()
                        missing = list(response.json().get("missing") or [])
                    else:
                        self._refuse(response)
                        return self._replay(response, on_event)
            except httpx.HTTPError as error:
                raise self._unreachable(error) from None
            self._upload({d: c for d, c in _by_digest(files).items() if d in missing})
        raise FlexorError(f"the team server {self.server.url} kept asking for files")

    def _unreachable(self, error: Exception) -> FlexorError:
        return FlexorError(f"cannot reach the team server {self.server.url}: {error}")

    def _upload(self, files: dict[str, bytes]) -> None:
        batch: dict[str, str] = {}
        size = 0
        for digest, content in files.items():
            encoded = base64.b64encode(content).decode()
            if batch and size + len(encoded) + UPLOAD_ENTRY_BYTES > MAX_UPLOAD_BODY - 1024:
                self._post_files(batch)
                batch, size = {}, 0
            batch[digest] = encoded
            size += len(encoded) + UPLOAD_ENTRY_BYTES
        if batch:
            self._post_files(batch)

    def _post_files(self, batch: dict[str, str]) -> None:
        try:
            response = self._http.post("/files", json={"files": batch})
        except httpx.HTTPError as error:
            raise self._unreachable(error) from None
        self._refuse(response)

    def _refuse(self, response: httpx.Response) -> None:
        """Raise the error a refused request stands for (nothing ran)."""
        if response.status_code < 400:
            return
        response.read()
        try:
            message = str(response.json().get("error") or response.reason_phrase)
        except (ValueError, AttributeError):
            message = f"HTTP {response.status_code} {response.reason_phrase}"
        if response.status_code in (401, 403, 429):
            raise PolicyRefusal(message)
        if response.status_code in (400, 404, 405, 413, 422):
            raise UsageError(message)
        raise FlexorError(f"the team server {self.server.url}: {message}")

    def _replay(self, response: httpx.Response,
                on_event: Callable[[dict[str, Any]], None] | None) -> Outcome:
        outcome = Outcome(int(ExitCode.INTERNAL))
        ended = False
        try:
            for raw in response.iter_lines():
                if not raw.strip():
                    continue
                found = json.loads(raw)
                if on_event is not None:
                    on_event(found)
                if "out" in found:
                    print(printable_line(str(found["out"])), file=self.out, flush=True)
                elif "err" in found:
                    print(printable_line(str(found["err"])), file=self.err, flush=True)
                elif "plan_id" in found:
                    outcome.plan_id = str(found["plan_id"])
                elif "exit" in found:
                    outcome.exit_code, ended = int(found["exit"]), True
        except (httpx.HTTPError, ValueError) as error:
            raise FlexorError(f"the team server {self.server.url} stopped answering mid-verb "
                              f"({error}); what it did is in `flexor history`") from None
        if not ended:
            raise FlexorError(f"the team server {self.server.url} ended the verb without its "
                              "result; see `flexor history` and `flexor status`")
        return outcome


def _by_digest(files: dict[str, bytes]) -> dict[str, bytes]:
    return {digest_of(content): content for content in files.values()}
