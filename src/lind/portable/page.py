"""What the web page (web/lind.js) calls inside Pyodide: run one program on the
cooperative runtime and give back what a terminal would have shown."""

from __future__ import annotations

from typing import Any

from lind.portable.layers import ChangeReport, Strace
from lind.portable.runtime import Runtime

GRATES = ("none", "strace", "aquarium")


def run(wasm: bytes, argv: list[str], stdin: str = "", grate: str = "none",
        timeout: float | None = 60.0) -> dict[str, Any]:
    """{"output": stdout and stderr as they came, "status": the exit status (-N for a
    signal), "report": aquarium's report or ""}."""
    if grate not in GRATES:
        raise ValueError(f"unknown grate {grate!r} (one of: {', '.join(GRATES)})")
    output = bytearray()
    report = ChangeReport() if grate == "aquarium" else None
    layers: list[Any] = [Strace()] if grate == "strace" else [report] if report else []
    runtime = Runtime(stdin=stdin.encode(), stdout=output.extend, stderr=output.extend,
                      layers=layers, timeout=timeout)
    try:
        status = runtime.run(bytes(wasm), argv)
    except OSError as exc:
        output.extend(f"lind: {argv[0]}: {exc.strerror or exc}\n".encode())
        status = 126
    return {"output": output.decode("utf-8", "replace"), "status": status,
            "report": report.report() if report else ""}
