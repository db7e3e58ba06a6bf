"""The portable back end's files (lind.portable): real programs on it against gcc's
builds, what a hostile cage tries against it, loading and saving trees; and the
memfs tree's own rules as unit tests beside them."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from test_attacks import (
    _LIND_MAX_RSS,
    TWO_TREES,
    Scratch,
    attack,
    lind_cli,
    make_root,
    python,
    run_cage,
    untouched,
)
from test_programs import COMPARED, run_native

import lind
from lind.portable import Tree, memfs
from lind.portable.memfs import (
    DIRENTS_MAX,
    MAX_LINK_HOPS,
    NAME_CHARGE,
    NODE_CHARGE,
    Dir,
    File,
    Symlink,
)


def snapshot(top: Path) -> dict[str, tuple]:
    """Everything under a host directory: names, kinds, modes, contents, link targets."""
    out = {}
    for path in sorted(top.rglob("*")):
        st = path.lstat()
        body = (os.readlink(path) if path.is_symlink()
                else path.read_bytes() if path.is_file() else None)
        out[path.relative_to(top).as_posix()] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                 body)
    return out


def run_portable(tmp_path: Path, tag: str, args: list, **kw) -> tuple[int, str, str]:
    """lind.run on the portable back end, stdio on scratch files (attack cages)."""
    scratch = Scratch(tmp_path, tag)
    fin, fout, ferr = scratch.open()
    with fin, fout, ferr:
        result = lind.run([str(a) for a in args], stdin=fin, stdout=fout, stderr=ferr,
                          timeout=kw.pop("timeout", 60), backend="portable", **kw)
    return (result.returncode, *scratch.text())


# -- real programs --------------------------------------------------------------

@pytest.mark.parametrize(("name", "args"), COMPARED, ids=[c[0] for c in COMPARED])
def test_programs_match_native_on_the_portable_back_end(builds, tmp_path, name, args):
    """The same programs test_programs compares on the host back end, their files in
    a tree filled from a root that holds a file of the host's; the root stays as it was."""
    env = {"GREETING": "hi there"}
    for side in ("native", "cage"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "seed.txt").write_text("from the host\n")
    before = snapshot(tmp_path / "cage")
    native = run_native(builds.native(name), args, tmp_path / "native", env)
    caged = lind.run([builds.wasm(name), *args], root=tmp_path / "cage", env=env,
                     capture_output=True, timeout=60, backend="portable")
    assert caged.stdout.decode() == native.stdout.decode()
    assert caged.returncode == native.returncode
    assert b"FAIL" not in caged.stdout
    assert snapshot(tmp_path / "cage") == before


def test_fork_exec_and_spawn_run_programs_stored_in_the_tree(builds, tmp_path):
    """Programs exec'd by path (fork+exec, posix_spawn, a #! script) come from the tree:
    the root is a zip archive holding them, nothing of it is on the host as files."""
    archive = tmp_path / "tree.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in ("bin/args_env", "bin/spawn_child"):
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | 0o755) << 16
            z.writestr(info, builds.wasm("args_env").read_bytes())
        script = zipfile.ZipInfo("bin/hello.sh")
        script.create_system = 3
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        z.writestr(script, "#!/bin/args_env 3\n")
        locked = zipfile.ZipInfo("bin/not_runnable")
        locked.create_system = 3
        locked.external_attr = (stat.S_IFREG | 0o644) << 16
        z.writestr(locked, builds.wasm("args_env").read_bytes())
    result = lind.run([builds.wasm("portable_exec")], root=archive, capture_output=True,
                      timeout=60, backend="portable")
    out = result.stdout.decode()
    assert result.returncode == 0, (out, result.stderr)
    assert "fork+exec: status 3" in out            # args_env exits with argc
    assert "posix_spawn: status 2" in out
    assert "script: status 3" in out               # args_env 3 /bin/hello.sh
    assert f"not runnable: {errno.EACCES}" in out
    assert f"missing: {errno.ENOENT}" in out


def test_a_tree_saved_after_a_run_loads_into_the_next(builds, tmp_path):
    """save= writes what the run left (a zip, then a directory); a later run's root is
    that archive; modes and symbolic links survive the trip, the host root never changes."""
    root = make_root(tmp_path)
    (root / "kept.txt").write_text("kept\n")
    first = lind.run([builds.wasm("portable_state"), "write"], root=root, capture_output=True,
                     timeout=60, backend="portable", save=tmp_path / "state.zip")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in root.iterdir()) == ["kept.txt"]
    second = lind.run([builds.wasm("portable_state"), "check"], root=tmp_path / "state.zip",
                      capture_output=True, timeout=60, backend="portable",
                      save=tmp_path / "state-dir")
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.decode() == "note.txt 600 12 note: saved\nlink -> note.txt\nkept.txt kept\n"
    saved = tmp_path / "state-dir"
    assert (saved / "data" / "note.txt").read_text() == "note: saved\n"
    assert stat.S_IMODE((saved / "data" / "note.txt").stat().st_mode) == 0o600
    assert os.readlink(saved / "data" / "link") == "note.txt"


def test_files_a_cage_dates_outside_a_zip_still_save(builds, tmp_path, monkeypatch):
    """A zip entry holds dates from 1980 to 2107 only: a cage that dated its files 1970
    and 2103 had --save fail and the archive it replaced cut short. Now the dates are
    the nearest a zip holds, and a save that fails leaves the last archive whole."""
    saved = tmp_path / "state.zip"
    saved.write_bytes(b"the last save")
    done = lind.run([builds.wasm("portable_state"), "oddtimes"], root=make_root(tmp_path),
                    capture_output=True, timeout=60, backend="portable", save=saved)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(saved) as z:
        dates = {i.filename: i.date_time[0] for i in z.infolist()}
    assert (dates["data/note.txt"], dates["data/link"]) == (1980, 2103)
    again = lind.run([builds.wasm("portable_state"), "check"], root=saved,
                     capture_output=True, timeout=60, backend="portable")
    assert again.stdout.decode().startswith("note.txt 600 12 note: saved\nlink -> note.txt\n")
    def disk_full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    tree = Tree()
    tree.new(tree.root, "new.txt", File, 0o644)
    with pytest.raises(OSError):
        tree.save(saved)
    monkeypatch.undo()
    assert zipfile.ZipFile(saved).namelist() == list(dates)          # the last save, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lind-save")] == []


def test_a_tree_passed_in_is_shared_and_inspected(builds, tmp_path):
    """A Tree as `root`: two runs see one file system, and the caller reads the result."""
    tree = Tree()
    for mode in ("write", "check"):
        result = lind.run([builds.wasm("portable_state"), mode], root=tree, capture_output=True,
                          timeout=60, backend="portable")
        assert result.returncode == 0, result.stdout + result.stderr
    node = tree.lookup("/data/note.txt")
    assert isinstance(node, File) and bytes(node.data) == b"note: saved\n"
    with pytest.raises(ValueError, match="backend='portable'"):
        lind.run([builds.wasm("portable_state"), "check"], root=tree)


def test_the_working_directory_is_the_trees(builds, tmp_path):
    """cwd names a directory of the tree (filled from a zip here, nothing of it on the
    host); a missing one or a file is an error before the run, as subprocess's."""
    archive = tmp_path / "tree.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("work/seed.txt", "seed\n")
    result = lind.run([builds.wasm("portable_state"), "cwd"], root=archive, cwd="/work",
                      capture_output=True, timeout=60, backend="portable")
    assert (result.returncode, result.stdout) == (0, b"/work seed\n"), result.stderr
    for cwd, code in (("/nope", errno.ENOENT), ("/work/seed.txt", errno.ENOTDIR)):
        with pytest.raises(OSError) as exc:
            lind.run([builds.wasm("portable_state"), "cwd"], root=archive, cwd=cwd,
                     backend="portable")
        assert exc.value.errno == code and f"working directory {cwd}" in str(exc.value)


def test_unix_sockets_are_named_in_the_tree(builds, tmp_path):
    """bind makes a socket name in the tree (stat: a socket; taken: EADDRINUSE), a
    forked child connects by it, getsockname shows it as bound; a missing name is
    ENOENT, a regular file ECONNREFUSED, and an unlinked name is gone."""
    rc, out, err = run_portable(tmp_path, "unix", [builds.wasm("portable_unix")],
                                root=make_root(tmp_path))
    assert rc == 0, out + err
    assert out == (f"stat: 0 socket 1\nbind taken: -1 errno {errno.EADDRINUSE}\n"
                   "name: srv.sock\ngot: ping, child 0\n"
                   f"missing: {errno.ENOENT}, regular file: {errno.ECONNREFUSED}\n"
                   f"unlink: 0, then missing: {errno.ENOENT}\n")
    assert list((tmp_path / "root").iterdir()) == []


def test_a_read_only_mount_refuses_changes_inside_the_tree(builds, tmp_path):
    """A :ro mount's files are copied in and refuse changes (EROFS), also through a
    link made elsewhere in the tree; the host directory never changes."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "file.txt").write_text("read only\n")
    before = snapshot(data)
    rc, out, err = run_portable(tmp_path, "ro", [builds.wasm("portable_state"), "readonly"],
                                mounts=[f"{data}:/ro:ro"])
    assert rc == 0, out + err
    assert out == (f"write -1 {errno.EROFS}\ncreate -1 {errno.EROFS}\n"
                   f"unlink -1 {errno.EROFS}\nchmod -1 {errno.EROFS}\n"
                   f"via link -1 {errno.EROFS}\nread 0 read only\n")
    assert snapshot(data) == before


def test_permission_bits_hold_for_an_unprivileged_cage(builds, tmp_path):
    """Owner and other bits, directory search and write, the sticky bit, chmod by the
    owner only, exec without an execute bit: as Linux gives a non-root user."""
    root = make_root(tmp_path)
    nobody = 65534

    def put(path: str, mode: int, owner: int | None = None, directory: bool = False) -> None:
        target = root / path
        if directory:
            target.mkdir()
        else:
            target.write_text(path + "\n")
        target.chmod(mode)
        if owner is not None:
            os.chown(target, owner, owner)

    put("mine.txt", 0o000)
    put("theirs.txt", 0o644, nobody)
    put("secret.txt", 0o600, nobody)
    put("locked", 0o700, nobody, directory=True)
    put("locked/inside.txt", 0o644, nobody)
    put("shared", 0o755, nobody, directory=True)
    put("shared/f.txt", 0o644, nobody)
    put("tmp", 0o1777, nobody, directory=True)
    put("tmp/other.txt", 0o644, nobody)
    rc, out, err = run_portable(tmp_path, "perms", [builds.wasm("portable_perms")], root=root)
    assert rc == 0, out + err
    got = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in out.splitlines()}
    denied, refused, ok = (-1, errno.EACCES), (-1, errno.EPERM), (0, 0)
    assert got == {
        "read_own_0000": denied, "chmod_own": ok, "read_own_0600": ok,
        "read_theirs_0644": ok, "write_theirs_0644": denied, "read_secret_0600": denied,
        "chmod_theirs": refused, "access_secret": denied, "search_locked": denied,
        "create_in_shared": denied, "unlink_in_shared": denied,
        "unlink_sticky_theirs": refused, "create_in_tmp": ok, "unlink_sticky_own": ok,
        "exec_0644": denied}, out


def test_the_cli_runs_on_the_portable_back_end(builds, tmp_path):
    root = make_root(tmp_path)
    (root / "seed.txt").write_text("seed\n")
    rc, out, err = python(tmp_path, "cli", "import sys, lind.cli.main as m; sys.exit(m.main())",
                          "run", "--backend", "portable", "--root", str(root),
                          "--save", str(tmp_path / "out.zip"), "--",
                          str(builds.wasm("portable_state")), "write")
    assert rc == 0, err
    assert sorted(p.name for p in root.iterdir()) == ["seed.txt"]
    with zipfile.ZipFile(tmp_path / "out.zip") as z:
        assert z.read("data/note.txt") == b"note: saved\n"
        assert z.read("seed.txt") == b"seed\n"
    # Inside --isolate's new root too, the saved files reach the host (no silent loss).
    rc, _, err = python(tmp_path, "cli-iso", "import sys, lind.cli.main as m; sys.exit(m.main())",
                        "run", "--isolate", "--backend", "portable",
                        "--root", str(tmp_path / "out.zip"), "--save", str(tmp_path / "again.zip"),
                        "--", str(builds.wasm("portable_state")), "check")
    assert rc == 0, err
    with zipfile.ZipFile(tmp_path / "again.zip") as z:
        assert z.read("data/note.txt") == b"note: saved\n"
    rc, _, err = python(tmp_path, "cli-bad", "import sys, lind.cli.main as m; sys.exit(m.main())",
                        "run", "--backend", "portable", "--root", str(root / "seed.txt"),
                        "--", str(builds.wasm("portable_state")), "write")
    assert rc == 2 and "neither a directory nor a zip archive" in err, err
    rc, _, err = python(tmp_path, "cli-save", "import sys, lind.cli.main as m; sys.exit(m.main())",
                        "run", "--root", str(root), "--save", str(tmp_path / "x.zip"),
                        "--", str(builds.wasm("portable_state")), "write")
    assert rc == 2 and "--save keeps the files of --backend portable" in err, err


# -- attacks --------------------------------------------------------------------

def plant_secret(tmp_path: Path) -> tuple[Path, Path]:
    """A root with links planted to a secret beside it (absolute, relative, to the
    directory above): what escape.c tries to read through."""
    root = make_root(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    os.symlink(secret, root / "abs_link")
    os.symlink("../secret.txt", root / "rel_link")
    os.symlink(str(tmp_path), root / "dir_link")
    return root, secret


def test_escapes_through_links_reach_nothing_outside_the_tree(builds, tmp_path, canary):
    """escape.c's eleven attempts (planted absolute, relative and directory links to a
    secret outside the root, links made in the cage, `..` past /, bad pointers) fail on
    the portable back end; the host root keeps only what was planted there."""
    root, secret = plant_secret(tmp_path)
    before = snapshot(root)
    rc, out, err = run_portable(tmp_path, "escape", [builds.wasm("escape"), secret], root=root)
    assert rc == 0, out + err
    assert "ESCAPED" not in out
    assert "tried=11 escaped=0" in out
    assert snapshot(root) == before
    assert secret.read_text() == "SECRET\n"
    untouched(canary)


def two_portable_trees(builds, tmp_path: Path, attacker: list) -> tuple[str, Path, Path]:
    """The attacker on the portable back end beside a host-back-end tenant in one Lind
    process; returns its output, its (unchanged) host root, and its tree as saved."""
    work = tmp_path / "trees"
    work.mkdir()
    root = make_root(tmp_path, "trees-root")
    spec = {"dir": str(work), "attacker": [str(a) for a in attacker],
            "tenant": [str(builds.wasm(attack("tenant"))), "1500"],
            "tenant_root": str(make_root(tmp_path, "trees-tenant-root")),
            "attacker_root": str(root), "attacker_portable": True}
    rc, out, err = python(tmp_path, "trees", TWO_TREES, json.dumps(spec))
    assert rc == 0, err[-2000:]
    status = json.loads(out.splitlines()[-1])
    assert (work / "tenant.out").read_text().startswith("intact")
    assert status["tenant"] == 0 and status["attacker_host_root"] == []
    return (work / "attacker.out").read_text(errors="replace"), root, work / "attacker-tree"


def test_a_saved_tree_holds_no_set_id_program(builds, tmp_path, canary):
    """set_ids.c on the portable back end: in its tree the cage's files keep the modes
    it gave them, as Linux shows a user's own; saved to a host directory, none is
    set-user-ID and only directories are set-group-ID (Lind may run as root)."""
    out, root, saved = two_portable_trees(builds, tmp_path, [builds.wasm(attack("set_ids")),
                                                             canary])
    seen = dict(line.split()[1:] for line in out.splitlines() if line.startswith("mode "))
    assert seen["/open"] == "6755" and seen["/chmod"] == "6755", out
    for path in saved.rglob("*"):
        mode = path.lstat().st_mode
        assert not mode & stat.S_ISUID, f"{path}: {oct(mode)}"
        assert stat.S_ISDIR(mode) or not mode & stat.S_ISGID, f"{path}: {oct(mode)}"
    assert stat.S_IMODE((saved / "open").stat().st_mode) == 0o755
    assert (saved / "open").read_bytes().startswith(b"\x7fELF")
    assert list(root.iterdir()) == []
    untouched(canary)


def test_a_tree_nested_past_path_max_is_not_saved(builds, tmp_path, canary):
    """A cage on the portable back end nested directories 5,000 deep (a tree has no
    PATH_MAX): saved to a zip, every name went into the archive and its index in the
    host's memory, n names n long (~100 MB here, gigabytes deeper). Such a name is
    ENAMETOOLONG now, as a save to a directory finds it: the run says so and fails,
    and the zip that was there stays as it was."""
    saved = tmp_path / "saved.zip"
    saved.write_bytes(b"the last save")
    rc, out, err = lind_cli(tmp_path, "deep", "--backend", "portable", "--save", saved,
                            builds.wasm(attack("deep_tree")), "5000", canary,
                            env=dict(os.environ, LIND_NO_SERVER="1"), timeout=300)
    assert rc == 125 and out == "made 5000\n", (rc, out, err)
    assert "File name too long" in err and "PATH_MAX" in err, err
    assert saved.read_bytes() == b"the last save"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lind-save-")] == []
    untouched(canary)


def test_a_root_a_cage_nested_deep_loads_into_a_tree(builds, tmp_path, canary):
    """A cage on the host back end nested its root 1,500 deep; a later run of the same
    root on the portable back end read it into its tree recursively and failed with
    RecursionError ("internal error"). It loads now, each entry opened in its own
    directory, links copied as links (the one to the canary is not followed)."""
    root = make_root(tmp_path)
    program = builds.wasm(attack("deep_tree"))
    rc, out, _ = run_cage(tmp_path, "host", [program, "1500", canary], root=root)
    assert (rc, out) == (0, "made 1500\n")
    rc, out, err = run_cage(tmp_path, "filled", [program, "1", canary], root=root,
                            backend="portable")
    assert (rc, out) == (1, f"stopped at 0 {errno.EEXIST}\n"), err
    tree = Tree().load(root)
    rc, out, err = run_cage(tmp_path, "tree", [program, "1", canary], root=tree,
                            backend="portable")
    assert (rc, out) == (1, f"stopped at 0 {errno.EEXIST}\n"), err
    bottom = "/d" * 1500
    assert tree.find(bottom + "/to_canary", follow=False).node.target == str(canary)
    assert isinstance(tree.find("/d" * 1499 + "/file").node, File)
    untouched(canary)
    subprocess.run(["rm", "-rf", root], check=True)   # (pytest's own removal recurses)


def test_creating_through_dangling_links_stays_in_the_tree(builds, tmp_path, canary):
    """dangling_create.c's links aimed at the canary (relative, by its host path), at a
    tenant's tree and through chains: what is created lands in the tree, never on the
    host; 46 links are ELOOP as on Linux."""
    out, root, saved = two_portable_trees(builds, tmp_path, [
        builds.wasm(attack("dangling_create")), tmp_path / "canary.txt", "trees-tenant-root"])
    got = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert got["long0"] == ["-1", str(errno.ELOOP)], out
    for name in ("up", "hop1", "long10"):
        assert got[name] == ["0", "0"], out
    for name in ("absolute", "tenant"):
        assert got[name] == ["-1", str(errno.ENOENT)], out
    untouched(canary)
    assert list(root.iterdir()) == []
    assert not (tmp_path / "trees-tenant-root" / "victim.txt").exists()
    made = {p.relative_to(saved).as_posix() for p in saved.rglob("*")
            if p.is_file() and not p.is_symlink()}
    assert made == {"canary.txt", "long45"}, made


def test_escape_more_beside_a_tenant(builds, tmp_path, canary):
    """escape_more.c (/proc's links to roots and working directories, links swapped by
    a forked child while it opens them) finds no way out of a tree."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET\n")
    out, root, _ = two_portable_trees(builds, tmp_path,
                                      [builds.wasm(attack("escape_more")), secret])
    assert "escaped=0" in out and "ESCAPED" not in out, out
    untouched(canary)


def test_a_cage_cannot_fill_the_hosts_memory_through_the_tree(builds, tmp_path, canary):
    """Writes, sparse writes far out, truncate and fallocate past the tree's capacity
    are ENOSPC (the host process would otherwise grow without bound); removing the
    file gives the room back."""
    rc, out, err = run_portable(tmp_path, "fill", [builds.wasm("portable_state"), "fill"],
                                root=make_root(tmp_path), grates=["imfs:/small,size=1M"])
    assert rc == 0, out + err
    got = dict(line.split(" ", 1) for line in out.splitlines())
    room = (1 << 20) - 2 * (NAME_CHARGE + NODE_CHARGE)     # the two files' names and nodes
    assert got["big_write"] == f"-1 {errno.ENOSPC} after {room}", out
    assert got["far_pwrite"] == f"-1 {errno.ENOSPC}"
    assert got["ftruncate"] == f"-1 {errno.ENOSPC}"
    assert got["fallocate"] == f"-1 {errno.ENOSPC}"
    assert got["after_unlink"] == "4096"
    untouched(canary)


def _host_bytes(tree: Tree) -> int:
    """What a tree's nodes, names and listings hold of the host's memory (Python's own
    sizes of each object), the bytes of its files and links included."""
    def own(obj) -> int:
        return sys.getsizeof(obj) + (sys.getsizeof(obj.__dict__) if hasattr(obj, "__dict__")
                                     else 0)
    total, todo = 0, [tree.root]
    while todo:
        node = todo.pop()
        total += own(node)
        if isinstance(node, File):
            total += sys.getsizeof(node.data)
        elif isinstance(node, Symlink):
            total += sys.getsizeof(node.target)
        elif isinstance(node, Dir):
            listing = node.listing
            total += sys.getsizeof(node.entries) + own(listing)
            total += sys.getsizeof(listing.cookies) + sys.getsizeof(listing._keys)
            total += sys.getsizeof(listing._names)
            total += sum(sys.getsizeof(n) for n in listing._names if n is not None)
            total += sum(sys.getsizeof(k) for k in listing._keys)
            todo.extend(node.entries.values())
    return total


@pytest.mark.parametrize("backend", ["portable", "cooperative"])
def test_names_cost_the_host_no_more_than_the_tree_charges(builds, tmp_path, canary, backend):
    """name_churn.c: directories until ENOSPC, in each 16 files of 255-byte names made and
    removed. A tree of 2 MiB held ~16 times that of the host (a directory cost ~1.1 KB
    and was charged 256; its listing kept the removed names and its dict their room,
    charged nothing: 64 such names in each of 5,000 directories held 100 MB for 1 MB
    charged, and a 1 GiB tree could hold tens of GB). Now a name and a node are
    charged what they hold, and removed names leave no more than a few slots behind."""
    tree = Tree(capacity=2 << 20)
    run = run_portable if backend == "portable" else run_cage
    kw = {} if backend == "portable" else {"backend": "cooperative"}
    rc, out, err = run(tmp_path, "churn", [builds.wasm(attack("name_churn")), "16"],
                       root=tree, timeout=120, **kw)
    assert rc == 0 and out.split()[-1] == str(errno.ENOSPC), (out, err)
    assert _host_bytes(tree) <= tree.capacity, (out, _host_bytes(tree), tree.used)
    untouched(canary)


@pytest.mark.parametrize("backend", ["host", "portable", "cooperative"])
def test_open_directories_hold_no_copy_of_their_listing(builds, tmp_path, canary, backend):
    """dir_listings.c: 20,000 names in /d, opened 250 times and read a little. Each
    open directory kept a copy of the whole listing in the host (~637 MiB here on the
    portable back end, ~407 MiB on the cooperative runtime, ~790 MiB on the host back
    end, which read the host's directory whole; 200,000 names opened 80 times took
    1.7 GB under --memory 256M), and the cooperative runtime's one
    getdents64 grew its answer record by record (quadratic, unbounded). Now an fd keeps
    where it got to and pages through the directory itself, DIRENTS_MAX bytes a call
    at most; a listing still sees every name, one added part way through, and an
    lseek to a d_off goes on from there."""
    rc, out, err = python(tmp_path, "listings", _LIND_MAX_RSS, "run", "--backend", backend,
                          "--root", make_root(tmp_path), "--memory", "256M", "--timeout", "50",
                          builds.wasm(attack("dir_listings")), "20000", "250")
    assert rc == 0, (out, err)
    got = dict(line.split() for line in out.splitlines())
    assert got["opened"] == "250", out
    assert 0 < int(got["one_call_bytes"]) <= DIRENTS_MAX, out
    assert got["entries"] == str(20000 + 4), out      # ".", "..", f, the links, late
    assert got["after_seek"] == str(20000 + 4 - 6), out
    assert int(err.split("max_rss_mib ")[1]) < 250, err
    untouched(canary)


def test_dots_in_a_path_are_checked_in_one_walk(builds, tmp_path, canary):
    """deep_dots.c: a working directory 30,000 deep (cheap to make with renames), then
    one stat of "y/../" 800 times. Each directory a `..` steps out of was resolved from
    the root through the whole working directory (~20 s of one handler here, past the
    run's --timeout, and it went on after the run was killed; depth 50,000 took ~68 s).
    Now one walk from the start directory checks them all: the run ends well within
    its timeout, and a `..` out of a missing name is still ENOENT."""
    rc, out, err = lind_cli(tmp_path, "dots", "--backend", "portable", "--root",
                            make_root(tmp_path), "--timeout", "10",
                            builds.wasm(attack("deep_dots")), "30000", "800",
                            env=dict(os.environ, LIND_NO_SERVER="1"))
    assert rc == 0, (out, err)
    assert out.splitlines()[-2:] == ["stat 0 0", f"missing -1 {errno.ENOENT}"], out
    untouched(canary)


def test_a_saved_tree_writes_a_linked_file_once(builds, tmp_path, canary):
    """save_links.c: 2 MiB of random bytes and 40 more names of them. --save wrote the
    bytes once a name (82 MB on disk here; a 20 MB file of 50 names made 1 GB, after
    the run, outside its --timeout). A directory save makes the later names hard links
    of the first; a zip, which has none, refuses (EFBIG) once its names would hold more
    than the tree's capacity, leaving the last archive as it was."""
    saved = tmp_path / "saved"
    rc, out, err = lind_cli(tmp_path, "links", "--backend", "portable", "--root",
                            make_root(tmp_path), "--save", saved,
                            builds.wasm(attack("save_links")), "2", "40",
                            env=dict(os.environ, LIND_NO_SERVER="1"))
    assert (rc, out) == (0, "done 40\n"), err
    names = sorted((saved / "h").iterdir())
    assert len(names) == 41
    inodes = {p.stat().st_ino: p.stat().st_blocks * 512 for p in names}
    assert len(inodes) == 1 and sum(inodes.values()) < 3 << 20, inodes
    assert (saved / "h" / "l39").read_bytes() == (saved / "h" / "f").read_bytes()
    tree = Tree(capacity=16 << 20)
    rc, out, err = run_portable(tmp_path, "zip", [builds.wasm(attack("save_links")), "2", "40"],
                                root=tree)
    assert (rc, out) == (0, "done 40\n"), err
    archive = tmp_path / "saved.zip"
    archive.write_bytes(b"the last save")
    with pytest.raises(OSError) as exc:
        tree.save(archive)
    assert exc.value.errno == errno.EFBIG
    assert archive.read_bytes() == b"the last save"
    small = Tree(capacity=16 << 20)
    rc, out, err = run_portable(tmp_path, "few", [builds.wasm(attack("save_links")), "2", "3"],
                                root=small)
    assert (rc, out) == (0, "done 3\n"), err
    small.save(archive)
    again = Tree().load(archive)
    assert again.lookup("/h/l2").data == small.lookup("/h/f").data
    untouched(canary)


def test_rename_keeps_the_sticky_bit_and_a_moved_directory_s_owner(builds, tmp_path, canary):
    """sticky_rename.c as an unprivileged cage: in a 1777 /tmp of another user's, a
    rename over another user's file and of another user's directory out of it
    succeeded (the sticky bit held for unlink only), as did moving a directory the cage
    may not write to another parent. Linux: EPERM, EPERM, EACCES."""
    root = make_root(tmp_path)
    nobody = 65534
    for path, mode in (("tmp", 0o1777), ("tmp/vdir", 0o777), ("open", 0o777),
                       ("open/theirs", 0o755)):
        (root / path).mkdir()
        (root / path).chmod(mode)
        os.chown(root / path, nobody, nobody)
    (root / "tmp" / "victim").write_text("theirs\n")
    (root / "tmp" / "victim").chmod(0o666)
    os.chown(root / "tmp" / "victim", nobody, nobody)
    rc, out, err = run_portable(tmp_path, "sticky", [builds.wasm(attack("sticky_rename"))],
                                root=root)
    assert rc == 0, out + err
    got = {line.split()[0]: tuple(line.split()[1:]) for line in out.splitlines()}
    refused, denied, ok = ("-1", str(errno.EPERM)), ("-1", str(errno.EACCES)), ("0", "0")
    assert got == {"replace_theirs": refused, "move_theirs_out": refused,
                   "rename_theirs": refused, "rename_own": ok, "dir_to_other_parent": denied,
                   "dir_same_parent": ok, "victim": ("theirs",)}, out
    untouched(canary)


def test_a_large_read_copies_a_file_once(builds, tmp_path, canary):
    """read_big.c: a 100 MiB file of the tree read by a readv of 1024 vectors (1 GiB
    asked for), a read and a pread of 0x7fffffff bytes. Each took the bytes asked for
    from the file twice in the host first (peak ~345 MiB here; a 900 MB file gave a
    cage under --memory 256M two more host copies of it). Now they go straight from
    the file into the cage's memory (~145 MiB), a buffer too small is EFAULT before
    anything is copied, and a read past the end is short."""
    rc, out, err = python(tmp_path, "read", _LIND_MAX_RSS, "run", "--backend", "portable",
                          "--root", make_root(tmp_path), "--memory", "256M",
                          builds.wasm(attack("read_big")), "100")
    assert rc == 0, (out, err)
    efault = f"-1 {errno.EFAULT}"
    assert out.splitlines() == [f"readv {100 << 20} 0", f"read {efault}", f"pread {efault}",
                                "tail 2 0"], out
    assert int(err.split("max_rss_mib ")[1]) < 250, err
    untouched(canary)


# -- the tree's own rules -------------------------------------------------------

def _tree_with(*paths: str) -> Tree:
    tree = Tree()
    for path in paths:
        found = tree.find(path.rstrip("/"))
        if path.endswith("/"):
            tree.new(found.parent, found.name, Dir, 0o755)
        else:
            tree.new(found.parent, found.name, File, 0o644, data=bytearray(b"x"))
    return tree


def test_links_resolve_inside_the_tree_only():
    tree = _tree_with("/a/", "/a/f")
    a = tree.lookup("/a")
    assert isinstance(a, Dir)
    tree.new(a, "up", Symlink, 0o777, target="../../../../a/f")
    tree.new(tree.root, "abs", Symlink, 0o777, target="/a/f")
    tree.new(tree.root, "self", Symlink, 0o777, target="self")
    tree.new(tree.root, "slash", Symlink, 0o777, target="/")
    assert tree.lookup("/a/up") is tree.lookup("/a/f")
    assert tree.lookup("/abs") is tree.lookup("/a/f")
    assert isinstance(tree.lookup("/abs", follow=False), Symlink)
    assert tree.lookup("/slash") is tree.root
    assert tree.lookup("/slash/a/f") is tree.lookup("/a/f")
    with pytest.raises(OSError) as exc:
        tree.lookup("/self")
    assert exc.value.errno == errno.ELOOP
    with pytest.raises(OSError) as exc:
        tree.lookup("/a/f/x")
    assert exc.value.errno == errno.ENOTDIR


def test_a_chain_of_exactly_the_limit_resolves():
    tree = _tree_with("/end")
    for i in range(MAX_LINK_HOPS):
        tree.new(tree.root, f"l{i}", Symlink, 0o777, target=f"l{i + 1}" if i + 1 < MAX_LINK_HOPS else "end")
    assert tree.lookup("/l0") is tree.lookup("/end")
    tree.new(tree.root, "one_more", Symlink, 0o777, target="l0")
    with pytest.raises(OSError) as exc:
        tree.lookup("/one_more")
    assert exc.value.errno == errno.ELOOP


def test_rename_keeps_link_counts_and_refuses_a_directory_into_itself():
    tree = _tree_with("/d/", "/d/sub/", "/e/")
    d = tree.lookup("/d")
    assert d.nlink == 3 and tree.root.nlink == 4
    tree.rename(tree.find("/d"), tree.find("/e/d"))
    assert tree.lookup("/e/d") is d and d.nlink == 3 and tree.lookup("/e").nlink == 3
    assert tree.root.nlink == 3
    with pytest.raises(OSError) as exc:
        tree.rename(tree.find("/e"), tree.find("/e/d/sub/x"))
    assert exc.value.errno == errno.EINVAL


def test_a_zip_bomb_given_as_root_is_refused_before_it_fills_the_host(builds, tmp_path, canary):
    """A zip a user was sent, given as --root: 7 MB of it declaring 1.5 GiB of zeros was
    read whole into the host's memory, twice over (a 2 MB one held 4 GB; a 10 MB one
    takes a host's 20), before the tree had a capacity to stop it. What its entries
    declare is checked first: past 100 times the archive's size (and 1 GiB) it is
    refused. An archive zipfile cannot read (a bad checksum, an encrypted entry) is a
    usage error, not "an internal error, a bug in Lind"."""
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z, \
            z.open("big", "w", force_zip64=True) as f:
        for _ in range(1536):
            f.write(bytes(1 << 20))
    program = builds.wasm("portable_state")
    for backend in ("portable", "cooperative"):
        rc, _, err = python(tmp_path, f"bomb-{backend}", _LIND_MAX_RSS, "run", "--backend",
                            backend, "--root", bomb, program, "check")
        assert rc == 2 and "a zip bomb?" in err, (backend, rc, err[-2000:])
        assert int(err.split("max_rss_mib ")[1]) < 300, err
    with pytest.raises(ValueError, match="more than the tree's capacity"):
        Tree(capacity=64 << 20).load(bomb)       # read no further than its room
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("f.txt", b"hello, world")
    data = bad.read_bytes()
    bad.write_bytes(data.replace(b"hello, world", b"jello, world", 1))
    rc, _, err = lind_cli(tmp_path, "badcrc", "--backend", "portable", "--root", bad, program,
                          "check")
    assert rc == 2 and "not a zip archive Lind can read" in err, (rc, err)
    # an encrypted entry (flag bit 0), one of a compression zipfile lacks (99: AES): the
    # flag and method of the local header (offsets 6, 8) and the central one (8, 10)
    for tag, at, value, why in (("encrypted", (6, 8), 1, "an encrypted entry"),
                                ("method", (8, 10), 99, "compression method")):
        odd = bytearray(data)
        central = odd.rfind(b"PK\x01\x02")
        for start, offset in ((0, at[0]), (central, at[1])):
            odd[start + offset:start + offset + 2] = value.to_bytes(2, "little")
        bad.write_bytes(bytes(odd))
        rc, _, err = lind_cli(tmp_path, tag, "--backend", "portable", "--root", bad, program,
                              "check")
        assert rc == 2 and "not a zip archive Lind can read" in err and why in err, (rc, err)
    untouched(canary)


_TREE_MAX_RSS = r"""
import sys
import lind
from lind.portable import Tree
tree = Tree(capacity=int(sys.argv[1]))
result = lind.run(sys.argv[2:], root=tree, backend="portable", timeout=60)
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
sys.stderr.write(f"max_rss_mib {peak >> 10} used {tree.used}\n")
sys.exit(result.returncode)
"""


@pytest.mark.parametrize("call", ["writev", "pwritev"])
def test_a_vectored_write_takes_no_more_of_the_host_than_the_tree_holds(
        builds, tmp_path, canary, call):
    """writev_alias.c: a 1 MiB buffer named 1,024 times by one writev or pwritev into
    a tree of 32 MiB. The portable back end joined the pieces into one host buffer
    first (1 GiB here; 1,024 times 64 MiB would be 64 GiB) before the capacity cut the
    write short. Now each piece goes straight into the file: the write stops at the
    capacity, a short count, and the host holds what the tree does."""
    rc, out, err = python(tmp_path, call, _TREE_MAX_RSS, str(32 << 20),
                          builds.wasm(attack("writev_alias")), "1", "1024",
                          *(["at"] if call == "pwritev" else []))
    assert rc == 0, (out, err)
    wrote = int(out.split()[1])
    assert 16 << 20 < wrote < 32 << 20, out
    assert int(err.split("max_rss_mib ")[1].split()[0]) < 300, err
    untouched(canary)


def test_a_zip_of_deep_names_takes_no_more_of_the_host_than_its_bound(
        builds, tmp_path, canary, monkeypatch):
    """Entries of no bytes whose names nest 32,000 deep: each made 32,000 directories
    (2.5 MB of such names made 640,000, 730 MB of the host), and what a load takes was
    counted nowhere while the tree had no capacity yet. Loading counts it against what
    a zip may take (ZIP_RATIO times its size, ZIP_ROOM at least: 8 MiB here) and stops
    there; a cage then never runs."""
    monkeypatch.setattr(memfs, "ZIP_ROOM", 8 << 20)
    archive = tmp_path / "deep.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(4):
            z.writestr(f"{i}/" + "a/" * 32000 + "f", b"")
    assert archive.stat().st_size < 600_000
    with pytest.raises(ValueError, match="a zip bomb?"):
        run_portable(tmp_path, "deep", [builds.wasm("portable_state"), "check"], root=archive)
    untouched(canary)


def test_a_deep_saved_directory_replaced_by_a_file_is_removed_without_recursion(
        builds, tmp_path, canary):
    """deep_save.c: one run saves /a nested 2,000 deep (a file and a link to a second
    host tree at the bottom) to a directory; the next saves a file /a over it. The
    saved directory was removed with shutil.rmtree, which recursed past Python's limit:
    RecursionError out of lind.run, the save left half done. Now it is removed level
    by level, the link unlinked (what it names stays), and /a is the file."""
    other = make_root(tmp_path, "other")
    (other / "keep.txt").write_text("second tree\n")
    out = tmp_path / "out"
    program = builds.wasm(attack("deep_save"))
    rc, got, err = run_portable(tmp_path, "deep", [program, "make", "2000", other],
                                root=make_root(tmp_path), save=out, timeout=120)
    assert rc == 0 and got == "made 2000\n", (got, err)
    rc, got, err = run_portable(tmp_path, "file", [program, "file"],
                                root=make_root(tmp_path, "root2"), save=out)
    assert rc == 0 and got == "file 1\n", (got, err)
    assert (out / "a").is_file() and not (out / "a").is_symlink()
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    assert (other / "keep.txt").read_text() == "second tree\n"
    untouched(canary)


def test_a_root_s_hard_links_are_loaded_as_one_file(builds, tmp_path, canary):
    """A root directory (one a user was sent, say, unpacked from a tar) holding a 4 MiB
    file under 61 names: each name was loaded as a copy of its bytes (244 MiB of the
    host; 5 MB of 100 links filled 500 MB). Now the names are one file of the tree, as
    on the host: one inode, its link count, a write through one seen through another;
    the root itself stays as it was."""
    root = make_root(tmp_path)
    (root / "f").write_bytes(b"A" + os.urandom((4 << 20) - 1))
    for i in range(60):
        os.link(root / "f", root / f"l{i}")
    tree = Tree().load(root)
    assert tree.used < 8 << 20, tree.used
    rc, out, err = run_portable(tmp_path, "linked", [builds.wasm(attack("linked_root")),
                                                     "/l7", "/f"], root=tree)
    assert (rc, out) == (0, "same_ino 1 nlink 61 seen Z\n"), (out, err)
    assert (root / "f").read_bytes()[:1] == b"A"
    untouched(canary)


def test_names_that_are_not_utf8_save_to_a_zip_and_come_back(builds, tmp_path, canary):
    """odd_names.c: a cage names a file b"caf\\xe9". Saving the tree as a zip raised
    UnicodeEncodeError (zipfile takes only names it can write as UTF-8): nothing of the
    run was saved, in the browser page the kept files too. The name is kept as its
    bytes (no UTF-8 flag, as Info-ZIP's zip keeps one), and a Unix entry without the
    flag is read as its bytes, as unzip reads it: both names come back."""
    program = builds.wasm(attack("odd_names"))
    saved = tmp_path / "saved.zip"
    rc, out, err = run_portable(tmp_path, "write", [program, "write"],
                                root=make_root(tmp_path), save=saved)
    assert rc == 0, (out, err)
    with zipfile.ZipFile(saved) as z:
        assert "na\u00efve" in z.namelist()
    for backend in ("portable", "cooperative"):
        rc, out, err = run_cage(tmp_path, f"check-{backend}", [program, "check"], root=saved,
                                backend=backend)
        assert (rc, out) == (0, "latin-1\nutf-8\n"), (backend, out, err)
    untouched(canary)


def test_removed_fifos_and_socket_names_leave_no_host_names(builds, tmp_path, canary):
    """fifo_churn.c: 300 times a FIFO made, opened and removed, a Unix socket bound and
    its name removed (renamed over by a FIFO, then that removed). Each stood for a
    host FIFO or socket in the run's private root, which stayed when the name went:
    20,000 rounds left 20,000 host FIFOs, as many inodes of the host's file system,
    the tree charging none of them. Now the host name goes with the last tree name."""
    from lind.microvisor.fs import _private_home

    tree = Tree()
    scratch = Scratch(tmp_path, "churn")
    fin, fout, ferr = scratch.open()
    with fin, fout, ferr:
        r, w = os.pipe()
        with lind.Popen([builds.wasm(attack("fifo_churn")), "300"], root=tree, stdin=r,
                        stdout=fout, stderr=ferr, backend="portable") as cage:
            os.close(r)
            try:
                for _ in range(600):
                    if "done" in scratch.out.read_text() or cage.poll() is not None:
                        break
                    time.sleep(0.1)
                left = [p for p in Path(_private_home() or tempfile.gettempdir()).glob(
                    f"*/.lind-*-{tree.device:x}-*")]
            finally:
                os.write(w, b"\n")
                os.close(w)
            assert cage.wait(60) == 0
    out, err = scratch.text()
    assert out == "done 300\n", (out, err)
    assert left == [], left[:5]
    untouched(canary)


def test_zip_entries_cannot_climb_out_of_the_tree(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../outside.txt", "no")
        z.writestr("/abs/inside.txt", "yes")
        z.writestr("ok/./fine.txt", "yes")
    tree = Tree().load(archive)
    assert sorted(p for p, _ in tree.walk()) == ["/abs", "/abs/inside.txt", "/ok", "/ok/fine.txt"]
    tree.save(tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
    with pytest.raises(ValueError, match="neither a directory nor a zip"):
        Tree().load(archive.with_suffix(".txt"))


@pytest.mark.parametrize("backend", ["portable", "cooperative"])
def test_a_save_lind_cannot_write_names_where(builds, tmp_path, backend):
    """--save into a directory that is not there: one line naming the target (it said
    only 'lind: No such file or directory'), and a status that is not the program's."""
    target = tmp_path / "missing" / "after.zip"
    done = subprocess.run([sys.executable, "-m", "lind", "run", "--backend", backend,
                           "--save", str(target), builds.wasm("args_env")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == (f"lind: cannot save the files to {target}: "
                           "No such file or directory\n")
