"""What a client and the team server exchange (`/api/v1`): the project's files by digest, a
verb's arguments, and the verb's output as newline-delimited JSON events.

The client sends the files a verb reads (the stack files, `agents/`, `vaults/`) as a map of
path to SHA-256; the server asks for the content it lacks, stores it once by digest, and runs
the verb on a copy of exactly those files. Output comes back as it is written, one event per
line: `{"out": line}` (stdout), `{"err": line}` (stderr), `{"plan_id": id}` (a plan saved on
the server), and last `{"exit": code}`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from flexor_iac.core.constants import ENVIRONMENT_NAMES
from flexor_iac.core.errors import FlexorError
from flexor_iac.project.files import NotRegular, TooLarge, read_regular

API_PREFIX = "/api/v1"
API_VERSION = 1
MAX_FILES = 20_000
MAX_FILE_BYTES = 16 << 20  # a vault's largest file (deploy/snapshots.MAX_VAULT_FILE_BYTES)
MAX_UPLOAD_BYTES = 32 << 20  # one upload request's files, before encoding
# One upload request's body: the files base64-encoded, with each entry's digest and quotes.
MAX_UPLOAD_BODY = MAX_UPLOAD_BYTES * 4 // 3 + (1 << 20)
UPLOAD_ENTRY_BYTES = 72  # "<64 hex digits>": "", in the JSON of each file
# What a rollback's dry run says of the version it would roll back to: the client asks on its
# terminal, then rolls back to exactly that version, whatever was deployed meanwhile.
_ROLLBACK_TARGET = re.compile(r"Dry run: would roll (\S+) back to (\S+) in (\S+)\.")


def rollback_target_line(agent: str, version: str, env: str) -> str:
    """The line a rollback's dry run ends with."""
    return f"Dry run: would roll {agent} back to {version} in {env}."


def rollback_target(line: str) -> str | None:
    """The version a rollback dry run's line names, else None."""
    found = _ROLLBACK_TARGET.fullmatch(line.strip())
    return found.group(2) if found else None


FOLDERS = ("agents", "vaults")  # what a verb reads besides the Pulumi files
_STACK_FILES = ("Pulumi.yaml", *(f"Pulumi.{env}.yaml" for env in ENVIRONMENT_NAMES))
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_PART = re.compile(r"^[^/\x00]+$")


def digest_of(content: bytes) -> str:
    """A file's digest: its SHA-256, hex."""
    return hashlib.sha256(content).hexdigest()


def valid_digest(text: str) -> bool:
    """Whether `text` is a digest as digest_of writes it."""
    return bool(_DIGEST.match(text))


def allowed_path(path: str) -> bool:
    """Whether a client may send a file at `path`: a stack file, or a relative path without
    `.`/`..` parts inside agents/ or vaults/."""
    if path in _STACK_FILES:
        return True
    parts = path.split("/")
    return (len(parts) >= 2 and parts[0] in FOLDERS
            and all(_PART.match(p) and p not in (".", "..") for p in parts))


class CommandRequest(BaseModel):
    """One verb to run on the server."""

    model_config = ConfigDict(extra="forbid")

    argv: list[str] = Field(description="The verb and its arguments, as typed after `flexor` "
                                        "(no --project-dir, no --server).", min_length=1)
    files: dict[str, str] = Field(description="The project's files: path → SHA-256 (hex).")
    plan_out: bool = Field(False, description="deploy --plan-out: save the plan on the server "
                                              "and report its id.")
    plan_id: str | None = Field(None, description="deploy --plan ID: apply the plan saved "
                                                  "on the server under ID.")


class OidcToken(BaseModel):
    """A CI job's OpenID Connect token, to exchange for a short-lived key."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=16 << 10)


class MissingFiles(BaseModel):
    """The digests the server has no content for."""

    missing: list[str]


class DigestList(BaseModel):
    """Digests a client asks about."""

    model_config = ConfigDict(extra="forbid")

    digests: list[str] = Field(max_length=MAX_FILES)


def project_files(root: Path) -> dict[str, bytes]:
    """The files of the project at `root` that verbs read: the Pulumi files and every regular
    file under agents/ and vaults/ (a link is sent as the file it leads to, when that stays in
    the project; anything else — FIFOs, devices, links out — is not sent)."""
    found: dict[str, bytes] = {}
    resolved_root = root.resolve()
    candidates = [root / name for name in _STACK_FILES]
    for folder in FOLDERS:
        if (root / folder).is_dir():
            candidates += sorted((root / folder).rglob("*"))
    for path in candidates:
        name = path.relative_to(root).as_posix()
        if not allowed_path(name) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(resolved_root):
            continue
        try:
            found[name] = read_regular(path, MAX_FILE_BYTES)
        except TooLarge:
            raise FlexorError(f"{name}: larger than {MAX_FILE_BYTES >> 20} MiB, more than the "
                              "team server takes") from None
        except (NotRegular, OSError):
            continue  # the server's validation reports what is missing, as validate would
        if len(found) > MAX_FILES:
            raise FlexorError(f"the project has more than {MAX_FILES} files in agents/ and "
                              "vaults/, more than the team server takes")
    return found
