"""The package builds into a wheel that installs into a fresh venv and works there.

The wheel is built from a copy of the sources (so the worktree gets no build/ or egg-info),
with the project's own setuptools (``--no-isolation``: no download). The fresh venv gets the
wheel with ``pip --no-deps``; its dependencies come from this test run's environment through a
``.pth`` line placed after the venv's own site-packages, so the installed ``gateway`` (not the
repository) is what gets imported.
"""

from __future__ import annotations

import json
import shutil
import site
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ["pyproject.toml", "LICENSE", "README.md", "gateway", "adapters"]

# Run by the fresh venv's interpreter, outside the repository.
CHECK = textwrap.dedent(
    """
    import asyncio, json, sys
    from importlib import metadata

    import django
    from django.conf import settings

    settings.configure(INSTALLED_APPS=["gateway"], CHANNEL_LAYERS={})
    django.setup()

    import adapters.mqtt
    import gateway
    from gateway.generic.websocket import AsyncJsonWebsocketConsumer
    from gateway.layers.redis.pubsub import RedisPubSubChannelLayer
    from gateway.layers.redis.serializers import registry
    from gateway.testing import WebsocketCommunicator

    class Echo(AsyncJsonWebsocketConsumer):
        async def receive_json(self, content):
            await self.send_json({"echo": content})

    async def talk():
        communicator = WebsocketCommunicator(Echo.as_asgi(), "/ws/")
        connected, _ = await communicator.connect()
        await communicator.send_json_to({"n": 1})
        answer = await communicator.receive_json_from()
        await communicator.disconnect()
        return connected, answer

    connected, answer = asyncio.run(talk())
    meta = metadata.metadata("gateway")
    print(json.dumps({
        "gateway": gateway.__file__,
        "adapters": adapters.mqtt.__file__,
        "connected": connected,
        "answer": answer,
        "formats": registry.formats,
        "pubsub": RedisPubSubChannelLayer.__module__,
        "requires": metadata.requires("gateway"),
        "extras": meta.get_all("Provides-Extra"),
        # setuptools puts the file at the top of .dist-info, or under licenses/ (metadata 2.4).
        "license": (
            metadata.distribution("gateway").read_text("licenses/LICENSE")
            or metadata.distribution("gateway").read_text("LICENSE")
            or ""
        ).split("\\n")[0],
    }))
    """
)


def test_wheel_installs_into_a_fresh_venv_and_works(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, source / name)
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("gateway-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "gateway/py.typed" in names
    assert "gateway/layers/redis/pubsub.py" in names
    assert any(name.startswith("adapters/mqtt/") for name in names)
    # The application (bot, Django project) and the tests are not part of the library.
    assert not [n for n in names if n.split("/")[0] in {"consumers", "project", "tests", "bench"}]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    venv_site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (venv_site / "zz_test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    done = subprocess.run(
        [str(python), "-c", CHECK],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": ""},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["gateway"].startswith(str(venv_site))
    assert result["adapters"].startswith(str(venv_site))
    assert result["connected"] is True
    assert result["answer"] == {"echo": {"n": 1}}
    assert result["formats"] == ["json", "msgpack"]
    assert result["pubsub"] == "gateway.layers.redis.pubsub"
    assert set(result["extras"]) >= {"redis", "mqtt", "telegram", "ax25", "web", "all"}
    assert any(r.startswith("Django") for r in result["requires"])
    assert 'paho-mqtt>=2.1; extra == "mqtt"' in result["requires"]
    assert result["license"] == "BSD 3-Clause License"
