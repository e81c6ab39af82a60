"""Root conftest: environment defaults for the test run, set before Django reads its settings."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
if not os.environ.get("GATEWAY_TEST_KEEP_REDIS_URL"):
    # The project layer in tests is the in-memory one; Redis tests build their own.
    os.environ.pop("REDIS_URL", None)
