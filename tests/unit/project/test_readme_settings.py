"""The README's settings table lists exactly the environment variables the settings read.

The variables are found in project/settings.py's syntax tree (tests/unit/project/environment.py),
so a setting another change adds is checked too.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.project.environment import environment_reads

ROOT = Path(__file__).resolve().parents[3]
# Read by a dependency, not by our settings, yet the user sets them: the table documents them.
READ_BY_DEPENDENCIES = {
    "FORWARDED_ALLOW_IPS": "uvicorn's proxy headers (the web adapter)",
}


def readme_table() -> set[str]:
    """The `VARIABLE` names in the first column of the README's settings table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_the_reader_finds_every_form_of_environment_read() -> None:
    source = (
        'import os\nA = os.environ.get("A")\nB = os.environ["B"]\nC = os.getenv("C", "")\n'
        'D = env_bool("D", False)\nE = env_list("E", [])\nF = config(env="F")\n'
        'os.environ.setdefault("G", "1")\nH = os.environ.get("not a variable")\n'
    )
    assert environment_reads(source) == set("ABCDEFG")


def test_every_variable_the_settings_read_is_in_the_readme_table() -> None:
    read = environment_reads((ROOT / "project" / "settings.py").read_text())
    missing = sorted(read - readme_table())
    assert not missing, f"add these to README.md's settings table: {missing}"


def test_the_readme_table_lists_only_variables_that_are_read() -> None:
    read = environment_reads((ROOT / "project" / "settings.py").read_text())
    unknown = sorted(readme_table() - read - READ_BY_DEPENDENCIES.keys())
    assert not unknown, f"README.md's settings table lists variables nothing reads: {unknown}"
