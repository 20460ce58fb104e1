"""The README's promises that a test can hold it to."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return f.read()


def test_ci_runs_the_readmes_test_command():
    commands = re.findall(r"^python3 -m venv .*$", _read("README.md"), flags=re.M)
    assert len(commands) == 2, commands
    assert commands[0].endswith("python -m garden.train --model=sdm")
    assert commands[1] in _read(".ci", "run").splitlines()


def test_every_registered_model_is_in_the_readme_table():
    from garden import registry
    readme = _read("README.md")
    for name in registry.list_models():
        assert f"| `{name}` |" in readme, name
