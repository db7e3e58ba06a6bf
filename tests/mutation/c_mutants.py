"""Mutation testing of the C trampoline's rules (not part of CI: it is slow).

cosmic-ray mutates Python only, and `threei/_accel.c` holds the rules a hostile cage
meets first: where a path may lead (the file opens served in C), which guest addresses
a call may read or write, when a cage's thread is held to the mode bits, which cage may
act for which. This breaks those functions one token at a time, as run.py does for
Python: a comparison turned (`<` into `<=`, `==` into `!=`...), `&&` into `||` and back,
a `!` dropped, a decimal constant made one more. Each mutant is compiled (gcc -O1, the
extension alone, ~1.5 s) into a copy of the work tree, and the group's tests run against
it there (`-x`, so a killed mutant stops at its first failure; a mutant that does not
compile is left out). Usage, from the repository root:

    .venv/bin/python tests/mutation/c_mutants.py paths memory identity   # or: all
    .venv/bin/python tests/mutation/c_mutants.py --list paths            # the mutants only
    .venv/bin/python tests/mutation/c_mutants.py --retest identity       # survivors again
    .venv/bin/python tests/mutation/c_mutants.py --retest --only may_act_for identity
    .venv/bin/python tests/mutation/c_mutants.py --report all            # what they found

Results stay in tests/mutation/.sessions/c-GROUP.json (ignored by git) and a stopped run
resumes where it left off, unless one of the group's functions changed since (its
mutants name places in their old text: then the group begins again).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run import BIN, REPO, SESSIONS, _copy_tree  # noqa: E402  (beside this file)

SOURCE = REPO / "src/lind/threei/_accel.c"
TREE = SESSIONS / f"c-tree-{os.getpid()}"
TIMEOUT = 600.0     # seconds a mutant's tests may take: longer is a hang, counted killed

_PATH_TESTS = ("tests/test_programs.py::test_escape_attempts_fail",
               "tests/test_attacks.py::test_path_escapes_beside_a_tenant",
               "tests/test_attacks.py::test_read_only_root_mount",
               "tests/test_attacks.py::test_read_only_mount_holds_under_another_path",
               "tests/test_attacks.py::test_proc_links_and_swapped_symlinks",
               "tests/test_attacks.py::test_o_trunc_is_a_write",
               "tests/test_attacks.py::test_path_flipped_after_the_check_does_not_reach_the_file",
               "tests/test_mutants_fs.py", "tests/test_mutants_files.py",
               # /dev, /proc and /etc are the microvisor's, whatever the root holds there
               "tests/test_virtual_files.py::test_planted_device_nodes_are_never_used",
               "tests/test_virtual_files.py::test_proc_self_files",
               "tests/test_virtual_files.py::test_etc_file_in_the_root_or_a_mount_overrides",
               # names that end where a protected page begins, or run into it
               "tests/test_conformance.py::test_matches_native[protected_neighbours]",
               # a trailing `/` or `/.`, `x/..`: what the name says more than its file
               "tests/test_conformance.py::test_matches_native[path_edges]",
               # relative names from a deep working directory, from a directory's fd;
               # whole names at the edge of the C path's buffer
               "tests/test_conformance.py::test_matches_native[deep_names]",
               "tests/test_conformance.py::test_matches_native[file_calls]",
               "tests/test_mutants_files.py::test_whole_names_at_the_edge_of_the_c_open_path_are_read_whole")

#: group -> (functions of _accel.c to mutate, the tests that guard them: real cages on
#: the C trampoline; `-k "not ctypes"` leaves out the twins that never load the C code)
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # where a path served in C may lead: folded (from the cwd or a directory fd's path),
    # found under its mount
    "paths": (("fold_here", "under_prefix", "path_here", "mount_of", "set_dir_path_locked",
               "dir_path_locked"),
              (*_PATH_TESTS, "tests/test_conformance.py::test_matches_native[dirfd_names]",
               "tests/test_trampolines.py::test_polls_selects_accesses_readlinks_and_renames_of_host_files_stay_in_c")),
    # ...and what its open may do there: writes only where no mount is read-only, no
    # device nodes, set-ID bits dropped from a file opened for writing
    "opens": (("fast_open", "fast_stat_path", "open_under"),
              (*_PATH_TESTS, "tests/test_attacks.py::test_a_cage_plants_no_set_id_program_on_the_host",
               "tests/test_conformance.py::test_matches_native[file_modes]",
               "tests/test_conformance.py::test_matches_native[fifo_opens]",
               # access mode 3, the lowest free number, RLIMIT_NOFILE's edge; fstatat's flags
               "tests/test_conformance.py::test_matches_native[open_flags]",
               # a directory opened here is not mirrored: rewinddir's lseek is Python's
               "tests/test_conformance.py::test_matches_native[path_limits]",
               # host fds, the budget's count and the mount table let go; the budget held
               "tests/test_attacks.py::test_files_opened_in_the_trampoline_close_with_their_cage",
               "tests/test_limits.py::test_cages_holding_every_fd_they_can_leave_room_for_a_new_tree",
               # a file opened here is written by the microvisor under RLIMIT_FSIZE
               "tests/test_syscalls.py::test_file_size_limit_matches_linux",
               "tests/test_syscalls.py::test_a_file_size_limit_given_at_start_holds")),
    # paths the trampoline resolves for access and readlink as for stat: the kernel's
    # check with the cage's ids, W_OK only where the mount takes writes (else EROFS is
    # Python's), a link's text cut at the caller's size into memory the cage may write
    "names": (("open_path_here", "fast_access", "fast_readlink"),
              (*_PATH_TESTS, "tests/test_conformance.py::test_matches_native[access_checks]",
               "tests/test_attacks.py::test_read_only_mount_holds_over_a_writable_mount_in_its_directory",
               "tests/test_conformance.py::test_matches_native[link_reads]",
               "tests/test_conformance.py::test_opens_on_a_read_only_mount_answer_as_on_a_read_only_file_system",
               "tests/test_conformance.py::test_matches_native[permission_checks]",
               "tests/test_trampolines.py::test_polls_selects_accesses_readlinks_and_renames_of_host_files_stay_in_c")),
    # names removed and moved in C: found under their mount, never a mount point, only
    # where the mount takes writes, both names of a rename in one mount
    "changes": (("hold_mounts", "parent_here", "open_dir_under", "fast_unlink", "fast_rename"),
                (*_PATH_TESTS,
                 "tests/test_attacks.py::test_removes_and_renames_through_links_stay_in_the_root",
                 "tests/test_attacks.py::test_writable_mount_points_are_neither_removed_nor_moved",
                 "tests/test_attacks.py::test_read_only_mount_holds_over_a_writable_mount_in_its_directory",
                 "tests/test_attacks.py::test_a_read_only_mount_of_a_tree_cannot_be_moved_replaced_or_linked_out",
                 "tests/test_attacks.py::test_the_time_zone_database_a_cage_is_given_cannot_be_changed",
                 "tests/test_conformance.py::test_matches_native[name_changes]",
                 "tests/test_conformance.py::test_matches_native[link_remove_names]",
                 "tests/test_conformance.py::test_matches_native[permission_checks]",
                 "tests/test_trampolines.py::test_polls_selects_accesses_readlinks_and_renames_of_host_files_stay_in_c")),
    # poll and select of mirrored fds: held host fds, the wake fd ending a wait (signals,
    # kills), revents and set bits as Python gives them, the cage's arrays checked again
    "waits": (("poll_hold", "poll_let_go", "poll_here", "fast_poll", "fast_pselect"),
              ("tests/test_conformance.py::test_matches_native[poll_calls]",
               "tests/test_conformance.py::test_matches_native[net_waits]",
               "tests/test_conformance.py::test_matches_native[events]",
               "tests/test_process.py::test_poll_and_select_on_pipes_match_native",
               "tests/test_signals.py::test_interrupted_calls_give_eintr_or_restart",
               # a fast path that gives up is slower only: the handlers are counted
               "tests/test_trampolines.py::test_polls_selects_accesses_readlinks_and_renames_of_host_files_stay_in_c",
               "tests/test_attacks.py::test_polls_let_go_of_every_host_fd_they_held",
               # a select past FD_SETSIZE is never copied into the trampoline's buffers
               "tests/test_attacks.py::test_selects_past_fd_setsize_leave_the_trampolines_buffers_alone")),
    # which guest bytes a call may read or write
    "memory": (("readable_span", "memory_in_range", "memory_in_bounds", "memory_writable",
                "memory_check"),
               ("tests/test_attacks.py::test_signal_words_outside_the_cage_are_refused",
                "tests/test_attacks.py::test_futexes_do_not_cross_processes_and_refuse_bad_words",
                "tests/test_attacks.py::test_start_up_imports_check_the_addresses_a_program_gives",
                "tests/test_attacks.py::test_a_grate_s_copy_shows_nothing_of_the_host_around_it",
                "tests/test_attacks.py::test_pages_mprotect_protected_handed_to_the_host_end_only_their_cage",
                "tests/test_null_page.py", "tests/test_mutants_memory.py",
                "tests/test_conformance.py::test_matches_native[protected_neighbours]")),
    # a cage that is not root held to the mode bits; who may act for whom
    "identity": (("capabilities", "set_mode_checks", "act_as", "may_act_for",
                  "registry_may_touch_locked", "registry_may_act_locked"),
                 ("tests/test_syscalls.py::test_a_cage_that_is_not_root_is_held_to_the_mode_bits_when_lind_is_root",
                  "tests/test_syscalls.py::test_the_embedding_programs_thread_keeps_its_overrides",
                  "tests/test_attacks.py::test_a_cage_that_gave_up_root_cannot_act_as_its_root_child",
                  "tests/test_mutants_threei.py", "tests/test_threei.py")),
}

# One replacement per operator, as run.py keeps for Python.
_SWAPS = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==",
          "&&": "||", "||": "&&"}
# C's tokens that hold these characters but are none of them, longest first.
_TOKEN = re.compile(r"""
    (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<other><<=|>>=|<<|>>|->|\+\+|--)
  | (?P<op><=|>=|==|!=|&&|\|\||<|>|!)
  | (?P<number>\b\d+\b(?![.xXeE]))
  | (?P<word>[A-Za-z_]\w*)
  | (?P<brace>[{}])
""", re.S | re.X)


@dataclass(frozen=True)
class Mutant:
    function: str
    offset: int       # in the source text
    body: int         # where its function's body starts there
    old: str
    new: str

    @property
    def key(self) -> str:
        """Where it is in its function: the same mutant after changes elsewhere."""
        return f"{self.function}@{self.offset - self.body}:{self.old}->{self.new}"

    def line(self, text: str) -> int:
        return text.count("\n", 0, self.offset) + 1

    def apply(self, text: str) -> str:
        assert text[self.offset:self.offset + len(self.old)] == self.old
        return text[:self.offset] + self.new + text[self.offset + len(self.old):]


def function_body(text: str, name: str) -> tuple[int, int]:
    """The span of `name`'s body (from its `{` to past its `}`), found by its definition:
    a line that starts its declaration and names it before an opening brace."""
    for match in re.finditer(rf"^(?:static\s+)?[A-Za-z_][\w \t\*]*\b{name}\(", text, re.M):
        start = text.find("{", match.end())
        if start < 0 or ";" in text[match.end():start]:
            continue        # a declaration, not the definition
        depth = 0
        for token in _TOKEN.finditer(text, start):
            if token.lastgroup == "brace":
                depth += 1 if token.group() == "{" else -1
                if depth == 0:
                    return start, token.end()
    raise SystemExit(f"c_mutants: no definition of {name} in {SOURCE.name}")


def mutants(text: str, functions: tuple[str, ...]) -> list[Mutant]:
    out = []
    for name in functions:
        start, end = function_body(text, name)
        for token in _TOKEN.finditer(text, start, end):
            kind, value, at = token.lastgroup, token.group(), token.start()
            if kind == "op":
                out.append(Mutant(name, at, start, value, "" if value == "!" else _SWAPS[value]))
            elif kind == "number" and not _in_preprocessor(text, at):
                out.append(Mutant(name, at, start, value, str(int(value) + 1)))
    return out


def bodies_digest(text: str, functions: tuple[str, ...]) -> str:
    """What a group's results hold for: its functions' text (changes elsewhere in the
    file keep them)."""
    digest = hashlib.sha256()
    for name in functions:
        start, end = function_body(text, name)
        digest.update(text[start:end].encode())
    return digest.hexdigest()


def _in_preprocessor(text: str, at: int) -> bool:
    return text[text.rfind("\n", 0, at) + 1:at].lstrip().startswith("#")


def _so_path(tree: Path) -> Path:
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return tree / "src/lind/threei" / f"_accel{suffix}"


def _compile(source: Path, out: Path) -> bool:
    include = sysconfig.get_paths()["include"]
    r = subprocess.run(["gcc", "-O1", "-shared", "-fPIC", f"-I{include}", str(source),
                        "-o", str(out), "-lpthread"], capture_output=True)
    return r.returncode == 0


def _tests_pass(tests: tuple[str, ...]) -> tuple[bool, float]:
    env = dict(os.environ, PYTHONPATH=str(TREE / "src"),
               LIND_TEST_BUILDS=str(SESSIONS / "builds"))
    t = time.monotonic()
    try:
        r = subprocess.run([str(BIN / "python"), "-m", "pytest", "-x", "-q", "-p",
                            "no:cacheprovider", "-k", "not ctypes", *tests], cwd=TREE, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=TIMEOUT)
        passed = r.returncode == 0
    except subprocess.TimeoutExpired:
        passed = False
    return passed, time.monotonic() - t


def run_group(group: str, retest: bool = False, only: set[str] | None = None) -> dict:
    functions, tests = GROUPS[group]
    text = SOURCE.read_text()
    digest = bodies_digest(text, functions)
    results_file = SESSIONS / f"c-{group}.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    if results.get("source") != digest:
        results = {"source": digest, "mutants": {}}
    done = results["mutants"]
    if retest:      # after new tests: the survivors again
        for key in [k for k, d in done.items() if d["outcome"] == "survived"
                    and (not only or d["function"] in only)]:
            del done[key]
    todo = [m for m in mutants(text, functions)
            if m.key not in done and (not only or m.function in only)]
    _copy_tree(TREE)
    tree_source, so = TREE / "src/lind/threei/_accel.c", _so_path(TREE)
    if not _compile(tree_source, so):
        raise SystemExit("c_mutants: the unmutated trampoline does not compile")
    passed, took = _tests_pass(tests)
    if not passed:
        raise SystemExit(f"c_mutants: {group}'s tests fail on the unmutated code")
    print(f"{group}: baseline passed in {took:.0f} s; {len(todo)} mutants to run", flush=True)
    for n, m in enumerate(todo, 1):
        tree_source.write_text(m.apply(text))
        if not _compile(tree_source, so):
            outcome = "not compiled"
        else:
            passed, took = _tests_pass(tests)
            outcome = "survived" if passed else "killed"
        done[m.key] = {"function": m.function, "line": m.line(text), "old": m.old,
                       "new": m.new, "outcome": outcome}
        results_file.write_text(json.dumps(results, indent=1))
        print(f"[{n}/{len(todo)}] {m.function}:{m.line(text)} {m.old!r}->{m.new!r}: {outcome}",
              flush=True)
    tree_source.write_text(text)
    return results


def report(group: str) -> str:
    results_file = SESSIONS / f"c-{group}.json"
    if not results_file.exists():
        return f"{group}: not run"
    results = json.loads(results_file.read_text())
    text = SOURCE.read_text()
    current = results["source"] == bodies_digest(text, GROUPS[group][0])
    tested = {k: d for k, d in results["mutants"].items() if d["outcome"] != "not compiled"}
    survived = {k: d for k, d in tested.items() if d["outcome"] == "survived"}
    for key, d in survived.items():     # where each stands in the file as it is now
        if current:
            at = function_body(text, d["function"])[0] + int(key.split("@")[1].split(":")[0])
            d["line"] = text.count("\n", 0, at) + 1
    lines = [f"{group}: {len(tested)} mutants, {len(tested) - len(survived)} killed, "
             f"{len(survived)} survived" + ("" if current else
                                          " (its functions have changed since: run it again)")]
    lines += [f"  survived {d['function']}:{d['line']} {d['old']!r} -> {d['new']!r}"
              for d in sorted(survived.values(), key=lambda d: d["line"])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="+", help=f"{', '.join(GROUPS)} or all")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--report", action="store_true", help="what the last runs found")
    parser.add_argument("--retest", action="store_true",
                        help="run the survivors again (after new tests were written)")
    parser.add_argument("--only", action="append", metavar="FUNCTION",
                        help="only the mutants of this function (again for more)")
    opts = parser.parse_args()
    groups = list(GROUPS) if opts.groups == ["all"] else opts.groups
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}; known: {', '.join(GROUPS)}")
    SESSIONS.mkdir(parents=True, exist_ok=True)
    text = SOURCE.read_text()
    for group in groups:
        if opts.list:
            for m in mutants(text, GROUPS[group][0]):
                print(f"{m.function}:{m.line(text)} {m.old!r} -> {m.new!r}")
        elif opts.report:
            print(report(group))
        else:
            try:
                run_group(group, opts.retest, set(opts.only or ()))
            finally:
                shutil.rmtree(TREE, ignore_errors=True)
            print(report(group), flush=True)


if __name__ == "__main__":
    main()
