"""What the web page (web/lind.js) calls inside Pyodide: run one program on the
cooperative runtime and give back what a terminal would have shown."""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import Any

from lind.portable.layers import ChangeReport, Strace
from lind.portable.memfs import File, Tree
from lind.portable.runtime import Runtime

GRATES = ("none", "strace", "aquarium")


def run(wasm: Any, argv: list[str], stdin: str = "", grate: str = "none",
        timeout: float | None = 60.0, *, keep: bool = False,
        files: Any = None) -> dict[str, Any]:
    """{"output": stdout and stderr as they came, "status": the exit status (-N for a
    signal), "report": aquarium's report or ""}. With `keep`, the run's tree starts
    from `files` (a zip archive of an earlier run's tree, or None: a new tree) and
    the result has "files", this run's tree as such an archive, which the page keeps
    in the browser's IndexedDB. `wasm` and `files` are bytes, or the page's
    Uint8Arrays."""
    if grate not in GRATES:
        raise ValueError(f"unknown grate {grate!r} (one of: {', '.join(GRATES)})")
    program = _as_bytes(wasm)
    output = bytearray()
    report = ChangeReport() if grate == "aquarium" else None
    layers: list[Any] = [Strace()] if grate == "strace" else [report] if report else []
    tree = Tree()
    if keep and files is not None:
        try:
            tree.load(io.BytesIO(_as_bytes(files)))
        except (ValueError, zipfile.BadZipFile):   # not an archive (storage is the user's)
            output.extend(b"lind: the kept files could not be read; starting from none\n")
    runtime = Runtime(tree=tree, stdin=stdin.encode(), stdout=output.extend,
                      stderr=output.extend, layers=layers, timeout=timeout)
    try:
        status = runtime.run(program, argv)
    except OSError as exc:
        output.extend(f"lind: {argv[0]}: {exc.strerror or exc}\n".encode())
        status = 126
    result = {"output": output.decode("utf-8", "replace"), "status": status,
              "report": report.report() if report else ""}
    if keep:
        _forget_program(tree, argv[0] if argv else "", program)
        archive = io.BytesIO()
        tree.save(archive)
        result["files"] = archive.getvalue()
    return result


def _as_bytes(data: Any) -> bytes:
    """Bytes from Python, or from the page (a Uint8Array's proxy, copied in one go)."""
    return data.to_bytes() if hasattr(data, "to_py") else bytes(data)


def _forget_program(tree: Tree, name: str, wasm: bytes) -> None:
    """The program the run placed in its tree (at argv[0], so that it can exec itself)
    is not kept: the next run places its own there."""
    with tree.lock:
        try:
            found = tree.find(posixpath.join("/", name))
        except OSError:
            return
        if isinstance(found.node, File) and found.node.data == wasm:
            tree.remove(found.parent, found.name)
