"""Mutation testing of Lind's trusted core with cosmic-ray (not part of CI: it is slow).

Each module is mutated in place, one mutant at a time, and only the tests that guard it
run against each mutant (in a fresh pytest process, so `python -m lind` subprocesses
and cage threads see the mutant too). Usage, from the repository root:

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python tests/mutation/run.py threei/ops.py microvisor/fs.py   # or: all

The mutants are made in a copy of the work tree (tests/mutation/.sessions/tree-PID, taken
afresh at each start: tracked and new files plus the built C trampoline), which the
tests import through PYTHONPATH, so the work tree itself is never rewritten. Sessions
(sqlite) and reports stay in tests/mutation/.sessions/ (ignored by git); a run that was
stopped resumes where it left off (unless the module changed since: then a new session
begins), and `--retest` runs the survivors again after new tests were written.

Before the mutants run, the module's test selection runs once under coverage, each line
labelled with the tests that executed it: a mutant on a statement the selection never
executes cannot be killed by it, so it is recorded as survived ("not executed") without
spending a test run on it; every other mutant runs only the tests that executed the
lines it changed (covering.py), or the whole selection where coverage cannot tell.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SESSIONS = Path(__file__).resolve().parent / ".sessions"   # hidden: pytest does not collect the copy
TREE = SESSIONS / f"tree-{os.getpid()}"   # one per run, so two runs can go side by side
BIN = Path(sys.executable).parent

sys.path.insert(0, str(Path(__file__).parent))
import covering  # noqa: E402  (beside this file, not a package)

# Module (under src/lind) -> the tests that guard it: fast ones that run real cages.
MODULES: dict[str, list[str]] = {
    "threei/ops.py": ["tests/test_mutants_threei.py", "tests/test_threei.py",
                      "tests/test_grates.py::test_threei_permissions",
                      "tests/test_grates.py::test_harsh_exit_notification_reaches_the_grate",
                      "tests/test_attacks.py::test_cage_cannot_deregister_its_grate",
                      "tests/test_attacks.py::test_cage_cannot_deregister_strace",
                      "tests/test_grates.py::test_grate_rewrites_path_in_its_own_memory_and_forwards",
                      "tests/test_grates.py::test_strace_shows_a_call_that_ended_the_cage_as_unfinished",
                      "tests/test_grates.py::test_strace_says_a_child_was_killed_as_strace_f_does"],
    "microvisor/fs.py": ["tests/test_mutants_fs.py", "tests/test_attacks.py::test_read_only_root_mount",
                         "tests/test_attacks.py::test_read_only_mount_holds_under_another_path",
                         "tests/test_attacks.py::test_path_escapes_beside_a_tenant",
                         "tests/test_programs.py::test_escape_attempts_fail",
                         "tests/test_programs.py::test_matches_native",
                         "tests/test_grates.py::test_python_grate_with_wasm_grates_above_and_below",
                         "tests/test_attacks.py::test_proc_links_and_swapped_symlinks",
                         "tests/test_virtual_files.py"],
    "grates/paths.py": ["tests/test_mutants_grates.py", "tests/test_grates_python.py"],
    "grates/readonly.py": ["tests/test_mutants_grates.py",
                           "tests/test_grates_python.py::test_readonly_refuses_changes_under_its_prefixes",
                           "tests/test_grates_python.py::test_readonly_answers_like_a_read_only_mount",
                           "tests/test_grates_python.py::test_readonly_whole_tree_through_the_cli",
                           "tests/test_grates_python.py::test_stacking_order_decides_what_each_grate_sees"],
    "grates/clamp.py": [*(f"tests/test_clamp.py::{name}" for name in (
                            "test_one_clamp_routes_only_matching_calls_through_its_stack",
                            "test_separate_clamps_each_route_their_own_calls",
                            "test_nested_clamps_need_every_enclosing_condition",
                            "test_clamp_conditions_by_call_fd_and_cage",
                            "test_the_same_wasm_grate_inside_and_outside_a_clamp",
                            "test_clamped_grates_that_fork_exec_or_register_late_stay_clamped",
                            "test_clamp_marks_on_the_command_line",
                            "test_clamp_mistakes_are_value_errors",
                            "test_a_clamp_of_python_grates_attaches_to_a_cage_directly",
                            "test_a_path_the_clamp_cannot_read_is_efault",
                            "test_odd_registrations_inside_a_clamp_answer_as_without_it")),
                        "tests/test_mutants_grates.py::test_clamp_wants_a_directory_and_a_grate",
                        "tests/test_grates_python.py::test_clamp_applies_seccomp_only_under_its_directory",
                        "tests/test_grates_python.py::test_clamped_imfs_still_matches_native",
                        "tests/test_grates_python.py::test_clamp_short_form_wants_a_directory_and_a_grate",
                        "tests/test_attacks.py::test_path_flipped_after_the_check_does_not_reach_the_file"],
    "grates/__init__.py": ["tests/test_mutants_threei.py", "tests/test_mutants_grates.py",
                           "tests/test_grates.py::test_python_grates_stack_first_named_on_top",
                           "tests/test_grates.py::test_python_grate_with_wasm_grates_above_and_below",
                           "tests/test_grates.py::test_python_grate_bug_fails_the_call_not_the_cage",
                           "tests/test_grates.py::test_python_grate_inherited_by_children",
                           "tests/test_grates.py::test_a_grate_interposes_on_another_grates_registrations",
                           "tests/test_grates_python.py::test_stacking_order_decides_what_each_grate_sees",
                           "tests/test_grates_python.py::test_lind_grates_lists_every_python_grate_with_its_summary"],
    "grates/seccomp.py": ["tests/test_mutants_grates.py::test_seccomp_errno_numbers_at_the_ends_of_the_range",
                          "tests/test_mutants_grates.py::test_seccomp_bad_rules",
                          "tests/test_grates_python.py::test_seccomp_errno_rules_then_kill_with_sigsys",
                          "tests/test_grates_python.py::test_seccomp_default_covers_calls_no_rule_names",
                          "tests/test_grates_python.py::test_seccomp_kill_through_the_cli",
                          "tests/test_grates_python.py::test_seccomp_bad_policy_names_file_and_line",
                          "tests/test_grates_python.py::test_seccomp_bad_policy_file_through_the_cli"],
    "microvisor/shared_pages.py": ["tests/test_mutants_memory.py", "tests/test_shared_memory.py",
                                   "tests/test_attacks.py::test_crafted_module_is_refused",
                                   "tests/test_limits.py"],
    "microvisor/sys_files.py": ["tests/test_mutants_files.py",
                                "tests/test_syscalls.py::test_file_size_limit_matches_linux",
                                "tests/test_syscalls.py::test_a_file_size_limit_given_at_start_holds",
                                "tests/test_mutants_fs.py", "tests/test_programs.py::test_matches_native",
                                "tests/test_programs.py::test_escape_attempts_fail",
                                "tests/test_programs.py::test_stdin_and_stderr",
                                "tests/test_attacks.py::test_inherited_stdio_metadata_stays_the_hosts",
                                "tests/test_attacks.py::test_o_trunc_is_a_write",
                                "tests/test_attacks.py::test_read_only_root_mount",
                                "tests/test_attacks.py::test_proc_links_and_swapped_symlinks",
                                "tests/test_process.py::test_poll_and_select_on_pipes_match_native",
                                "tests/test_process.py::test_fork_wait_pipe_exec_match_native",
                                "tests/test_cli.py::test_root_and_readonly_mount",
                                "tests/test_cli.py::test_writable_mount",
                                "tests/test_cli.py::test_terminal_settings_read_back_as_on_linux",
                                "tests/test_wasi.py::test_matches_wasmtime_wasi",
                                "tests/test_virtual_files.py",
                                *(f"tests/test_conformance.py::test_matches_native[{name}]"
                                  for name in ("file_calls", "file_edges", "file_modes",
                                               "fifo_opens", "path_edges", "path_limits",
                                               "process_edges",
                                               "inotify", "events")),
                                "tests/test_conformance.py::test_python_handlers_match_native",
                                "tests/test_syscalls.py::test_file_calls_match_linux",
                                "tests/test_locks.py::test_locks_between_parent_and_child_match_native"],
    "microvisor/sys_memory.py": [*(f"tests/test_conformance.py::test_matches_native[{name}]"
                                   for name in ("memory_calls", "memory_flags", "memory_ranges",
                                                "shared_offsets", "futex_keys", "sysv_ipc",
                                                "file_calls")),
                                 "tests/test_shared_memory.py",
                                 "tests/test_mutants_memory.py",
                                 "tests/test_attacks.py::test_crafted_module_is_refused",
                                 "tests/test_syscalls.py::test_memory_residency_and_locking_match_linux",
                                 "tests/test_limits.py",
                                 "tests/test_attacks.py::test_identity_and_uname_are_virtual_and_mremap_is_checked",
                                 "tests/test_attacks.py::test_memory_limit_per_cage",
                                 "tests/test_attacks.py::test_memory_limit_per_runtime",
                                 "tests/test_programs.py::test_matches_native",
                                 "tests/test_process.py::test_fork_wait_pipe_exec_match_native"],
    "microvisor/sys_signals.py": [*(f"tests/test_conformance.py::test_matches_native[{name}]"
                                    for name in ("signal_more", "signal_calls", "signal_edges",
                                                 "process_edges", "jmpbuf_copies", "events")),
                                  "tests/test_signals.py", "tests/test_null_page.py",
                                  "tests/test_syscalls.py::test_signal_calls_match_linux",
                                  "tests/test_cli.py::test_signals_sent_to_lind_run_reach_the_programs_handlers",
                                  "tests/test_process.py::test_setjmp_longjmp_match_native",
                                  "tests/test_programs.py::test_traps_and_signals_end_only_the_cage",
                                  "tests/test_attacks.py::test_signals_and_3i_do_not_cross_trees",
                                  "tests/test_attacks.py::test_exit_under_strace_while_children_signal",
                                  "tests/test_lifecycle.py::test_a_call_restarted_after_a_handler_works_through_a_wasm_grate",
                                  "tests/test_wasi.py::test_proc_raise_is_a_signal_to_the_cage",
                                  *(f"tests/test_threads.py::test_threads_programs_match_native[{name}]"
                                    for name in ("signals", "thread_signals", "cancel")),
                                  "tests/test_threads.py::test_threads_that_came_and_went_leave_no_host_fds",
                                  "tests/test_cli.py::test_a_signal_the_kernel_gives_another_thread_still_reaches_the_program"],
    "grates/aquarium.py": ["tests/test_grates_python.py::test_aquarium_view_answers_like_the_real_directory",
                           "tests/test_grates_python.py::test_programs_in_an_aquarium_of_their_whole_root_run_as_on_linux",
                           "tests/test_grates_python.py::test_aquarium_at_calls_modes_and_flags_answer_like_the_real_directory",
                           "tests/test_grates_python.py::test_aquarium_contains_ransomware",
                           "tests/test_grates_python.py::test_aquarium_report_file_and_refusals_through_the_cli",
                           "tests/test_grates_python.py::test_aquarium_refuses_changing_a_real_directory_mode",
                           "tests/test_mutants_grates.py::test_unlinkat_flags_under_file_system_grates_match_linux",
                           "tests/test_mutants_grates.py::test_aquarium_follows_links_opens_and_lists_like_linux",
                           "tests/test_mutants_grates.py::test_aquarium_copies_renames_flags_and_modes_match_linux",
                           "tests/test_mutants_grates.py::test_aquarium_refuses_what_its_overlay_cannot_hold",
                           "tests/test_mutants_grates.py::test_aquarium_report_that_cannot_be_written_is_a_value_error",
                           "tests/test_attacks.py::test_aquarium_report_inside_the_root_is_refused",
                           "tests/test_attacks.py::test_aquarium_report_does_not_follow_planted_links"],
    "grates/netfilter.py": ["tests/test_mutants_grates.py::test_netfilter_decides_each_address_form_and_edge",
                            "tests/test_mutants_grates.py::test_netfilter_rule_forms",
                            "tests/test_mutants_grates.py::test_netfilter_refuses_bad_rules",
                            "tests/test_grates_python.py::test_netfilter_refuses_by_address_and_port",
                            "tests/test_grates_python.py::test_netfilter_allows_what_no_rule_matches",
                            "tests/test_grates_python.py::test_netfilter_bad_rules_are_value_errors"],
    "microvisor/virtual.py": ["tests/test_virtual_files.py",
                              "tests/test_mutants_fs.py::test_host_proc_mounted_read_only_gives_no_magic_links"],
    "microvisor/fdtable.py": ["tests/test_mutants_fs.py", "tests/test_mutants_files.py",
                              "tests/test_attacks.py::test_rlimit_nofile",
                              "tests/test_attacks.py::test_fd_hogs_leave_room_for_another_tree",
                              # the budget's reserve: only a new tree's stdio may use it
                              "tests/test_limits.py::test_cages_holding_every_fd_they_can_leave_room_for_a_new_tree",
                              "tests/test_attacks.py::test_inherited_stdio_metadata_stays_the_hosts",
                              "tests/test_attacks.py::test_a_cage_started_without_stdin_or_stderr_finds_them_closed",
                              # descriptions as dict keys (flock), files mapped (not zeros)
                              "tests/test_locks.py::test_locks_between_parent_and_child_match_native",
                              "tests/test_mutants_memory.py::test_shared_file_mappings_at_their_edges_match_native",
                              # pipes, sockets, O_NONBLOCK, terminals: what the fd table
                              # decides the trampoline or Python serves, and how it waits
                              *(f"tests/test_conformance.py::test_matches_native[{name}]"
                                for name in ("file_calls", "file_edges", "file_modes",
                                             "fifo_opens", "events", "process_edges",
                                             "net_unix", "net_tcp", "net_waits")),
                              "tests/test_conformance.py::test_python_handlers_match_native",
                              "tests/test_process.py::test_fork_wait_pipe_exec_match_native",
                              "tests/test_process.py::test_poll_and_select_on_pipes_match_native",
                              "tests/test_process.py::test_preforking_server_over_pipes_matches_native",
                              "tests/test_programs.py::test_matches_native",
                              "tests/test_programs.py::test_stdin_and_stderr",
                              "tests/test_cli.py::test_terminal_settings_read_back_as_on_linux",
                              "tests/test_threads.py::test_threads_programs_match_native",
                              # host sockets handed over at start: blocking stays the host's
                              "tests/test_api.py::test_sockets_handed_over_are_sockets_as_for_subprocess",
                              # fd pins (pin_fds/unpin_fds): what a pinned fd is, nesting,
                              # the depth limit, pins over many tables, the C clamp's pins
                              "tests/test_grates.py::test_pinned_fds_are_the_files_they_were_until_unpinned",
                              "tests/test_attacks.py::test_pins_of_many_cages_on_many_threads_take_little_host_memory",
                              "tests/test_clamp.py::test_the_c_clamping_grate_routes_as_the_python_clamp",
                              # a Python grate's look at an fd (call_pinned)
                              "tests/test_mutants_grates.py::test_readonly_refuses_each_change_like_a_read_only_mount"],
    # futex(2) the trampoline does not answer itself: PI mutexes, requeues, waits a
    # signal interrupted, and (through a forwarding Python grate) every futex call.
    "microvisor/sys_futex.py": ["tests/test_mutants_futex.py",
                                *(f"tests/test_conformance.py::test_matches_native[{name}]"
                                  for name in ("pi_mutex", "pi_contended", "futex_keys",
                                               "mutex_kinds")),
                                *(f"tests/test_threads.py::test_threads_programs_match_native[{name}]"
                                  for name in ("wakeups", "basics", "thread_signals", "cancel")),
                                "tests/test_shared_memory.py::test_futex_between_cages_matches_native",
                                "tests/test_attacks.py::test_futexes_do_not_cross_processes_and_refuse_bad_words"],
    # Which trampoline a cage gets, and how its `lind.syscall` import is bound.
    "threei/__init__.py": ["tests/test_threei.py", "tests/test_null_page.py",
                           "tests/test_cli.py::test_exit_status_and_output",
                           "tests/test_cli.py::test_ctypes_fallback_trampoline_gives_the_same_results",
                           "tests/test_mutants_threei.py",
                           "tests/test_grates.py::test_threei_permissions",
                           *(f"tests/test_conformance.py::test_matches_native[{name}]"
                             for name in ("file_calls", "process_edges", "signal_calls"))],
    # The ctypes twin of the C trampoline: the same programs with LIND_TRAMPOLINE=ctypes
    # (MODULE_ENV), which makes every cage of the pytest process use it.
    "threei/fallback.py": ["tests/test_threei.py",
                           *(f"tests/test_conformance.py::test_matches_native[{name}]"
                             for name in ("file_calls", "file_modes", "path_limits",
                                          "fifo_opens", "events",
                                          "signal_calls", "process_edges", "net_unix",
                                          "memory_calls")),
                           "tests/test_threads.py::test_threads_programs_match_native",
                           "tests/test_attacks.py::test_read_only_root_mount",
                           "tests/test_attacks.py::test_signals_and_3i_do_not_cross_trees",
                           # wasm grates: handlers, workers, snapshots, copies across cages
                           "tests/test_mutants_threei.py", "tests/test_grates.py",
                           "tests/test_shared_memory.py",
                           "tests/test_clamp.py::test_the_c_clamping_grate_routes_as_the_python_clamp",
                           "tests/test_clamp.py::test_one_clamp_routes_only_matching_calls_through_its_stack",
                           # the twin's own rules (the [c] variants run the C trampoline)
                           *(f"tests/test_trampolines.py::{name}" for name in (
                               "test_a_python_grates_copy_holds_exactly_what_it_read[ctypes]",
                               "test_an_ended_cages_memory_and_wake_fd_go_when_nothing_uses_them"
                               "[lind-cc-ctypes]",
                               "test_an_ended_cages_memory_and_wake_fd_go_when_nothing_uses_them"
                               "[wasi-ctypes]",
                               "test_a_wasm_grate_reuses_its_workers_and_leaves_no_store[ctypes]",
                               "test_the_entrys_edge_values_answer_as_linux[ctypes]",
                               "test_a_handler_that_raises_stops_only_its_cage[ctypes]",
                               "test_a_handler_of_a_grate_that_ended_is_enosys[ctypes]")),
                           "tests/test_attacks.py::test_system_calls_from_a_start_function_are_enosys[ctypes]"],
}
# Environment a module's tests run with (beside PYTHONPATH, which names the mutant's tree).
MODULE_ENV: dict[str, dict[str, str]] = {"threei/fallback.py": {"LIND_TRAMPOLINE": "ctypes"}}

# One mutation per operator, as mutmut does (`+` -> `-`, `<` -> `<=`, `&` -> `|`, ...),
# instead of every operator of the same kind (`|` -> `**`, `==` -> `>=`): eleven
# binary and seven comparison variants per site would multiply the run time by ~4
# and mostly yield mutants any test kills.
_KEPT_BINARY = ("Add_Sub", "Sub_Add", "Mul_Div", "Div_Mul", "FloorDiv_Div", "Mod_FloorDiv",
                "Pow_Mul", "BitAnd_BitOr", "BitOr_BitAnd", "BitXor_BitOr", "LShift_RShift",
                "RShift_LShift")
_KEPT_COMPARISON = ("Eq_NotEq", "NotEq_Eq", "Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt",
                    "Is_IsNot", "IsNot_Is", "In_NotIn", "NotIn_In")
_KEPT_UNARY = ("Delete_Not", "Delete_USub", "Delete_Invert", "USub_UAdd")
EXCLUDE = [
    f"core/ReplaceBinaryOperator_(?!({'|'.join(_KEPT_BINARY)})$)",
    f"core/ReplaceComparisonOperator_(?!({'|'.join(_KEPT_COMPARISON)})$)",
    f"core/ReplaceUnaryOperator_(?!({'|'.join(_KEPT_UNARY)})$)",
]


WORKER_PORT = 47310     # --workers N: http workers listen on 127.0.0.1:47311..


def _config(module: str, timeout: float, workers: int) -> str:
    tests = " ".join(MODULES[module])
    env = " ".join(f"{k}={v}" for k, v in MODULE_ENV.get(module, {}).items())
    command = (f"{'env ' + env + ' ' if env else ''}{BIN / 'python'} {Path(covering.__file__)} "
               f"{_coverage_map(module)} {module} -- -x -q -p no:cacheprovider {tests}")
    if workers > 1:
        urls = [f"http://127.0.0.1:{WORKER_PORT + i}" for i in range(1, workers + 1)]
        distributor = ['name = "http"', "[cosmic-ray.distributor.http]",
                       f"worker-urls = {urls!r}".replace("'", '"')]
    else:
        distributor = ['name = "local"']
    return "\n".join([
        "[cosmic-ray]",
        f'module-path = "src/lind/{module}"',
        f"timeout = {timeout}",
        "excluded-modules = []",
        f"test-command = {command!r}".replace("'", '"'),
        "[cosmic-ray.distributor]",
        *distributor,
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = {EXCLUDE!r}".replace("'", '"').replace("\\", "\\\\"),
        "",
    ])


def _copy_tree(tree: Path = TREE) -> None:
    """`tree` := the work tree's files as they are now, with the in-place built trampoline."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    files = [f for f in listed if f and (REPO / f).is_file()]
    files += [str(p.relative_to(REPO)) for p in (REPO / "src/lind/threei").glob("_accel*.so")]
    shutil.rmtree(tree, ignore_errors=True)
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, tree / name)


@contextlib.contextmanager
def _http_workers(count: int) -> Iterator[None]:
    """`count` cosmic-ray http workers, each mutating a tree of its own (mutants in two
    copies of a module run side by side without seeing each other)."""
    if count <= 1:
        yield
        return
    procs, trees = [], []
    try:
        for i in range(1, count + 1):
            tree = TREE.with_name(f"{TREE.name}-w{i}")
            _copy_tree(tree)
            trees.append(tree)
            env = dict(os.environ, PYTHONPATH=str(tree / "src"))
            procs.append(subprocess.Popen(
                [BIN / "cosmic-ray", "http-worker", "--port", str(WORKER_PORT + i)], cwd=tree,
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for i in range(1, count + 1):
            for _ in range(200):
                with contextlib.suppress(OSError), socket.create_connection(
                        ("127.0.0.1", WORKER_PORT + i), timeout=1):
                    break
                time.sleep(0.05)
        yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        for tree in trees:
            shutil.rmtree(tree, ignore_errors=True)


_NOT_EXECUTED = "not executed by the test selection (coverage)"


def _measure(module: str, db: Path) -> int:
    """Run the selection once under coverage, each line labelled with the tests that
    executed it: write the map `covering.py` chooses each mutant's tests from, and
    record as survived the pending mutants whose lines no test executes. Returns how
    many those were."""
    data, rc = TREE / ".coverage-data", TREE / ".coverage-rc"
    target = TREE / "src/lind" / module
    rc.write_text(f"[run]\nconcurrency = thread\nparallel = true\npatch = subprocess\n"
                  f"data_file = {data}\ninclude = {target}\n")
    for old in TREE.glob(".coverage-data*"):
        old.unlink()
    env = dict(os.environ, **MODULE_ENV.get(module, {}), COVERAGE_RCFILE=str(rc),
               PYTHONPATH=f"{TREE / 'src'}{os.pathsep}{Path(__file__).parent}")
    subprocess.run([BIN / "python", "-m", "coverage", "run", "-m", "pytest", "-q", "-p",
                    "no:cacheprovider", "-p", "covering", *MODULES[module]], cwd=TREE, env=env,
                   stdout=subprocess.DEVNULL, check=False)
    subprocess.run([BIN / "python", "-m", "coverage", "combine", "-q"], cwd=TREE, env=env, check=True)
    import coverage  # only the mutation extra needs it

    cov = coverage.Coverage(data_file=str(data), config_file=str(rc))
    cov.load()
    tests_by_line = cov.get_data().contexts_by_lineno(str(target))
    _coverage_map(module).write_text(json.dumps({
        "pristine": target.read_text(),
        "tests_by_line": {str(line): sorted(tests) for line, tests in tests_by_line.items()}}))
    _, statements, _, missing, _ = cov.analysis2(str(target))
    executed = set(statements) - set(missing)
    with sqlite3.connect(db) as conn:
        pending = conn.execute(
            "SELECT s.job_id, s.start_pos_row, s.end_pos_row FROM mutation_specs s "
            "LEFT JOIN work_results r ON r.job_id = s.job_id WHERE r.job_id IS NULL").fetchall()
        unexecuted = [job for job, first, last in pending
                      if first in missing and not executed & set(range(first, last + 1))]
        conn.executemany(
            "INSERT INTO work_results (worker_outcome, output, test_outcome, diff, job_id) "
            "VALUES ('NORMAL', ?, 'SURVIVED', '', ?)", [(_NOT_EXECUTED, job) for job in unexecuted])
    return len(unexecuted)


_ANNOTATION = "in a type annotation, which is never evaluated (from __future__ import annotations)"


def _skip_annotations(module: str, db: Path) -> None:
    """Mark the mutants inside annotations as skipped, as mutmut never makes them: with
    postponed evaluation an `int | None` turned `int & None` cannot change behaviour."""
    tree = ast.parse((TREE / "src/lind" / module).read_text())
    assert any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
               and any(alias.name == "annotations" for alias in node.names)
               for node in tree.body), f"{module} evaluates its annotations"
    spans = []
    for node in ast.walk(tree):
        for note in (getattr(node, "annotation", None), getattr(node, "returns", None)):
            if note is not None:
                spans.append(((note.lineno, note.col_offset), (note.end_lineno, note.end_col_offset)))
    with sqlite3.connect(db) as conn:
        specs = conn.execute(
            "SELECT s.job_id, s.start_pos_row, s.start_pos_col FROM mutation_specs s LEFT JOIN "
            "work_results r ON r.job_id = s.job_id WHERE r.worker_outcome IS NOT 'SKIPPED'").fetchall()
        inside = [job for job, row, col in specs if any(a <= (row, col) < b for a, b in spans)]
        conn.executemany(
            "INSERT OR REPLACE INTO work_results (worker_outcome, output, test_outcome, diff, job_id) "
            "VALUES ('SKIPPED', ?, NULL, NULL, ?)", [(_ANNOTATION, job) for job in inside])


def _coverage_map(module: str) -> Path:
    return SESSIONS / f"{module.replace('/', '-').removesuffix('.py')}.tests.json"


def _run(*argv: str | Path) -> None:
    print("+", shlex.join(map(str, argv)), flush=True)
    subprocess.run([str(a) for a in argv], cwd=TREE, check=True)


def mutate(module: str, timeout: float, init_only: bool, retest: bool, workers: int) -> None:
    """Create (or resume) the session of one module, run it, and write its report."""
    name = module.replace("/", "-").removesuffix(".py")
    config, db = SESSIONS / f"{name}.toml", SESSIONS / f"{name}.sqlite"
    config.write_text(_config(module, timeout, workers))
    source, mutated = SESSIONS / f"{name}.source.py", REPO / "src/lind" / module
    if db.exists() and (not source.exists() or source.read_bytes() != mutated.read_bytes()):
        # Its mutants name lines and columns of another text: resuming would mutate the
        # wrong places. Start afresh (the old session is kept beside, as .stale).
        print(f"{module} changed since its session began: starting a new one", flush=True)
        db.replace(db.with_suffix(".stale.sqlite"))
    if not db.exists():
        shutil.copyfile(mutated, source)
        _run(BIN / "cosmic-ray", "init", config, db)
        _run(BIN / "cr-filter-operators", db, config)
        _run(BIN / "cr-filter-pragma", db)
    elif retest:   # after new tests: run the survivors again (cosmic-ray runs what is pending)
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")
    _skip_annotations(module, db)
    if init_only:
        return
    print(f"{module}: {_measure(module, db)} mutants on lines the tests never run",
          flush=True)
    with _http_workers(workers):
        # The baseline (the selection passes on the unmutated module) goes through the
        # same distributor as the mutants, so its workers must be up: before, with
        # --workers, it reached none, logged the refused connection and passed unchecked.
        _run(BIN / "cosmic-ray", "baseline", config)
        _run(BIN / "cosmic-ray", "exec", config, db)
    report = subprocess.run([BIN / "cr-report", "--show-pending", db], cwd=TREE,
                            capture_output=True, text=True, check=True).stdout
    (SESSIONS / f"{name}.report.txt").write_text(report)
    print(counts(module), flush=True)


def counts(module: str) -> str:
    """One line: mutants tested (skipped operators left out), killed, survived, pending."""
    db = SESSIONS / f"{module.replace('/', '-').removesuffix('.py')}.sqlite"
    if not db.exists():
        return f"{module}: not run"
    with sqlite3.connect(db) as conn:
        outcome = dict(conn.execute(
            "SELECT coalesce(test_outcome, worker_outcome), count(*) FROM work_results GROUP BY 1"))
        total = conn.execute("SELECT count(*) FROM work_items").fetchone()[0]
    tested = total - outcome.get("SKIPPED", 0)
    killed = outcome.get("KILLED", 0)
    return (f"{module}: {tested} mutants, {killed} killed, {outcome.get('SURVIVED', 0)} survived, "
            f"{tested - killed - outcome.get('SURVIVED', 0)} pending or incompetent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="+", help=f"'all' or some of: {', '.join(MODULES)}")
    parser.add_argument("--timeout", type=float, default=40.0,
                        help="seconds per mutant (a hang counts as killed); about 4x the selection")
    parser.add_argument("--init-only", action="store_true", help="count mutants, run none")
    parser.add_argument("--retest", action="store_true", help="run the surviving mutants again")
    parser.add_argument("--counts", action="store_true", help="print each session's counts, run none")
    parser.add_argument("--workers", type=int, default=1,
                        help="mutants tested side by side, each in a tree of its own (default 1)")
    args = parser.parse_args()
    modules = list(MODULES) if args.modules == ["all"] else args.modules
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"no test selection for {', '.join(unknown)}")
    if args.counts:
        print("\n".join(counts(m) for m in modules))
        return
    SESSIONS.mkdir(exist_ok=True)
    _copy_tree()
    os.environ["PYTHONPATH"] = str(TREE / "src")
    # Compile each test program once for the whole run, not once per mutant.
    os.environ.setdefault("LIND_TEST_BUILDS", str(SESSIONS / "builds"))
    try:
        for module in modules:
            mutate(module, args.timeout, args.init_only, args.retest, args.workers)
    finally:
        shutil.rmtree(TREE, ignore_errors=True)


if __name__ == "__main__":
    main()
