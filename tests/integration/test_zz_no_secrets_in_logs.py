"""Acceptance 6, second half: no log line of the whole run holds a password, a token or an
``Authorization`` value. Named to run last of the integration tests (files run in name order),
it reads every file the session's stack wrote: Ray's session logs (the Serve replicas', the
shards' and the other workers', Ray's own) and the stack's run directory (redis, moto,
HAProxy). The scanner is tested on samples of each kind (tests/unit/test_log_scan.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.local import LocalStack
from serve.settings import Settings
from tests.integration.conftest import PASSWORD
from tests.integration.test_rate_limits import WRONG
from tests.integration.test_sessions import NEW_PASSWORD
from tests.log_scan import log_files, passwords_in, scan_logs

pytestmark = pytest.mark.integration
SUITE = Path(__file__).parent


def test_no_log_of_the_run_holds_a_password_a_token_or_an_authorization_value(
    stack: LocalStack,
) -> None:
    passwords = passwords_in(SUITE.glob("*.py"))
    assert {PASSWORD, WRONG, NEW_PASSWORD} <= passwords
    secrets = {*passwords, Settings(**stack.settings).jwt_secret}
    assert stack._session_dir is not None
    roots = [Path(stack._session_dir) / "logs", stack.run_dir]
    scanned = list(log_files(*roots))
    assert any(path.name.startswith("worker-") for path in scanned)  # the app's logs are read
    assert any("serve" in path.parts for path in scanned)

    found = scan_logs(roots, secrets)

    assert found == {}, "\n".join(f"{path}: {hits[:3]}" for path, hits in found.items())
