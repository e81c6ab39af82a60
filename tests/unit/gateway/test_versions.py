"""Version guards of the modules that use a dependency's private internals.

These fail loudly when the installed or pinned version of paho-mqtt, redis-py or uvicorn is
not the one a guard names: re-check that module's overrides, then raise its version.
"""

from __future__ import annotations

import importlib.util
import re
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

from gateway import versions
from gateway.exceptions import ConfigurationError, UnsupportedDependency
from gateway.versions import require_version

ROOT = Path(__file__).resolve().parents[3]

#: (distribution, module holding its privates, name of the supported-version constant)
GUARDS = [
    ("paho-mqtt", "adapters.mqtt.paho_compat", "SUPPORTED_PAHO"),
    ("redis", "gateway.layers.redis.privates", "SUPPORTED_REDIS"),
    ("uvicorn", "adapters.web.uvicorn_compat", "SUPPORTED_UVICORN"),
]


def pinned(distribution: str) -> str:
    text = (ROOT / "requirements.txt").read_text()
    found = re.search(rf"^{re.escape(distribution)}(?:\[[^\]]*\])?==(\S+)", text, re.MULTILINE)
    assert found, f"requirements.txt pins no {distribution}"
    return found.group(1)


def fresh_import(name: str) -> ModuleType:
    """Run a module's code again in a new module object (sys.modules is left alone)."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("distribution", "module", "constant"), GUARDS)
def test_the_guard_names_the_pinned_and_installed_version(
    distribution: str, module: str, constant: str
) -> None:
    supported = getattr(importlib.import_module(module), constant)
    assert pinned(distribution) == supported, (
        f"requirements.txt pins {distribution}=={pinned(distribution)} but {module} was "
        f"checked against {supported}: review the overrides in {module}, then update {constant}"
    )
    assert metadata.version(distribution) == supported, (
        f"{distribution} {metadata.version(distribution)} is installed, {module} supports "
        f"{supported}: pip install -r requirements.txt"
    )


@pytest.mark.parametrize(("distribution", "module", "constant"), GUARDS)
def test_importing_with_another_version_installed_fails(
    monkeypatch: pytest.MonkeyPatch, distribution: str, module: str, constant: str
) -> None:
    real = metadata.version

    def other_version(name: str) -> str:
        return "99.0.0" if name == distribution else real(name)

    monkeypatch.setattr(versions.metadata, "version", other_version)
    with pytest.raises(UnsupportedDependency, match=rf"{distribution} 99\.0\.0 is installed"):
        fresh_import(module)


def test_require_version_returns_the_installed_version() -> None:
    assert require_version("redis", metadata.version("redis"), module="m") == metadata.version(
        "redis"
    )


def test_require_version_says_what_to_do() -> None:
    with pytest.raises(UnsupportedDependency) as caught:
        require_version("paho-mqtt", "0.0.1", module="adapters.mqtt.paho_compat")
    message = str(caught.value)
    assert "adapters.mqtt.paho_compat uses private internals of paho-mqtt 0.0.1" in message
    assert f"paho-mqtt {metadata.version('paho-mqtt')} is installed" in message
    assert "install paho-mqtt==0.0.1" in message
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, ConfigurationError)


def test_require_version_of_a_missing_distribution() -> None:
    with pytest.raises(UnsupportedDependency, match="it is not installed"):
        require_version("no-such-distribution-xyz", "1.0", module="m")
