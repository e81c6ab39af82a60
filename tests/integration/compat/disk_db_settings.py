"""Test settings whose test database is a SQLite file, not memory: Django then really closes a
connection it is told to close, which an in-memory test database ignores. Used by
test_testcase_connection.py in a subprocess (the test database is chosen once per run)."""

import os

from project.settings_test import *  # noqa: F403

DATABASES["default"]["TEST"] = {"NAME": os.environ["GATEWAY_TEST_DISK_DB"]}  # noqa: F405
