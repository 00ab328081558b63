"""A second newcomer's findings on issue 12 (the platform's side), tried from the README alone: each a
reproduction over HTTP on real servers, written before its fix."""

from __future__ import annotations

import pytest

from gateway.config import from_dict
from gateway.ops import logs
from tests.helpers import PROXY


@pytest.mark.parametrize("written", ["(415) 555-2671", "415.555.2671", "415 555 2671", "1-415-555-2671"])
async def test_a_phone_in_a_path_is_masked_in_the_log_however_it_is_written(gateway, capsys, written):
    """A national phone in a path (the README: "A phone may be national") reached the log line of the refusal
    as it came: only runs of 10-15 digits were masked."""
    community = await gateway.community(numbers=(PROXY,))
    logs.configure(from_dict({"log": {"format": "json", "level": "info"}}))
    capsys.readouterr()
    for path in (f"/v1/communities/{community['id']}/numbers/{written}", f"/v1/communities/999/numbers/{written}",
                 f"/v1/communities/{community['id']}/allow-list/{written}",
                 f"/v1/communities/{community['id']}/dnd/{written}"):
        status, _ = await gateway.call("DELETE", path)
        assert status in (404, 409, 422)
    out = capsys.readouterr().out
    assert "request_refused" in out
    assert "555" not in out.replace("+1415***2671", "")
