"""Settings for the test run: the project's settings with test-friendly environment defaults.

pytest-django loads this before any conftest.py, so the defaults are in place before
project.settings reads the environment; subprocesses started by tests inherit them.
"""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
if not os.environ.get("GATEWAY_TEST_KEEP_REDIS_URL"):
    # The project's layer in tests is the in-memory one; Redis tests build their own layers.
    os.environ.pop("REDIS_URL", None)

from project.settings import *  # noqa: F403
