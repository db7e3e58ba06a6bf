"""Run, for one mutant, only the tests of the selection that execute the lines it changed.

Two roles, one file:

- a pytest plugin (`-p covering`, used by run.py's coverage pass) that labels what each
  test executes with the test's node id — in the pytest process through coverage's
  dynamic context, in `python -m lind` subprocesses through the static context of the
  configuration coverage hands them;
- the test command of a mutation session: `covering.py MAP MODULE -- PYTEST_ARGS...`
  compares the mutated module in the working directory with the pristine text kept in
  MAP, and runs pytest on the tests that executed the changed lines. A line executed
  outside any test (between tests, or at import: outside function bodies), a line MAP
  does not know, or no change at all (the baseline) runs the whole selection: the
  choice can only shrink the run where coverage proved the other tests never reach
  the mutant.

Survivors are what cost time (every test of the selection runs against them); this is
how mutmut and Stryker's per-test coverage analysis keep them cheap.
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path


def _label(context: str) -> None:
    import coverage

    current = coverage.Coverage.current()
    if current is None:
        return
    current.switch_context(context)
    # patch=subprocess hands children the configuration serialized in this variable;
    # its static context is what their lines are labelled with.
    current.config.context = context
    os.environ["COVERAGE_PROCESS_CONFIG"] = current.config.serialize()


def pytest_runtest_setup(item) -> None:
    _label(item.nodeid)


def pytest_runtest_logfinish(nodeid, location) -> None:
    _label("")


def changed_lines(pristine: list[str], mutated: list[str]) -> set[int]:
    """1-based line numbers of `pristine` that the mutation replaced or deleted (or, for
    an insertion, the lines either side of it)."""
    lines: set[int] = set()
    matcher = difflib.SequenceMatcher(a=pristine, b=mutated, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lines.update(range(i1 + 1, i2 + 1))
        elif tag == "insert":
            lines.update({i1, i1 + 1})
    return lines


def function_body_lines(source: str) -> set[int]:
    """The lines inside function bodies: the only ones that run when a test calls into
    the module. The others (module and class level, decorators, a def's own line with
    its default values) run once, at import, in whichever test first imported the
    module in its process: coverage labels them with that test alone."""
    import ast

    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            body = node.body if isinstance(node.body, list) else [node.body]
            lines.update(range(body[0].lineno, node.end_lineno + 1))
    return lines


def chosen_tests(coverage_map: dict, mutated: str, selection: list[str]) -> list[str]:
    """The node ids to run against `mutated`; `selection` itself when coverage cannot
    narrow it."""
    pristine = coverage_map["pristine"]
    lines = changed_lines(pristine.splitlines(), mutated.splitlines())
    by_line: dict[str, list[str]] = coverage_map["tests_by_line"]
    if (not lines or not lines <= function_body_lines(pristine)
            or any(str(n) not in by_line or "" in by_line[str(n)] for n in lines)):
        return selection
    wanted = {test for n in lines for test in by_line[str(n)]}

    def place(test: str) -> tuple[int, str]:   # the selection's order, then the name
        return (next((i for i, chosen in enumerate(selection)
                      if test == chosen or test.startswith((chosen + "::", chosen + "["))),
                     len(selection)), test)
    return sorted(wanted, key=place)


def main(argv: list[str]) -> int:
    map_file, module, separator, *pytest_args = argv
    if separator != "--":
        raise SystemExit("usage: covering.py MAP MODULE -- PYTEST_ARGS...")
    coverage_map = json.loads(Path(map_file).read_text())
    mutated = (Path.cwd() / "src/lind" / module).read_text()
    options = [a for a in pytest_args if a.startswith("-") or a == "no:cacheprovider"]
    selection = [a for a in pytest_args if a not in options]
    tests = chosen_tests(coverage_map, mutated, selection)
    return subprocess.run([sys.executable, "-m", "pytest", *options, *tests]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
