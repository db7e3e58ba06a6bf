"""`lind cc`, the wasm32-lind guest sysroot and Asyncify: real compiles.

The first test run builds the guest libc (about half a minute on two
cores); later runs reuse the cached sysroot.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import wasmtime

import lind
from lind.engine.wasmtime_engine import engine
from lind.toolchain import asyncify, cc, sysroot
from lind.toolchain.asyncify import LIND_UNWIND_IMPORTS, run_asyncify


@pytest.fixture(scope="session")
def guest_sysroot() -> Path:
    return sysroot.ensure_sysroot()


@pytest.fixture
def src(tmp_path: Path):
    def write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text))
        return p

    return write


def module_of(path: Path) -> wasmtime.Module:
    return wasmtime.Module.from_file(wasmtime.Engine(), str(path))


def imports_of(path: Path) -> list[tuple[str, str]]:
    return [(i.module, i.name) for i in module_of(path).imports]


def exports_of(path: Path) -> set[str]:
    return {e.name for e in module_of(path).exports}


def run_wasm(wasm: Path, *args: str, root: Path | None = None, **kw) -> lind.CompletedCage:
    """Run what a test built (in a new root beside it): linking is not the whole test."""
    if root is None:
        root = wasm.parent / "root"
        root.mkdir(exist_ok=True)
    return lind.run([wasm, *args], root=root, capture_output=True, timeout=60, **kw)


def run_gcc(sources: list[Path], flags: list[str], *args: str,
            **kw) -> subprocess.CompletedProcess:
    """The same sources built with the host's gcc and run: the reference output."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.fail("no host C compiler for the native reference run")
    exe = sources[0].parent / "native"
    subprocess.run([gcc, *map(str, sources), *flags, "-o", str(exe)], check=True)
    return subprocess.run([str(exe), *args], cwd=exe.parent, capture_output=True, timeout=60, **kw)


HELLO = """
    #include <stdio.h>
    int main(int argc, char **argv) {
        printf("hello from %s (%d args)\\n", argv[0], argc);
        return 0;
    }
"""


def test_sysroot_layout_and_cache(guest_sysroot: Path) -> None:
    for rel in (
        "include/stdio.h",
        "include/bits/syscall.h",
        "include/bits/alltypes.h",
        "lib/crt1.o",
        "lib/libc.a",
        "lib/libzigc.a",
        "lib/libcompiler_rt.a",
    ):
        assert (guest_sysroot / rel).is_file(), rel
    manifest = json.loads((guest_sysroot / "manifest.json").read_text())
    assert manifest["key"] == guest_sysroot.name
    # cached: asking again neither rebuilds nor moves it
    assert sysroot.ensure_sysroot() == guest_sysroot
    # Linux x86_64 system-call numbers are the contract
    syscalls = (guest_sysroot / "include/bits/syscall.h").read_text()
    for name, nr in (
        ("read", 0),
        ("write", 1),
        ("brk", 12),
        ("fork", 57),
        ("exit_group", 231),
        ("newfstatat", 262),
    ):
        assert f"#define __NR_{name}" in syscalls
        assert any(
            line.split()[-1] == str(nr)
            for line in syscalls.splitlines()
            if line.startswith(f"#define __NR_{name} ") or line.startswith(f"#define __NR_{name}\t")
        ), name


def test_hello_links_to_a_module_importing_only_lind(tmp_path: Path, src) -> None:
    out = tmp_path / "hello.wasm"
    cc.compile_program([src("hello.c", HELLO)], out)
    imports = imports_of(out)
    assert imports, "a program makes system calls"
    assert {m for m, _ in imports} == {"lind"}
    assert ("lind", "syscall") in imports
    assert ("lind", "memory") in imports      # one shared memory, for all of its threads
    assert {"_start", "__heap_base", "__stack_pointer"} <= exports_of(out)
    r = run_wasm(out, "a", "b")
    assert (r.returncode, r.stdout) == (0, b"hello from hello.wasm (3 args)\n")


def test_import_signatures(tmp_path: Path, src) -> None:
    out = tmp_path / "hello.wasm"
    cc.compile_program([src("hello.c", HELLO)], out)
    types = {i.name: i.type for i in module_of(out).imports}
    sc = types["syscall"]
    assert [str(t) for t in sc.params] == ["i32"] + ["i64"] * 6
    assert [str(t) for t in sc.results] == ["i64"]
    for name in ("args_sizes_get", "args_get", "environ_sizes_get", "environ_get"):
        assert [str(t) for t in types[name].params] == ["i32", "i32"]
        assert [str(t) for t in types[name].results] == ["i32"]


def test_stack_comes_first_and_heap_base_is_exported(tmp_path: Path, src) -> None:
    out = tmp_path / "hello.wasm"
    cc.compile_program([src("hello.c", HELLO)], out)
    heap_base = asyncify.exported_constant(out.read_bytes(), "__heap_base")
    assert heap_base > cc.STACK_SIZE  # 1 MiB stack below the data
    assert asyncify.lowest_data_address(out.read_bytes()) >= cc.STACK_SIZE


def test_every_mutable_global_is_exported_for_a_fresh_start(tmp_path: Path, src) -> None:
    """lind cc exports each mutable global nothing exports yet as lind_reset_<index>,
    for a program that forks too (Asyncify's own globals), so that a kept instance can
    start the program afresh (cage/instance_pool.py)."""
    plain, forking = tmp_path / "plain.wasm", tmp_path / "forking.wasm"
    cc.compile_program([src("hello.c", HELLO)], plain)
    cc.compile_program([src("forks.c", "#include <unistd.h>\n"
                            "int main(void) { return fork() < 0; }\n")], forking)
    names = asyncify.resettable_globals(plain.read_bytes())
    assert names is not None and names[0] == "__stack_pointer", names
    assert any(n.startswith(asyncify.LIND_RESET_PREFIX) for n in names), names
    names = asyncify.resettable_globals(forking.read_bytes())
    assert names is not None and names[:2] == ("lind_global_0", "lind_global_1"), names
    assert len(names) > 2, names       # Asyncify's state and data pointer
    for wasm in (plain, forking):
        wasmtime.Module(engine(), wasm.read_bytes())   # still valid for Lind's engine


@pytest.mark.parametrize("wat, exported", [
    ('(module (global (mut i32) (i32.const 5)))', ("lind_reset_0",)),
    ('(module (global (mut i32) (i32.const 5)) (func $f) (start $f) (func (export "g")))',
     ("lind_reset_0",)),
    ('(module (global i32 (i32.const 1)) (global $m (mut i32) (i32.const 5))'
     ' (export "m" (global $m)))', ("m",)),
    ('(module (global (mut i64) (i64.const 5)))', None),     # not an i32: cannot be reset
    ('(module (import "a" "g" (global i32)) (global (mut i32) (i32.const 5)))', None),
])
def test_mutable_globals_exported_by_the_binary_rewrite(wat: str, exported) -> None:
    """Export sections added where the section order puts them, or extended; what cannot
    be put back (an i64, an imported global) makes the module not resettable."""
    wasm = asyncify.with_mutable_globals_exported(wasmtime.wat2wasm(wat))
    module = wasmtime.Module(wasmtime.Engine(), wasm)
    assert asyncify.resettable_globals(wasm) == exported
    assert {e.name for e in module.exports} >= set(exported or ())


def test_compile_error_is_reported_with_nonzero_status(tmp_path: Path, src, capfd) -> None:
    bad = src("bad.c", "int main(void) { return undeclared_thing; }\n")
    status = cc.main([str(bad), "-o", str(tmp_path / "bad.wasm")])
    err = capfd.readouterr().err
    assert status != 0
    assert "undeclared_thing" in err and "error" in err
    assert "Traceback" not in err
    assert not (tmp_path / "bad.wasm").exists()


def test_compile_program_raises_with_compiler_output(tmp_path: Path, src) -> None:
    bad = src("bad.c", "int main(void) { return 1 +; }\n")
    with pytest.raises(cc.CompileError) as info:
        cc.compile_program([bad], tmp_path / "bad.wasm")
    assert "expected expression" in info.value.output


def test_a_shared_library_is_refused_with_what_to_do(tmp_path: Path, src, capfd) -> None:
    lib = src("lib.c", "int f(void) { return 1; }\n")
    assert cc.main(["-shared", "-fPIC", str(lib), "-o", str(tmp_path / "libf.so")]) == 1
    assert "-shared: a cage's program is one static module, there are no shared libraries " \
        "(autoconf: ./configure --disable-shared)" in capfd.readouterr().err
    assert not (tmp_path / "libf.so").exists()


def test_link_error_names_the_symbol(tmp_path: Path, src, capfd) -> None:
    prog = src("p.c", "int missing_fn(void);\nint main(void) { return missing_fn(); }\n")
    status = cc.main([str(prog), "-o", str(tmp_path / "p.wasm")])
    err = capfd.readouterr().err
    assert status != 0
    assert "undefined symbol: missing_fn" in err


def test_missing_input_file_no_traceback(tmp_path: Path, capfd) -> None:
    status = cc.main([str(tmp_path / "nope.c"), "-o", str(tmp_path / "x.wasm")])
    err = capfd.readouterr().err
    assert status != 0
    assert err == f"lind cc: {tmp_path / 'nope.c'}: No such file or directory\n"


def test_help_is_lind_cc_s_own(capfd) -> None:
    assert cc.main(["--help"]) == 0
    out = capfd.readouterr().out
    assert out.startswith("usage: lind cc") and "--help-clang" in out and len(out) < 3000


def test_x_c_compiles_a_file_without_an_extension(tmp_path: Path) -> None:
    source = tmp_path / "prog"
    source.write_text("int main(void) { return 3; }\n")
    out = tmp_path / "prog.wasm"
    assert cc.main(["-O2", "-x", "c", str(source), "-o", str(out)]) == 0
    assert run_wasm(out).returncode == 3


def test_a_users_own_library_named_like_a_libc_part_is_linked(tmp_path: Path, src) -> None:
    """-lutil, -lm ... are in libc.a; a libutil.a of the user's own in a -L dir wins."""
    (tmp_path / "lib").mkdir()
    obj = tmp_path / "u.o"
    assert cc.main(["-c", str(src("u.c", "int util_answer(void) { return 42; }")), "-o", str(obj)]) == 0
    from lind.toolchain import zig
    subprocess.run([str(zig.zig_exe()), "ar", "rcs", str(tmp_path / "lib" / "libutil.a"), str(obj)],
                   check=True)
    main = src("main.c", "int util_answer(void); int main(void) { return util_answer(); }")
    out = tmp_path / "main.wasm"
    assert cc.main([str(main), f"-L{tmp_path / 'lib'}", "-lutil", "-lm", "-o", str(out)]) == 0
    assert run_wasm(out).returncode == 42
    assert cc.main([str(main), "-lutil", "-o", str(tmp_path / "no.wasm")]) != 0   # none of its own


def test_no_input_files(capfd) -> None:
    assert cc.main([]) != 0
    assert "no input files" in capfd.readouterr().err


def test_compile_only_then_link(tmp_path: Path, src) -> None:
    a = src("a.c", "int twice(int x) { return 2 * x; }\n")
    b = src("b.c", '#include <stdio.h>\nint twice(int);\n'
                   'int main(void) { printf("%d\\n", twice(21)); return 0; }\n')
    assert cc.main(["-c", str(a), "-o", str(tmp_path / "a.o")]) == 0
    assert cc.main(["-O2", "-c", str(b), "-o", str(tmp_path / "b.o")]) == 0
    out = tmp_path / "prog.wasm"
    assert cc.main([str(tmp_path / "a.o"), str(tmp_path / "b.o"), "-o", str(out)]) == 0
    r = run_wasm(out)
    assert (r.returncode, r.stdout) == (0, b"42\n")


def test_multiple_sources_and_flags(tmp_path: Path, src) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "conf.h").write_text("#define ANSWER VALUE\n")
    a = src("a.c", '#include "conf.h"\nint answer(void) { return ANSWER; }\n')
    b = src(
        "b.c", "#include <math.h>\nint answer(void);\nint main(void) { return answer() + (int)sqrt(4.0); }\n"
    )
    out = tmp_path / "prog.wasm"
    cc.compile_program(
        [a, b],
        out,
        [
            "-O2",
            "-g",
            "-Wall",
            "-Werror",
            "-std=c11",
            f"-I{tmp_path / 'inc'}",
            "-DVALUE=40",
            "-lm",
            "-lpthread",
        ],
    )
    assert {m for m, _ in imports_of(out)} == {"lind"}
    native = run_gcc([a, b], [f"-I{tmp_path / 'inc'}", "-DVALUE=40", "-lm"])
    assert run_wasm(out).returncode == native.returncode == 42


def test_archive_and_library_search(tmp_path: Path, src) -> None:
    from lind.toolchain import zig

    a = src("util.c", "int util(void) { return 7; }\n")
    obj = tmp_path / "util.o"
    assert cc.main(["-c", str(a), "-o", str(obj)]) == 0
    import subprocess

    subprocess.run(
        [str(zig.zig_exe()), "ar", "rcs", str(tmp_path / "libmyutil.a"), str(obj)],
        check=True,
        env=zig.zig_env(),
    )
    m = src("m.c", "int util(void);\nint main(void) { return util(); }\n")
    out = tmp_path / "m.wasm"
    assert cc.main([str(m), f"-L{tmp_path}", "-lmyutil", "-o", str(out)]) == 0
    assert run_wasm(out).returncode == 7


@pytest.mark.parametrize(("signature", "body"), [
    ("void", 'puts("void"); return 3;'),
    ("int argc, char **argv", 'printf("%d %s\\n", argc, argv[1]); return argc;'),
    ("int argc, char **argv, char **envp", 'printf("%d %s %s\\n", argc, argv[2], envp[0]); return 0;'),
])
def test_every_form_of_main_links_and_runs(tmp_path: Path, src, signature: str, body: str,
                                           capfd) -> None:
    prog = src("m.c", f"#include <stdio.h>\nint main({signature}) {{ {body} }}\n")
    out = tmp_path / "m.wasm"
    assert cc.main([str(prog), "-o", str(out)]) == 0
    assert "signature mismatch" not in capfd.readouterr().err
    caged = run_wasm(out, "one", "two", env={"ONLY": "this"})
    native = run_gcc([prog], [], "one", "two", env={"ONLY": "this"})
    assert (caged.returncode, caged.stdout) == (native.returncode, native.stdout)


POSIX = """
    #define _GNU_SOURCE
    #include <dirent.h>
    #include <errno.h>
    #include <fcntl.h>
    #include <poll.h>
    #include <pthread.h>
    #include <signal.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <sys/epoll.h>
    #include <sys/ioctl.h>
    #include <sys/mman.h>
    #include <sys/resource.h>
    #include <sys/select.h>
    #include <sys/socket.h>
    #include <sys/stat.h>
    #include <sys/time.h>
    #include <sys/uio.h>
    #include <sys/utsname.h>
    #include <sys/wait.h>
    #include <netinet/in.h>
    #include <arpa/inet.h>
    #include <netdb.h>
    #include <time.h>
    #include <unistd.h>

    static void on_sig(int s) { (void)s; }

    int main(int argc, char **argv) {
        if (argc > 1)
            return 5;
        int fds[2];
        struct sigaction sa = { .sa_handler = on_sig };
        struct stat st;
        struct utsname u;
        struct rusage ru;
        struct timespec ts;
        struct itimerval itv = {0};
        int status;
        pid_t pid = fork();
        if (pid == 0) { execv(argv[0], (char *[]){argv[0], "child", 0}); _exit(127); }
        waitpid(pid, &status, 0);
        printf("exec'd child: %d\\n", WEXITSTATUS(status));
        wait4(-1, &status, WNOHANG, &ru);
        pipe(fds); pipe2(fds, O_CLOEXEC); dup2(fds[0], 5);
        sigaction(SIGINT, &sa, 0); sigaction(SIGUSR1, &sa, 0); kill(getpid(), SIGINT); raise(SIGUSR1);
        sigset_t set; sigemptyset(&set); sigprocmask(SIG_BLOCK, &set, 0);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(80) };
        connect(s, (struct sockaddr *)&addr, sizeof addr);
        bind(s, (struct sockaddr *)&addr, sizeof addr); listen(s, 5); accept(s, 0, 0);
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
        stat("/", &st); fstat(0, &st); lstat("/", &st);
        uname(&u); getrusage(RUSAGE_SELF, &ru); setitimer(ITIMER_REAL, &itv, 0);
        clock_gettime(CLOCK_REALTIME, &ts); nanosleep(&(struct timespec){0, 1000}, 0);
        DIR *d = opendir("/"); if (d) { readdir(d); closedir(d); }
        int fd = open("x", O_RDWR | O_CREAT, 0644); lseek(fd, 0, SEEK_END);
        void *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        mprotect(m, 4096, PROT_READ); munmap(m, 4096);
        struct pollfd pfd = { .fd = 0, .events = POLLIN }; poll(&pfd, 1, 0);
        fd_set rf; FD_ZERO(&rf); select(1, &rf, 0, 0, &(struct timeval){0});
        int ep = epoll_create1(0); struct epoll_event ev = {0}; epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
        printf("%d %d %d %d %s\\n", (int)geteuid(), (int)getuid(), (int)getppid(),
               (int)getpgrp(), strerror(errno));
        char *env = getenv("HOME"); setenv("X", "1", 1);
        (void)env;
        return isatty(1) + (sysconf(_SC_PAGESIZE) > 0 ? 0 : 1);
    }
"""


def test_linux_api_compiles_links_and_runs(tmp_path: Path, src) -> None:
    (tmp_path / "root").mkdir()
    out = tmp_path / "root" / "posix.wasm"      # in the root, so that it can exec itself
    cc.compile_program([src("posix.c", POSIX)], out, ["-Wall", "-Werror=implicit-function-declaration"])
    assert {m for m, _ in imports_of(out)} == {"lind"}
    r = run_wasm(out, root=out.parent)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rb"exec'd child: 5\n(\d+ ){4}[^\n]+\n", r.stdout), r.stdout


ASSERTS = """
    #include <assert.h>
    #include <stdio.h>
    #include <unistd.h>
    int main(void) {
        int fd[2] = {-1, -1};
        assert(pipe(fd) == 0);          /* a call inside an assert must happen */
        printf("pipe %d %d\\n", fd[0], fd[1]);
        fflush(stdout);
        assert(fd[0] == 99);            /* and a false one must abort */
        puts("after");
        return 0;
    }
"""


@pytest.mark.parametrize("flags", [["-O2"], ["-O3"], ["-Os"], ["-O2", "-DNDEBUG"]])
def test_asserts_stay_on_at_every_level_unless_ndebug_is_asked_for(tmp_path: Path, src,
                                                                   flags: list[str]) -> None:
    source = src("asserts.c", ASSERTS)
    out = tmp_path / "asserts.wasm"
    cc.compile_program([source], out, flags)
    r = run_wasm(out)
    native = run_gcc([source], flags)
    assert r.stdout == native.stdout
    if "-DNDEBUG" in flags:
        assert r.returncode == native.returncode == 0
        assert r.stdout == b"pipe -1 -1\nafter\n"
    else:
        assert r.returncode == native.returncode == -6          # SIGABRT
        assert r.stdout == b"pipe 3 4\n"
        assert b"Assertion failed: fd[0] == 99" in r.stderr


def test_predefined_macros(tmp_path: Path, src, capfd) -> None:
    f = src("e.c", "")
    assert cc.main(["-E", "-dM", str(f)]) == 0
    out = capfd.readouterr().out
    for macro in ("__lind__", "__linux__", "__wasm32__", "__unix__"):
        assert f"#define {macro} " in out, macro


def test_abi_sizes_match_the_contract(tmp_path: Path, src) -> None:
    prog = src(
        "abi.c",
        """
        #include <stddef.h>
        #include <stdint.h>
        #include <time.h>
        #include <sys/time.h>
        #include <sys/types.h>
        #include <sys/uio.h>
        #include <dirent.h>
        _Static_assert(sizeof(long) == 4 && sizeof(void *) == 4, "ILP32");
        _Static_assert(sizeof(size_t) == 4 && sizeof(off_t) == 8, "off_t");
        _Static_assert(sizeof(time_t) == 8, "time64");
        _Static_assert(sizeof(struct timespec) == 16, "timespec");
        _Static_assert(offsetof(struct timespec, tv_nsec) == 8, "tv_nsec");
        _Static_assert(sizeof(struct timeval) == 16, "timeval");
        _Static_assert(sizeof(struct iovec) == 8, "iovec");
        _Static_assert(sizeof(long double) == 16, "fp128");
        _Static_assert(_Generic((size_t)0, unsigned long: 1, default: 0), "size_t is long");
        int main(void) { return 0; }
    """,
    )
    cc.compile_program([prog], tmp_path / "abi.wasm", ["-std=c11"])


def test_asyncify_exports_the_unwind_api(tmp_path: Path, src) -> None:
    out = tmp_path / "hello.wasm"
    cc.compile_program([src("hello.c", HELLO)], out)
    instrumented = run_asyncify(out.read_bytes(), LIND_UNWIND_IMPORTS)
    module = wasmtime.Module(wasmtime.Engine(), instrumented)
    names = {e.name for e in module.exports}
    for fn in (
        "asyncify_start_unwind",
        "asyncify_stop_unwind",
        "asyncify_start_rewind",
        "asyncify_stop_rewind",
        "asyncify_get_state",
    ):
        assert fn in names
    assert {"_start", "__heap_base"} <= names
    assert {i.module for i in module.imports} == {"lind"}


def test_asyncify_rejects_garbage() -> None:
    from lind.toolchain.asyncify import AsyncifyError

    with pytest.raises(AsyncifyError):
        run_asyncify(b"not wasm at all", LIND_UNWIND_IMPORTS)


def test_instance_shape_counts_what_each_instance_holds() -> None:
    """What the budget charges an instance for: imported functions, defined globals, and
    each defined table's maximum (None: it declares none), whatever form its type takes."""
    import wasmtime

    from lind.toolchain.asyncify import instance_shape

    wasm = wasmtime.wat2wasm("""(module
      (import "lind" "a" (func)) (import "lind" "b" (func (param i32)))
      (import "lind" "g" (global i32)) (import "lind" "memory" (memory 1 2 shared))
      (global (mut i32) (i32.const 1)) (global i64 (i64.add (i64.const 2) (i64.const 3)))
      (global f64 (f64.const 1.5))
      (table 3 funcref) (table 1 10 externref) (table 2 5 funcref (ref.null func)))""")
    assert instance_shape(wasm) == (2, 3, (None, 10, 5))
    assert instance_shape(wasmtime.wat2wasm("(module)")) == (0, 0, ())


def test_struct_layouts_the_host_relies_on(tmp_path: Path, src) -> None:
    prog = src(
        "layout.c",
        """
        #define _GNU_SOURCE
        #include <fcntl.h>
        #include <stddef.h>
        #include <signal.h>
        #include <sys/epoll.h>
        #include <sys/socket.h>
        #include <sys/resource.h>
        _Static_assert(F_GETLK == 5 && F_SETLK == 6 && F_SETLKW == 7, "x86_64 lock cmds");
        _Static_assert(sizeof(struct flock) == 32, "flock");
        _Static_assert(offsetof(struct flock, l_start) == 8, "l_start");
        _Static_assert(offsetof(struct flock, l_pid) == 24, "l_pid");
        _Static_assert(sizeof(struct msghdr) == 28, "msghdr");
        _Static_assert(sizeof(struct epoll_event) == 16, "epoll_event");
        _Static_assert(sizeof(struct rlimit) == 16, "rlimit");
        _Static_assert(O_CLOEXEC == 02000000 && O_DIRECTORY == 0200000, "open flags");
        _Static_assert(SIGCHLD == 17 && SIGUSR1 == 10 && SA_RESTART == 0x10000000, "signals");
        int main(void) { return 0; }
        """,
    )
    cc.compile_program([prog], tmp_path / "layout.wasm", ["-std=c11"])


def test_sysroot_key_covers_guest_sources_only(tmp_path: Path, monkeypatch) -> None:
    """A changed guest source means a new sysroot (built on next use); the
    docs and the header overlay (searched at compile time) do not.  Only
    keys are computed here: nothing is built or left in the cache."""
    import shutil

    guest = tmp_path / "guest"
    shutil.copytree(sysroot.GUEST, guest, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sysroot, "GUEST", guest)
    monkeypatch.setattr(sysroot, "OVERLAY_INCLUDE", guest / "include")
    base = sysroot.sysroot_key()
    assert base == sysroot.sysroot_key()

    (guest / "README.md").write_text("changed\n")
    (guest / "include" / "extra.h").write_text("/* overlay */\n")
    assert sysroot.sysroot_key() == base

    fork = guest / "src" / "process" / "_Fork.c"
    fork.write_text(fork.read_text() + "\n/* changed */\n")
    changed = sysroot.sysroot_key()
    assert changed != base
    (guest / "src" / "process" / "new.c").write_text("int lind_new_file;\n")
    assert sysroot.sysroot_key() not in (base, changed)
