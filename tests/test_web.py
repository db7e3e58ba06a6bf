"""Lind in the browser: the site `lind serve-web` builds, its examples run through
Pyodide on Node.js's WebAssembly and in headless Chromium (Debian's package, driven
by playwright-core from npm), their output checked against the same programs on the
cooperative runtime over wasmtime and against gcc's builds.

Needs Node.js with npm (Pyodide and playwright-core come from the npm registry, once,
into Lind's cache) and /usr/bin/chromium; .ci/run installs Chromium. The page's
screenshot is written to $LIND_TEST_ARTIFACTS (else the test's temporary directory).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
from test_cooperative import ENV, run_cooperative
from test_programs import run_native

from lind.cli import web

HERE = Path(__file__).parent / "web"
PLAYWRIGHT_VERSION = "1.64.1"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the page's tests (install nodejs and npm)")
    return node


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return web.build_site(tmp_path_factory.mktemp("site"))


def run_in_node(site: Path, program: Path, grate: str = "none", stdin: str = "",
                args: tuple[str, ...] = ()) -> dict:
    done = subprocess.run([_node(), str(HERE / "run_in_node.mjs"), str(site), str(program),
                           grate, stdin, *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("name", list(web.EXAMPLES))
def test_examples_on_node_match_the_wasmtime_engine(site, name):
    """Each bundled example, as the page runs it, gives on Node's engine exactly what
    the cooperative runtime gives on wasmtime: the engine seam changes nothing."""
    manifest = json.loads((site / "site.json").read_text())
    example = next(e for e in manifest["examples"] if e["name"] == name)
    program = site / example["program"]
    got = run_in_node(site, program, example["grate"], example["stdin"], tuple(example["args"]))
    from lind.portable import page

    expected = page.run(program.read_bytes(), [program.name, *example["args"]],
                        example["stdin"], example["grate"])
    assert got == expected
    assert got["status"] == 0
    if name == "pipeline":
        assert got["output"].endswith("5 lines through 2 pipes; children 2 and 3 exited\n")
    if name == "conversation":          # ten waits for an answer, each set aside
        assert got["output"].endswith("sum of squares 1..10 = 385; the child exited 0\n")
    if name == "strace":
        assert "] exit_group(0)" in got["output"] and "you typed: typed" in got["output"]
    if name == "aquarium":
        assert got["report"].splitlines()[:4] == [
            "created /work", "created /work/notes.txt", "modified /work/notes.txt",
            "renamed /work/notes.txt -> /work/final.txt"]


def test_the_page_keeps_a_tree_between_runs(site):
    """What the page keeps in IndexedDB: each run with `keep` starts from the archive
    the last one gave back (the notebook's entries add up; the program the run placed
    at its argv[0] is not kept), a run without it from a new tree, and an archive that
    is not one is said and replaced."""
    from lind.portable import page

    program = (site / "examples" / "notebook.wasm").read_bytes()
    first = page.run(program, ["notebook.wasm", "one"], keep=True)
    names = zipfile.ZipFile(io.BytesIO(first["files"])).namelist()
    assert "home/notebook.txt" in names and "notebook.wasm" not in names
    second = page.run(program, ["notebook.wasm", "two"], keep=True, files=first["files"])
    assert second["output"].splitlines() == ["entry 1: one", "entry 2: two",
                                             "2 entries in /home/notebook.txt"]
    alone = page.run(program, ["notebook.wasm", "three"])
    assert "files" not in alone and alone["output"].startswith("entry 1: three\n1 entry")
    broken = page.run(program, ["notebook.wasm", "four"], keep=True, files=b"not a zip")
    assert broken["output"].splitlines() == [
        "lind: the kept files could not be read; starting from none", "entry 1: four",
        "1 entry in /home/notebook.txt"]
    again = page.run(program, ["notebook.wasm", "five"], keep=True, files=broken["files"])
    assert again["output"].splitlines()[:2] == ["entry 1: four", "entry 2: five"]


def test_suspended_cages_answer_each_other_in_node(builds, site, tmp_path):
    """Asyncify's unwinding and rewinding on every wait, on V8: four cages trading
    numbers over pipes 200 times, as on Linux."""
    program = tmp_path / "coop_talk.wasm"
    shutil.copy(builds.wasm("coop_talk", "--suspendable"), program)
    native = run_native(builds.native("coop_talk"), ["talk", "200"], tmp_path, {})
    got = run_in_node(site, program, args=("talk", "200"))
    assert (got["status"], got["output"]) == (0, native.stdout.decode())


def test_cages_waiting_on_one_another_in_node(builds, site, tmp_path):
    """The bound on cages waiting on one another holds Pyodide's stack too."""
    program = tmp_path / "coop_chain.wasm"
    shutil.copy(builds.wasm("coop_chain"), program)
    got = run_in_node(site, program, args=("100",))
    assert got["status"] == 2
    assert got["output"].count("Resource deadlock would occur") == 4
    assert got["output"].rstrip().endswith("reached depth 100")


@pytest.mark.parametrize("name", ["forks", "jumps", "files"])
def test_test_programs_on_node_match_native(builds, site, tmp_path, name):
    """Programs of the test suite that fork, exec, longjmp and keep files, run in
    Pyodide on Node: the same output as gcc's build."""
    native = run_native(builds.native(name), [], tmp_path, ENV)
    program = tmp_path / f"{name}.wasm"
    shutil.copy(builds.wasm(name), program)
    got = run_in_node(site, program)
    assert got["output"] == native.stdout.decode(errors="replace")
    assert got["status"] == native.returncode
    code, out, _ = run_cooperative(program, [])
    assert (code, out) == (native.returncode, native.stdout.decode(errors="replace"))


@pytest.mark.parametrize("name", ["signal_calls", "signal_edges", "net_tcp", "fifo_opens"])
def test_conformance_on_node_matches_native(builds, site, tmp_path, name):
    """Signals (handlers run in the cage, masks, EINTR), TCP between cages on the run's
    loopback, FIFOs' rendezvous -- built --suspendable, on V8 as on Linux."""
    native = run_native(builds.native(f"conformance/{name}"), [], tmp_path, {})
    program = tmp_path / f"{name}.wasm"
    shutil.copy(builds.wasm(f"conformance/{name}", "--suspendable"), program)
    got = run_in_node(site, program)
    assert (got["status"], got["output"]) == (0, native.stdout.decode(errors="replace"))


def test_the_page_in_chromium(builds, site, tmp_path):
    """The page served with the isolation headers, in headless Chromium: every example
    chosen, run, and its output read from the page; then a program of the test suite
    uploaded as a person would, its output against gcc's build; then one that never
    returns, stopped with the page's Stop (the worker it ran in ends; the page goes on);
    then files kept in IndexedDB across a reload of the page, and forgotten; a
    screenshot kept."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.fail("Debian's chromium is needed for the browser test (apt-get install "
                    "chromium; .ci/run does it)")
    playwright = web.npm_package("playwright-core", PLAYWRIGHT_VERSION)
    httpd = web.server(site, 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    artifacts = Path(os.environ.get("LIND_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "lind-in-the-browser.png"
    upload = tmp_path / "args_env.wasm"
    shutil.copy(builds.wasm("args_env"), upload)
    native = run_native(builds.native("args_env"), ["7", "two", "three"], tmp_path, {})
    spinner = tmp_path / "coop_edges.wasm"
    shutil.copy(builds.wasm("coop_edges"), spinner)
    try:
        done = subprocess.run([_node(), str(HERE / "drive_browser.mjs"), str(playwright),
                               chromium, f"http://127.0.0.1:{httpd.server_address[1]}/",
                               str(screenshot), str(upload), "7 two three", str(spinner)],
                              capture_output=True, text=True, timeout=600)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.splitlines()[-1])
    assert results.pop("crossOriginIsolated") is True
    stopped, after = results.pop("stopped"), results.pop("after")
    assert stopped["whileRunning"] == "Running coop_edges.wasm\u2026"
    assert stopped["status"] == "coop_edges.wasm stopped."
    assert "exited with status 0" in after["status"]
    kept = results.pop("kept")
    assert "files kept: " in kept["first"]["status"]
    assert kept["first"]["output"].splitlines() == ["entry 1: first", "1 entry in /home/notebook.txt"]
    assert kept["stillChecked"] is True      # the box is remembered across the reload
    assert kept["afterReload"]["output"].splitlines() == [
        "entry 1: first", "entry 2: second", "2 entries in /home/notebook.txt"]
    assert kept["afterForget"]["output"].splitlines() == ["entry 1: third",
                                                          "1 entry in /home/notebook.txt"]
    uploaded = results.pop("upload")
    assert f"exited with status {native.returncode}" in uploaded["status"]
    assert uploaded["output"] == native.stdout.decode()
    assert set(results) == set(web.EXAMPLES)
    for name, result in results.items():
        assert "exited with status 0" in result["status"], (name, result)
    assert "you typed: a line for stdin" in results["hello"]["output"]
    assert "argv[4] = browser" in results["hello"]["output"]
    assert results["pipeline"]["output"].count("FROM CAGE 2") == 5
    assert "] read(0, " in results["strace"]["output"]
    assert "deleted /work/scratch" in results["aquarium"]["report"]
    assert "entry 1: a new entry" in results["notebook"]["output"]   # nothing kept: a new tree
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")
