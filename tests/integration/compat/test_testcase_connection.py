"""Consumers run by communicators inside a Django TestCase keep the test's database connection
(Channels' tests/test_database.py checks the same on a SQLite file): database_sync_to_async
must not close it under the TestCase's transaction. Only a file database shows the fault, so
testcase_target.py runs in a pytest subprocess whose test database is a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def test_communicators_keep_the_testcase_connection_on_a_file_database(tmp_path: Path) -> None:
    env = os.environ | {"GATEWAY_TEST_DISK_DB": str(tmp_path / "test.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--ds=tests.integration.compat.disk_db_settings",
            "tests/integration/compat/testcase_target.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
