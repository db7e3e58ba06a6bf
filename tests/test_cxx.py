"""C++ in cages: programs built with `lind c++ -O2` and with `g++ -O2 -std=c++17` give
the same output and exit status (libc++ with WebAssembly exception handling against
the guest musl; see src/lind/toolchain/libcxx.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lind
from lind.toolchain.asyncify import NULL_PAGE_UNUSED, custom_section_names

#: programs compared with g++'s build, and the options both builds get
COMPARED = {"basics": (), "exceptions": (), "statics": (), "files": (), "jump": (),
            "threads": ("-std=c++20",)}


def run_native(binary: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *args], cwd=cwd, env={}, capture_output=True,
                          timeout=60)


def lind_cmd(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lind", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("name", COMPARED)
def test_matches_gxx(builds, tmp_path, name):
    (tmp_path / "native").mkdir()
    (tmp_path / "cage").mkdir()
    flags = COMPARED[name]
    native = run_native(builds.native(f"cxx/{name}", *flags), [], tmp_path / "native")
    caged = lind.run([builds.wasm(f"cxx/{name}", *flags)], root=tmp_path / "cage",
                     capture_output=True, timeout=60)
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode
    assert caged.stdout    # each program prints something


def test_files_stay_in_the_cage_root(builds, tmp_path):
    """fstream and filesystem work on the cage's own files: what the program made
    under its root is all it removed afterwards, and nothing leaked outside."""
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "keep.txt").write_text("mine")
    caged = lind.run([builds.wasm("cxx/files")], root=tmp_path / "root", capture_output=True,
                     timeout=60)
    assert caged.returncode == 0, caged.stderr
    assert b"sum of squares 385" in caged.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]
    assert [p.name for p in (tmp_path / "root").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("how", ["uncaught", "noexcept", "terminate", "handler", "caught"])
def test_uncaught_exception_is_sigabrt_as_with_gxx(builds, tmp_path, how):
    native = run_native(builds.native("cxx/uncaught"), [how], tmp_path)
    caged = lind.run([builds.wasm("cxx/uncaught"), how], capture_output=True, timeout=60)
    assert caged.stdout == native.stdout
    assert caged.returncode == native.returncode == (0 if how == "caught" else -6)


def test_uncaught_exception_is_reported_with_its_type(builds):
    caged = lind.run([builds.wasm("cxx/uncaught"), "uncaught"], capture_output=True, timeout=60)
    assert caged.returncode == -6
    assert b"uncaught exception of type std::runtime_error: nobody catches this" in caged.stderr


def test_bad_alloc_at_the_memory_limit(builds):
    caged = lind.run([builds.wasm("cxx/exceptions"), "exhaust"], memory=64 << 20,
                     capture_output=True, timeout=60)
    assert caged.returncode == 0, caged.stderr
    assert caged.stdout == (b"bad_alloc after some MiB, below 4 GiB\n"
                            b"allocating again works: 1000\n")


def test_forking_program_with_exceptions_is_refused_at_build_time(tmp_path):
    out = tmp_path / "fork.wasm"
    src = Path(__file__).parent / "programs" / "cxx" / "fork.cpp"
    r = lind_cmd("c++", "-O2", str(src), "-o", str(out))
    assert r.returncode == 1
    assert "cannot use C++ exceptions" in r.stderr and "-fno-exceptions" in r.stderr
    assert not out.exists()


def test_setjmp_in_cxx_with_exceptions_needs_no_asyncify(builds):
    """setjmp in C++ source is a WebAssembly exception as in C, so a program that also
    throws runs (it was refused: Asyncify, the old setjmp, cannot take exceptions)."""
    wasm = builds.wasm("cxx/jump").read_bytes()
    assert b"asyncify_start_unwind" not in wasm and b"__wasm_setjmp" in wasm


def test_forking_program_without_exceptions_matches_gxx(builds, tmp_path):
    native = run_native(builds.native("cxx/fork"), [], tmp_path)
    caged = lind.run([builds.wasm("cxx/fork", "-fno-exceptions")], capture_output=True,
                     timeout=60)
    assert caged.stdout == native.stdout
    assert caged.stdout.count(b"before fork") == 1
    assert b"child is 9, jumped 6" in caged.stdout and b"child still 8" in caged.stdout
    assert b"jumped 5" in caged.stdout
    assert caged.returncode == native.returncode == 0


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


CXX_HELLO = """\
    #include <iostream>
    #include <string>
    int main() {
        std::string who = "cage";
        try { throw who; } catch (const std::string& s) { std::cout << "hello " << s << '\\n'; }
        return 0;
    }
"""


@pytest.mark.parametrize("suffix", [".cpp", ".cc", ".cxx", ".C"])
def test_lind_cc_compiles_cxx_sources_by_name(tmp_path, suffix):
    src = _write(tmp_path, f"hello{suffix}", CXX_HELLO)
    out = tmp_path / "hello.wasm"
    r = lind_cmd("cc", "-O2", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert lind.run([out], capture_output=True, timeout=60).stdout == b"hello cage\n"
    assert NULL_PAGE_UNUSED in custom_section_names(out.read_bytes())


def test_lind_cxx_compiles_a_c_file_as_cxx(tmp_path):
    """`lind c++` treats .c as C++, as c++ does."""
    main = _write(tmp_path, "main.c", CXX_HELLO)
    r = lind_cmd("c++", str(main), "-o", str(tmp_path / "a.wasm"))
    assert r.returncode == 0, r.stderr
    assert lind.run([tmp_path / "a.wasm"], capture_output=True, timeout=60).stdout == b"hello cage\n"


def test_cxx_and_c_link_together(tmp_path):
    """`lind cc` with a C++ source and a C one compiles each as its name says and links
    the C++ library; objects from `lind c++ -c` and `lind cc -c` link with `lind c++`."""
    helper = _write(tmp_path, "helper.c", """\
        int twice(int x) { return 2 * x; }
    """)
    user = _write(tmp_path, "user.cpp", """\
        #include <cstdio>
        #include <vector>
        extern "C" int twice(int);
        int main() { std::vector<int> v{1, 2, 3}; std::printf("%d\\n", twice(v[2])); }
    """)
    r = lind_cmd("cc", str(user), str(helper), "-o", str(tmp_path / "mixed.wasm"))
    assert r.returncode == 0, r.stderr
    assert lind.run([tmp_path / "mixed.wasm"], capture_output=True, timeout=60).stdout == b"6\n"

    assert lind_cmd("c++", "-c", str(user), "-o", str(tmp_path / "user.o")).returncode == 0
    assert lind_cmd("cc", "-c", str(helper), "-o", str(tmp_path / "helper.o")).returncode == 0
    r = lind_cmd("c++", str(tmp_path / "user.o"), str(tmp_path / "helper.o"), "-o",
                 str(tmp_path / "objs.wasm"))
    assert r.returncode == 0, r.stderr
    assert lind.run([tmp_path / "objs.wasm"], capture_output=True, timeout=60).stdout == b"6\n"
    # as with gcc, `lind cc` links C++ objects only when told to: -lstdc++
    objs = [str(tmp_path / "user.o"), str(tmp_path / "helper.o")]
    r = lind_cmd("cc", *objs, "-o", str(tmp_path / "no-lib.wasm"))
    assert r.returncode != 0 and "undefined symbol" in r.stderr
    r = lind_cmd("cc", *objs, "-lstdc++", "-lm", "-o", str(tmp_path / "lib.wasm"))
    assert r.returncode == 0, r.stderr
    assert lind.run([tmp_path / "lib.wasm"], capture_output=True, timeout=60).stdout == b"6\n"


def test_threads_in_a_program_that_forks(tmp_path):
    """The C++ library without exceptions (a program that forks) has threads too: a
    thread and a mutex on each side of a fork."""
    src = _write(tmp_path, "t.cpp", """\
        #include <cstdio>
        #include <mutex>
        #include <thread>
        #include <sys/wait.h>
        #include <unistd.h>
        static std::mutex m;
        static int count() {
            int n = 0;
            std::thread t([&] { for (int i = 0; i < 1000; i++) { std::lock_guard<std::mutex> g(m); n++; } });
            for (int i = 0; i < 1000; i++) { std::lock_guard<std::mutex> g(m); n++; }
            t.join();
            return n;
        }
        int main() {
            int before = count();
            pid_t pid = fork();
            if (pid == 0) _exit(count() == 2000 ? 0 : 1);
            int status;
            waitpid(pid, &status, 0);
            std::printf("%d %d\\n", before, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
    """)
    r = lind_cmd("c++", "-O2", "-fno-exceptions", str(src), "-o", str(tmp_path / "t.wasm"))
    assert r.returncode == 0, r.stderr
    caged = lind.run([tmp_path / "t.wasm"], capture_output=True, timeout=60)
    assert caged.stdout == b"2000 0\n", caged.stderr
