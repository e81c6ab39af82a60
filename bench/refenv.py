"""Reference systems for the benchmarks, each in its own virtual environment under bench/.

The references (Django Channels, Daphne, channels_redis, mqttasgi) are never dependencies of
the project: they are installed here only so that a benchmark can run them side by side with
our code in the same run, on the same machine, and report ratios.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

BENCH_DIR = Path(__file__).resolve().parent


def reference_python(name: str, requirements: list[str]) -> Path:
    """Return the interpreter of venv bench/.venv-NAME, creating it with `requirements` if needed.

    The venv is rebuilt when the requirement list changes (a stamp file records it).
    """
    venv = BENCH_DIR / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = "\n".join(sorted(requirements))
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    logger.info("creating reference venv %s with %s", venv, ", ".join(requirements))
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
    )
    stamp.write_text(wanted)
    return python
