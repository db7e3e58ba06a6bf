"""`lind serve-web`: build the browser page (web/) into a site and serve it.

The site holds the page, Pyodide (from the npm registry's `pyodide` package, fetched
once by npm into Lind's cache at build time; nothing comes from a CDN when the page
runs), Lind as a pure-Python wheel, and the example programs built with `lind cc`.
It is served with the cross-origin isolation headers a shared WebAssembly memory
needs (any static server that sends them will do).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import lind
from lind.hostdirs import cache_root

PYODIDE_VERSION = "314.0.8"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
WEB_SOURCE = Path(__file__).resolve().parents[3] / "web"      # the checkout's web/
# what the page offers: name -> (source in web/examples, grate, arguments, stdin); each
# built with `lind cc -O2 --suspendable`, so that a cage waiting for another is set aside
EXAMPLES = {
    "hello": ("hello.c", "none", ["world", "from the browser"], "a line for stdin\n"),
    "pipeline": ("pipeline.c", "none", [], ""),
    "conversation": ("talk.c", "none", [], ""),
    "strace": ("hello.c", "strace", ["traced"], "typed\n"),
    "aquarium": ("files.c", "aquarium", [], ""),
    "notebook": ("notebook.c", "none", ["a", "new", "entry"], ""),
}
ISOLATION_HEADERS = {"Cross-Origin-Opener-Policy": "same-origin",
                     "Cross-Origin-Embedder-Policy": "require-corp",
                     "Cross-Origin-Resource-Policy": "same-origin"}


class WebError(Exception):
    """The site cannot be built; the message says why."""


def cache_dir() -> Path:
    return Path(cache_root()) / "web"


def npm_package(name: str, version: str) -> Path:
    """`name@version` from the npm registry, installed once into Lind's cache."""
    prefix = cache_dir() / f"{name}-{version}"
    package = prefix / "node_modules" / name
    if (package / "package.json").exists():
        return package
    npm = shutil.which("npm")
    if npm is None:
        raise WebError(f"npm is needed once to fetch {name} {version} from the npm registry "
                       "(install Node.js)")
    prefix.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund",
                           "--prefix", str(prefix), f"{name}@{version}"],
                          capture_output=True, text=True)
    if done.returncode != 0 or not (package / "package.json").exists():
        raise WebError(f"npm install {name}@{version} failed: {done.stderr.strip()[-500:]}")
    return package


def wheel(out_dir: Path) -> Path:
    """Lind's Python code as a pure-Python wheel (its C trampoline and wasmtime are not
    used in a page): what the page unpacks into Pyodide."""
    package = Path(lind.__file__).parent
    name = f"lind-{lind.__version__}-py3-none-any.whl"
    dist = f"lind-{lind.__version__}.dist-info"
    target = out_dir / name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.rglob("*.py")):
            archive.write(path, "lind/" + path.relative_to(package).as_posix())
        archive.writestr(f"{dist}/METADATA",
                         f"Metadata-Version: 2.1\nName: lind\nVersion: {lind.__version__}\n")
        archive.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: lind serve-web\n"
                                          "Root-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist}/RECORD", "")
    return target


def build_site(out_dir: Path) -> Path:
    """The whole site in `out_dir`; the directory, ready to serve."""
    if not (WEB_SOURCE / "index.html").exists():
        raise WebError(f"the page's sources are not at {WEB_SOURCE} (serve-web needs a "
                       "checkout of Lind)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in WEB_SOURCE.iterdir():
        if item.is_file():
            shutil.copy2(item, out_dir / item.name)
    pyodide = npm_package("pyodide", PYODIDE_VERSION)
    (out_dir / "pyodide").mkdir(exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copy2(pyodide / name, out_dir / "pyodide" / name)
    examples = out_dir / "examples"
    examples.mkdir(exist_ok=True)
    manifest = {"wheel": wheel(out_dir).name, "examples": []}
    built: dict[str, str] = {}
    for name, (source, grate, args, stdin) in EXAMPLES.items():
        if source not in built:
            program = examples / (Path(source).stem + ".wasm")
            _compile(WEB_SOURCE / "examples" / source, program)
            built[source] = f"examples/{program.name}"
        manifest["examples"].append({"name": name, "program": built[source], "grate": grate,
                                     "args": args, "stdin": stdin,
                                     "source": f"examples/{source}"})
        shutil.copy2(WEB_SOURCE / "examples" / source, examples / source)
    (out_dir / "site.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return out_dir


def _compile(source: Path, program: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "lind", "cc", "-O2", "--suspendable",
                           str(source), "-o", str(program)], capture_output=True, text=True)
    if done.returncode != 0:
        raise WebError(f"lind cc {source.name} failed:\n{done.stderr}")


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript",
                      ".wasm": "application/wasm", ".whl": "application/zip",
                      ".json": "application/json", ".c": "text/plain"}

    def end_headers(self) -> None:
        for key, value in ISOLATION_HEADERS.items():
            self.send_header(key, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:   # noqa: A002 - the base's name
        if os.environ.get("LIND_WEB_LOG"):
            super().log_message(format, *args)


def server(site: Path, port: int, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server of `site` with the isolation headers (port 0: any free port)."""
    handler = functools.partial(_Handler, directory=str(site))
    return http.server.ThreadingHTTPServer((host, port), handler)


def main(argv: list[str]) -> int:
    """`lind serve-web [--port N] [--host ADDR] [--out DIR] [--build-only]`."""
    port, host, out, build_only = 8000, "127.0.0.1", cache_dir() / "site", False
    args = iter(argv)
    try:
        for arg in args:
            if arg == "--port":
                port = int(next(args))
                if not 0 <= port <= 65535:
                    raise ValueError(arg)
            elif arg == "--host":
                host = next(args)
            elif arg == "--out":
                out = Path(next(args))
            elif arg == "--build-only":
                build_only = True
            else:
                raise ValueError(arg)
    except (StopIteration, ValueError):
        print("usage: lind serve-web [--port N] [--host ADDR] [--out DIR] [--build-only]",
              file=sys.stderr)
        return 2
    try:
        site = build_site(out)
    except WebError as exc:
        print(f"lind serve-web: {exc}", file=sys.stderr)
        return 1
    if build_only:
        print(f"lind serve-web: site built in {site}")
        return 0
    try:
        httpd = server(site, port, host)
    except OSError as exc:        # in use, or an address this host does not have
        print(f"lind serve-web: cannot listen on {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    print(f"lind serve-web: http://{host}:{httpd.server_address[1]}/ (site in {site}; "
          "Ctrl-C stops)", flush=True)
    with httpd:
        httpd.serve_forever()
    return 0
