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


def reference_python(
    name: str, requirements: list[str], *, requirement_file: Path | None = None
) -> Path:
    """Return the interpreter of venv bench/.venv-NAME, creating it with `requirements` if needed.

    `requirement_file` (a hash-pinned pip-compile output such as requirements.txt) is installed
    first, in its own pip run: pip's hash-checking mode would otherwise demand hashes for
    `requirements` too. The venv is rebuilt when the requirements or that file's text change
    (a stamp file records them).
    """
    venv = BENCH_DIR / f".venv-{name}"
    python = venv / "bin" / "python"
    stamp = venv / ".requirements"
    wanted = "\n".join(sorted(requirements))
    if requirement_file is not None:
        wanted += "\n" + requirement_file.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    logger.info("creating reference venv %s with %s", venv, ", ".join(requirements))
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    if requirement_file is not None:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(requirement_file)],
            check=True,
        )
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
    )
    stamp.write_text(wanted)
    return python
