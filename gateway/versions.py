"""Version guards for the modules that use a dependency's private internals for speed.

Three modules reach into a library beyond its public API, each kept in one place
(docs/architecture.md, "Private internals"): ``adapters/mqtt/paho_compat.py`` (paho-mqtt),
``gateway/layers/redis/privates.py`` (redis-py) and ``adapters/web/uvicorn_compat.py``
(uvicorn). Each calls :func:`require_version` at import with the one version its overrides
were written and tested against, so an upgrade stops the process at start-up with a message
instead of silently losing messages; tests/unit/gateway/test_versions.py also fails when
requirements.txt pins another version than a guard names.
"""

from __future__ import annotations

from importlib import metadata

from gateway.exceptions import UnsupportedDependency

__all__ = ["require_version"]


def require_version(distribution: str, supported: str, *, module: str) -> str:
    """Check that the installed ``distribution`` is exactly ``supported``; return it.

    Args:
        distribution: the package name as pip knows it, e.g. ``"paho-mqtt"``.
        supported: the version the module's overrides were checked against.
        module: the module that uses the private internals (named in the error).

    Raises:
        UnsupportedDependency: another version (or none) is installed; the message says
            which version to pin, or where to re-check the overrides before raising the pin.
    """
    try:
        installed = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        installed = None
    if installed != supported:
        found = f"{distribution} {installed} is installed" if installed else "it is not installed"
        raise UnsupportedDependency(
            f"{module} uses private internals of {distribution} {supported}, but {found}: "
            f"install {distribution}=={supported} (pinned in requirements.txt), or check every "
            f"override in {module} against the new version and update its supported version"
        )
    return installed
