"""A client's uploads: batches the server takes, however many small files there are."""

from __future__ import annotations

import json

from flexor_iac.remote.client import Client
from flexor_iac.remote.protocol import MAX_UPLOAD_BODY, digest_of
from flexor_iac.remote.settings import Remote


def test_many_small_files_go_in_batches_within_the_servers_limit() -> None:
    files = {}
    for n in range(4000):
        content = n.to_bytes(4, "big") * 2560  # 10 KiB each, 40 MB in all
        files[digest_of(content)] = content
    sent: list[int] = []
    client = Client(Remote("https://team.example", "flx_key"))
    client._post_files = lambda batch: sent.append(  # type: ignore[method-assign]
        len(json.dumps({"files": batch})))
    try:
        client._upload(files)
    finally:
        client.close()
    assert len(sent) >= 2 and max(sent) <= MAX_UPLOAD_BODY
