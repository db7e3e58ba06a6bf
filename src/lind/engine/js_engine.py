"""The seam's engine inside Pyodide: the JavaScript host's own `WebAssembly` (a web
browser's, or Node.js's), reached through Pyodide's `js` module and `pyodide.ffi`.

Host functions are Python callables behind a JS wrapper that turns the result into
the BigInt an i64 result must be (Pyodide gives small ints as JS numbers). Memory is
read and written through a Uint8Array over the memory's current buffer, taken anew
after every growth. A shared memory needs a cross-origin-isolated page (COOP/COEP
headers, as `lind serve-web` sends); Node.js always has it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lind.engine import FUNCTION_TABLE, EngineError, HostFunction, Import
from lind.toolchain.asyncify import AsyncifyError, memory_import

try:                                   # Pyodide's modules: only there
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import JsException, create_proxy, to_js  # type: ignore[import-not-found]
except ImportError:                    # elsewhere the module loads, and new() says why not
    js = None
    JsException = create_proxy = to_js = None


@dataclass(frozen=True)
class JsModule:
    """A compiled module, with its memory import read from the binary (the JS API does
    not say a memory import's limits)."""

    module: Any
    memory: tuple[str, str, int, int | None, bool] | None
    size: int               # of the binary: the browser does not say what it compiled to


def _object(values: dict[str, Any]) -> Any:
    return to_js(values, dict_converter=js.Object.fromEntries)


class JsMemory:
    def __init__(self, memory: Any) -> None:
        self.memory = memory

    def size(self) -> int:
        return int(self.memory.buffer.byteLength)

    def grow(self, pages: int) -> None:
        try:
            self.memory.grow(pages)
        except JsException as exc:
            raise EngineError(str(exc)) from None

    def _check(self, addr: int, length: int) -> None:
        if addr < 0 or length < 0 or addr + length > self.size():
            raise IndexError(f"{length} bytes at {addr:#x} are outside the memory")

    def read(self, addr: int, length: int) -> bytes:
        self._check(addr, length)
        view = js.Uint8Array.new(self.memory.buffer, addr, length)
        return bytes(js.Uint8Array.new(view).to_bytes())   # a copy: slice of a shared buffer

    def write(self, addr: int, data: bytes) -> None:
        self._check(addr, len(data))
        if data:
            js.Uint8Array.new(self.memory.buffer, addr, len(data)).assign(data)

    def copy_from(self, source: JsMemory) -> None:
        length = source.size()
        self._check(0, length)
        js.Uint8Array.new(self.memory.buffer).set(js.Uint8Array.new(source.memory.buffer))


class JsInstance:
    def __init__(self, instance: Any, proxies: list[Any]) -> None:
        self.instance = instance
        self.exports = instance.exports
        self.proxies = proxies          # kept alive as long as the instance

    def has(self, name: str) -> bool:
        return hasattr(self.exports, name)

    def call(self, name: str, *args: int) -> int | None:
        result = getattr(self.exports, name)(*args)
        return None if result is None else int(result)

    def get_global(self, name: str) -> int:
        return int(getattr(self.exports, name).value)

    def set_global(self, name: str, value: int) -> None:
        slot = getattr(self.exports, name)
        slot.value = js.BigInt(value) if type(slot.value).__name__ == "JsBigInt" else value

    def table_arity(self, index: int) -> int | None:
        table = getattr(self.exports, FUNCTION_TABLE, None)
        if table is None or not 0 <= index < table.length:
            return None
        func = table.get(index)
        return None if func is None else int(func.length)   # a wasm function's parameters


class JsEngine:
    name = "js"

    def __init__(self) -> None:
        if js is None:
            raise EngineError("the js engine runs inside Pyodide (a web page or Node.js)")
        self._i64_result = js.Function.new("f", "return (...args) => BigInt(f(...args))")
        self._i32_result = js.Function.new("f", "return (...args) => f(...args)")

    def compile(self, wasm: bytes) -> JsModule:
        try:
            module = js.WebAssembly.Module.new(to_js(wasm))
            memory = memory_import(wasm)
        except (JsException, AsyncifyError) as exc:
            raise EngineError(str(exc)) from None
        return JsModule(module, memory, len(wasm))

    def code_size(self, module: JsModule) -> int:
        return module.size

    def imports(self, module: JsModule) -> list[Import]:
        found = []
        for item in js.WebAssembly.Module.imports(module.module):
            if item.kind == "memory" and module.memory is not None:
                _, _, least, most, shared = module.memory
                found.append(Import(item.module, item.name, "memory", (least, most), shared))
            else:
                found.append(Import(item.module, item.name, item.kind))
        return found

    def exports(self, module: JsModule) -> list[str]:
        return [item.name for item in js.WebAssembly.Module.exports(module.module)]

    def new_memory(self, minimum: int, maximum: int | None, shared: bool) -> JsMemory:
        spec: dict[str, Any] = {"initial": minimum, "shared": shared}
        if maximum is not None:
            spec["maximum"] = maximum
        try:
            return JsMemory(js.WebAssembly.Memory.new(_object(spec)))
        except JsException as exc:
            raise EngineError(str(exc)) from None

    def instantiate(self, module: JsModule, functions: dict[tuple[str, str], HostFunction],
                    memory: JsMemory | None) -> JsInstance:
        namespaces: dict[str, dict[str, Any]] = {}
        proxies = []
        for item in js.WebAssembly.Module.imports(module.module):
            space = namespaces.setdefault(item.module, {})
            if item.kind == "memory":
                if memory is None:
                    raise EngineError(f"{item.module}.{item.name}: no memory to import")
                space[item.name] = memory.memory
            elif item.kind == "function":
                function = functions.get((item.module, item.name))
                if function is None:
                    continue                  # instantiation says which is missing
                proxy = create_proxy(_plain_ints(function))
                proxies.append(proxy)
                wrap = (self._i64_result if _returns_i64(item.module, item.name)
                        else self._i32_result)
                space[item.name] = wrap(proxy)
        imports = js.Object.new()
        for name, space in namespaces.items():
            setattr(imports, name, _object(space))
        try:
            return JsInstance(js.WebAssembly.Instance.new(module.module, imports), proxies)
        except JsException as exc:
            raise EngineError(str(exc)) from None

    def interrupt(self) -> bool:
        """JavaScript cannot stop wasm running on its own thread: the runtime stops
        the cage at its next call into the host."""
        return False

    def hosting(self, body: Callable[[], Any]) -> Any:
        """The JavaScript engine keeps wasm frames on its own stack: nothing to arrange."""
        return body()


def _plain_ints(function: HostFunction) -> HostFunction:
    """i64 arguments arrive as JsBigInt, an int that turns back into a BigInt when
    passed to JS (where a number is wanted): plain ints for the runtime."""
    def call(*args: int) -> int:
        return function(*[int(a) for a in args])

    return call


def _returns_i64(module: str, name: str) -> bool:
    """Whether the import gives an i64 (the JS API has no types for imports): Lind's
    system-call imports do, the start-up imports give i32."""
    return module == "lind" and name in ("syscall", "syscall_unwind")


new = JsEngine
