"""One meaning per option name: every command's ``--help`` checked against ``workbench.cli.OPTION_NAMES``.

Every Typer app of the ``pipeline`` and ``train`` packages and of the ``benchmarks/`` scripts is
found by importing their modules, and each command's help page (subcommands included) is rendered
and read: an option name the table
does not hold fails, and so does a name shared by commands (or decided for the whole project) whose
help does not start with the table's meaning.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from collections import defaultdict

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

import pipeline
import train
from tests.shared import ROOT
from workbench.cli import OPTION_NAMES, SHARED, typer_app


def _modules():
    """Every module of pipeline and train, then every benchmark script (imported as the scripts import
    each other: by file name, with benchmarks/ on the path while they load)."""
    for package in (pipeline, train):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield module.name, importlib.import_module(module.name)
    folder = str(ROOT / "benchmarks")
    sys.path.insert(0, folder)
    try:
        for script in sorted((ROOT / "benchmarks").glob("*.py")):
            yield f"benchmarks/{script.name}", importlib.import_module(script.stem)
    finally:
        sys.path.remove(folder)


def _apps() -> dict[str, typer.Typer]:
    """``module:name`` -> every Typer app defined at the top level of a module."""
    apps = {}
    for label, loaded in _modules():
        for name, value in vars(loaded).items():
            if isinstance(value, typer.Typer) and all(value is not a for a in apps.values()):
                apps[f"{label}:{name}"] = value
    return apps


APPS = _apps()


def _commands() -> list[tuple[str, typer.Typer, list[str]]]:
    """(label, app, argv prefix) of every command: each app, and each subcommand of a group."""
    found = []
    for label, app in APPS.items():
        command = get_command(app)
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found += [(f"{label} {name}", app, [name]) for name in subcommands]
        else:
            found.append((label, app, []))
    return found


COMMANDS = _commands()
OPTION = re.compile(r"^  (--[a-z0-9-]+)(?: / (--[a-z0-9-]+))?(?:, -[a-z])?(?: <[^>]+>| \[[^]]+\]| [A-Z_]+)?\s*(.*)$")


def help_options(app: typer.Typer, argv: list[str]) -> dict[str, str]:
    """Option name -> help text, read from the rendered ``--help`` page (continuation lines joined)."""
    page = CliRunner().invoke(app, [*argv, "--help"], terminal_width=1000)
    assert page.exit_code == 0, page.output
    options: dict[str, str] = {}
    last = None
    for line in page.output.splitlines():
        match = OPTION.match(line)
        if match:
            last = match.group(1)
            options[last] = match.group(3).strip()
            if match.group(2):
                options[match.group(2)] = options[last]
        elif last and line.startswith("    ") and line.strip():
            options[last] += " " + line.strip()
    options.pop("--help", None)
    return {name: " ".join(text.split()) for name, text in options.items()}


USES = {label: help_options(app, argv) for label, app, argv in COMMANDS}


def test_every_command_of_the_project_is_walked():
    labels = {label.split(":")[0] for label in USES}
    assert {"pipeline.encrypt.__main__", "pipeline.vor", "pipeline.attack", "pipeline.information", "pipeline.compress",
            "pipeline.learned_attack", "pipeline.report", "pipeline.fetch", "pipeline.fingerprint", "pipeline.keys", "pipeline.schemes",
            "pipeline.information_study", "pipeline.random", "pipeline.etc", "train.__main__", "train.launch",
            "benchmarks/etc.py", "benchmarks/gpu_check.py", "benchmarks/learned.py", "benchmarks/matfile.py",
            "benchmarks/schemes.py", "benchmarks/study_jobs.py", "benchmarks/train_throughput.py"} <= labels
    assert {"pipeline.information_study:app accuracy", "pipeline.information_study:app run",
            "pipeline.vor:params_app"} <= set(USES)
    assert all(USES.values()), [label for label, options in USES.items() if not options]


@pytest.mark.parametrize("label", sorted(USES))
def test_every_option_name_is_in_the_table(label):
    for name in USES[label]:
        base = "--" + name.removeprefix("--no-") if name.startswith("--no-") and name not in OPTION_NAMES else name
        assert base in OPTION_NAMES, f"{label}: {name} is not in workbench.cli.OPTION_NAMES"


def test_a_shared_name_means_the_same_in_every_command():
    commands_of = defaultdict(set)
    for label, options in USES.items():
        for name in options:
            commands_of[name].add(label)
    checked = [name for name, labels in commands_of.items() if name in OPTION_NAMES and (len(labels) > 1 or name in SHARED)]
    assert {"--seed", "--key-seed", "--scheme", "--dataset", "--out", "--block-size"} <= set(checked)
    for name in checked:
        for label in commands_of[name]:
            assert USES[label][name].startswith(OPTION_NAMES[name]), \
                f"{label}: the help of {name} ({USES[label][name]!r}) does not start with its meaning {OPTION_NAMES[name]!r}"


def test_the_table_holds_no_name_no_command_uses():
    used = {name for options in USES.values() for name in options}
    assert set(OPTION_NAMES) - used == set()


def test_the_walk_fails_on_an_unknown_name_and_on_a_second_meaning():
    """The checks above can fail: a command with a stray name, and one that gives --seed another meaning."""
    stray = typer_app(None)

    @stray.command()
    def main(seed: int = typer.Option(0, "--seed", help="the key's seed"), colour: str = typer.Option("red", "--colour")):
        """A command that breaks both rules."""

    options = help_options(stray, [])
    assert options == {"--seed": "the key's seed [default: 0]", "--colour": "[default: red]"}
    assert "--colour" not in OPTION_NAMES
    assert not options["--seed"].startswith(OPTION_NAMES["--seed"])


def test_no_hidden_option_anywhere_and_the_help_pages_list_every_option():
    """No release has been made: no hidden old spelling is accepted (nothing a --help page would not list);
    the pages read above hold every option each command declares."""
    for label, app, argv in COMMANDS:
        command = get_command(app)
        command = command.commands[argv[0]] if argv else command
        options = [p for p in command.params if p.param_type_name == "option"]
        assert [p.opts[0] for p in options if p.hidden] == [], label
        assert set(USES[label]) == {name for p in options for name in p.opts + p.secondary_opts}, label
