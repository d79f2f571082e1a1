"""The class grader's sandbox: what the machine allows, and running a
submission's command in it (through tests/sandbox, which calls bubblewrap).

Each command runs as a user of its own (uid 61000 and up), who can touch
nothing of another's and whose limit on processes holds (root ignores it);
in bubblewrap: of the machine only the system, read-only, and of the lab
only what grades a lesson (no answers, no class, no output); no network,
its own PID namespace (when it ends, everything it started ends), its own
/tmp and /dev/shm; with a private work directory, a tmpfs of limited size;
under limits on processes, CPU time, memory, file size and a wall clock; and
in cgroups of its own, where the machine has them, for memory and processes
as a whole.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence, TextIO

from . import processes
from .common import LabError

FIRST_UID = 61000       # the users of the gradings in slot 0; slot k's are k * SLOT_UIDS on
SLOT_UIDS = 100_000     # (in each slot: its jobs' users first, then its unpackers')
SLOTS = 4               # classes graded at once on one machine; one more waits for a slot
LEFTOVER_PATIENCE = 120.0   # seconds an earlier job's tasks get to go before the next of its
                            # user or cgroup starts (a fork bomb's 1200, killed at load 50+)
PROBE_UID = FIRST_UID + SLOTS * SLOT_UIDS   # tries the sandbox: no slot's, so no grading kills it
MIB = 1024 * 1024
WEAK_NOTE = ("WEAK SANDBOX: graded without bubblewrap or a user of its own (SANDBOX=weak); "
             "only time and resource limits applied")
PLATFORM_NOTE = ("Graded in the course platform's own container for this submission "
                 "(shmlab's own sandbox not used)")
TRIAL_NOTE = ("LOCAL TRIAL of the Gradescope autograder (AUTOGRADER_ROOT): no container, no "
              "sandbox; for trusted submissions only")


@dataclass(frozen=True)
class Limits:
    wall: int           # seconds to build and test one lesson of one submission
    cpu: int            # CPU seconds, per process
    nproc: int          # processes, per sandbox
    mem_mb: int         # memory: per process (and per sandbox with cgroups)
    fsize_mb: int       # the largest file it may write
    disk_mb: int        # its work directory
    shm_mb: int         # its /dev/shm and its /tmp, each

    def env(self) -> dict[str, str]:
        """As tests/sandbox reads them."""
        return {"WALL": str(self.wall), "CPU": str(self.cpu), "NPROC": str(self.nproc),
                "MEM_MB": str(self.mem_mb), "FSIZE_MB": str(self.fsize_mb),
                "SHM_MB": str(self.shm_mb)}


@dataclass(frozen=True)
class Cgroups:
    """Where each job gets cgroups of its own: one tree (v2), a tree per
    controller (v1), or none, when only per-process limits hold. Where the
    machine has the cpu controller, a job's processes, however many, share
    one job's part of the CPU: a submission that spins a thousand processes
    cannot starve the classmates graded beside it."""
    version: str                # "v2", "v1" or "none"
    parents: tuple[Path, ...]   # v2: one directory; v1: memory's, cpu's if any, then pids'

    def make(self, name: str, limits: Limits) -> tuple[Path, ...]:
        """The job's cgroups, with the sandbox's limits; none if they cannot be made."""
        memory, procs = str(limits.mem_mb * MIB), str(limits.nproc)
        if self.version == "v2":
            make_dirs(self.parents[0])
            _write(self.parents[0] / "cgroup.subtree_control", "+memory +pids")
            _write(self.parents[0] / "cgroup.subtree_control", "+cpu")  # where there is one
            files = [{"memory.max": memory, "pids.max": procs}]
        elif self.version == "v1":
            files = [{"memory.limit_in_bytes": memory}, *([{}] * (len(self.parents) - 2)),
                     {"pids.max": procs}]   # cpu: its default share, a process's
        else:
            return ()
        dirs = tuple(parent / name for parent in self.parents)
        # A job of this name before (a fork bomb's, still dying on a loaded machine)
        # must be gone: its tasks would count against this job's limit. A right
        # lesson 01, beside one, had its 281st fork refused.
        self.remove(dirs, patience=LEFTOVER_PATIENCE)
        for d, settings in zip(dirs, files):
            if not (make_dirs(d) and all(_write(d / f, v) for f, v in settings.items())):
                self.remove(dirs)
                return ()
        return dirs

    def share_cpu(self) -> bool:
        """Whether each job gets a part of the CPU of its own (the cpu controller)."""
        if self.version == "v2":
            return "cpu" in read_text(self.parents[0] / "cgroup.subtree_control").split()
        return self.version == "v1" and len(self.parents) == 3

    def remove(self, dirs: Sequence[Path], patience: float = 2.5) -> None:
        """Kills whatever is left in the job's cgroups, and removes them, giving
        its tasks PATIENCE seconds to go."""
        if not dirs:
            return
        procs = dirs[-1] / "cgroup.procs"   # v1: pids' tree holds every process too
        until = time.monotonic() + patience
        while time.monotonic() < until:
            pids = read_text(procs).split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            time.sleep(0.05)
        # A cgroup goes once its last task has (a moment after it is killed).
        for _ in range(40):
            for d in dirs:
                try:
                    d.rmdir()
                except OSError:
                    pass
            if not any(d.exists() for d in dirs):
                break
            time.sleep(0.05)

    def forks_refused(self, dirs: Sequence[Path]) -> int:
        """How often a fork in the job's cgroups failed at its limit on processes."""
        if not dirs:
            return 0
        found = re.search(r"^max (\d+)$", read_text(dirs[-1] / "pids.events"), re.MULTILINE)
        return int(found.group(1)) if found else 0

    def leftovers(self) -> list[Path]:
        """Jobs' cgroups still there (for the project's tests)."""
        return [d for parent in self.parents if parent.is_dir() for d in parent.iterdir()
                if d.name.startswith("shmlab-")]


def find_cgroups() -> Cgroups:
    """The cgroups this machine lets us make: v2 at the root of the one tree
    (its rule against processes in inner groups rules out our own group), v1
    under this process's own groups, so that its jobs count against its limits."""
    root = Path("/sys/fs/cgroup")
    controllers = read_text(root / "cgroup.controllers").split()
    if os.access(root / "cgroup.procs", os.W_OK) and {"memory", "pids"} <= set(controllers):
        return Cgroups("v2", (root / "shmlab-class",))
    own = {}
    for line in read_text(Path("/proc/self/cgroup")).splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(","):
            own[name] = path.lstrip("/")
    parents = tuple(root / c / own.get(c, "") for c in ("memory", "cpu", "pids"))
    if all(os.access(p / "cgroup.procs", os.W_OK) for p in parents):
        return Cgroups("v1", parents)
    parents = parents[::2]  # no cpu controller to write to: memory and pids alone
    if all(os.access(p / "cgroup.procs", os.W_OK) for p in parents):
        return Cgroups("v1", parents)
    return Cgroups("none", ())


class Running:
    """The sandboxes running now, so that an interrupt can stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._stopping = False

    def run(self, argv: list[str], env: Mapping[str, str], cwd: Path, output: Path) -> int | None:
        """Runs ARGV, its output into OUTPUT; its exit status, or None once stopping."""
        with output.open("wb") as f, self._lock:
            if self._stopping:
                return None
            proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=subprocess.STDOUT)
            self._procs.add(proc)
        try:
            status = proc.wait()
            with self._lock:
                # Stopped by an interrupt: it has no grade to give (an outsider
                # found a right lesson's verdict "FAIL the tests gave no results").
                return None if self._stopping else status
        except BaseException:   # interrupted while waiting: it stops too
            proc.terminate()
            raise
        finally:
            with self._lock:
                self._procs.discard(proc)

    def stop(self) -> None:
        """No sandbox starts any more; those running are stopped (tests/sandbox
        runs `timeout`, which passes the signal on)."""
        with self._lock:
            self._stopping = True
            for proc in self._procs:
                proc.terminate()


@dataclass(frozen=True)
class Sandbox:
    kind: str           # "bwrap" (shmlab's own), "weak" or "platform"
    note: str           # said in every report when it is not shmlab's own
    cgroups: Cgroups
    limits: Limits
    lab: Path           # the lab's root: what grades a lesson at /tmp/lab, read-only
    objects: Path       # the lab's compiled side: at /tmp/lab-objects, read-only
    hide: tuple[Path, ...] = ()  # the class and the output: out of sight, wherever they lie

    @property
    def own(self) -> bool:
        return self.kind == "bwrap"

    # Where a sandboxed command finds its work directory, the lab and its objects.
    def inside(self, work: Path) -> Path:
        return Path("/tmp/grading") if self.own else work

    @property
    def lab_inside(self) -> Path:
        return Path("/tmp/lab") if self.own else self.lab

    @property
    def objects_inside(self) -> Path:
        return Path("/tmp/lab-objects") if self.own else self.objects

    def run(self, running: Running, uid: int, work: Path, command: list[str], output: Path,
            cgroups: Sequence[Path] = ()) -> int | None:
        """Runs COMMAND as UID, sandboxed, WORK at inside(WORK), its output
        into OUTPUT; its exit status (124: out of time), or None if stopped."""
        env = {**os.environ, **self.limits.env(), "SANDBOX": "" if self.own else self.kind,
               "CGROUPS": " ".join(str(d) for d in cgroups),
               "HIDE": "\n".join(str(d) for d in self.hide)}
        argv = [str(self.lab / "tests" / "sandbox"), str(uid), str(work), str(self.lab),
                str(self.objects), "--", *command]
        return running.run(argv, env, self.lab, output)

    def make_workdir(self, d: Path, uid: int) -> bool:
        """A private work directory: a tmpfs of DISK_MB owned by UID (a plain
        directory without shmlab's sandbox)."""
        if not make_dirs(d):
            return False
        if not self.own:
            chown_tree(d, uid)
            return True
        return _quiet(["mount", "-t", "tmpfs", "-o",
                       f"size={self.limits.disk_mb}m,mode=0700,uid={uid},gid={uid}",
                       "tmpfs", str(d)])

    def drop_workdir(self, d: Path) -> None:
        if self.own:
            _quiet(["umount", "-l", str(d)])
        shutil.rmtree(d, ignore_errors=True)


def detect(kind: str, limits: Limits, lab: Path, objects: Path, hide: tuple[Path, ...],
           err: TextIO) -> Sandbox:
    """The sandbox this machine allows; a LabError if it allows none and
    KIND (SANDBOX) does not say to grade without shmlab's own."""
    if kind == "platform":
        # run_autograder outside Gradescope (AUTOGRADER_ROOT): there is no container.
        note = TRIAL_NOTE if os.environ.get("AUTOGRADER_ROOT") else PLATFORM_NOTE
        return Sandbox("platform", note, Cgroups("none", ()), limits, lab, objects, hide)
    if kind == "weak":
        print(f"class: {WEAK_NOTE}", file=err)
        return Sandbox("weak", WEAK_NOTE, Cgroups("none", ()), limits, lab, objects, hide)
    if os.geteuid() != 0:
        raise LabError("grading a class needs root, to run each submission as a user of its "
                       "own (a limit on processes does not hold for root); run as root, or "
                       "SANDBOX=weak for a weaker sandbox")
    for tool in ("bwrap", "setpriv", "prlimit", "timeout", "mount", "pkill", "ps"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is missing (tests/deps class installs it)")
    tried = subprocess.run(
        ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--ro-bind", "/", "/",
         "--dev", "/dev", "--proc", "/proc", "--cap-add", "CAP_SETUID", "--cap-add",
         "CAP_SETGID", "--", "setpriv", "--reuid", str(PROBE_UID), "--regid", str(PROBE_UID),
         "--clear-groups", "true"], capture_output=True, check=False)
    if tried.returncode != 0:
        raise LabError("bubblewrap cannot make its namespaces here (are user namespaces off? "
                       "sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone); "
                       "SANDBOX=weak grades without it, and says so")
    cgroups = find_cgroups()
    if cgroups.version == "none":
        print("class: no writable cgroups here: memory and processes are limited per "
              "process and per user, not per sandbox", file=err)
    return Sandbox("bwrap", "", cgroups, limits, lab, objects, hide)


def wait_user_gone(uid: int, patience: float = LEFTOVER_PATIENCE) -> None:
    """Before a job runs as UID: every task of an earlier job of that user gone,
    zombies too, which count against its limit on processes (RLIMIT_NPROC) until
    they are reaped; killed, and given PATIENCE seconds."""
    until = time.monotonic() + patience
    while processes.user_tasks(uid) > 0 and time.monotonic() < until:
        _quiet(["pkill", "-9", "-U", str(uid)])
        time.sleep(0.1)


def kill_user(uid: int) -> None:
    """The sandbox's user may leave nothing running: everything of UID goes.
    (A zombie is not running: it waits for its parent, or init, to reap it.)"""
    for _ in range(40):
        states = subprocess.run(["ps", "-u", str(uid), "-o", "stat="], capture_output=True,
                                text=True, check=False).stdout.split()
        if all(s.startswith("Z") for s in states):
            return
        _quiet(["pkill", "-9", "-U", str(uid)])
        time.sleep(0.05)


def remove_files_of(uid: int, places: Sequence[Path] = (Path("/dev/shm"), Path("/tmp"))) -> None:
    """What UID left in the machine's own /dev/shm and /tmp: where a sandbox has none of
    its own (SANDBOX=weak), a submission's segments and files would stay there."""
    for place in places:
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                pass


def cleanup_mounts(out: Path) -> None:
    """Unmounts every work directory left under OUT (after an interrupt, say)."""
    for line in read_text(Path("/proc/mounts")).splitlines():
        fields = line.split()
        if len(fields) > 1:
            # /proc/mounts writes a space as \040, and so on.
            where = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[1])
            if where.startswith(f"{out}/"):
                _quiet(["umount", "-l", where])


def job_uid(slot: int, seq: int) -> int:
    """The user job SEQ of the grading in SLOT runs as."""
    return FIRST_UID + slot * SLOT_UIDS + seq % (SLOT_UIDS // 2)


def unpacker_uid(slot: int, n: int) -> int:
    """The user the Nth entry of the class in SLOT is unpacked as."""
    return FIRST_UID + slot * SLOT_UIDS + SLOT_UIDS // 2 + n % (SLOT_UIDS // 2)


def is_sandbox_uid(uid: int) -> bool:
    return FIRST_UID <= uid < FIRST_UID + SLOTS * SLOT_UIDS


def _slot_lock(slot: int) -> int:
    """An open descriptor of SLOT's lock file. (Only root switches users; the
    locks are where only root may write.)"""
    where = Path("/run") if os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    path = where / f"shmlab-class-slot-{slot}.lock"
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as e:
        raise LabError(f"cannot open {path}: {e.strerror}") from None


@contextmanager
def class_slot(warn: TextIO) -> Iterator[int]:
    """Holds one of the machine's SLOTS grading slots, and yields its number:
    gradings at once must not share their sandboxes' users (each kills
    everything its users run) nor their cgroups' names. With every slot
    taken, waits for one, and says so."""
    if os.geteuid() != 0:
        yield 0
        return
    fds = [_slot_lock(slot) for slot in range(SLOTS)]
    try:
        said = False
        began = time.monotonic()
        while True:
            for slot, fd in enumerate(fds):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                if said:
                    print(f"class: a slot is free after {time.monotonic() - began:.0f} s of "
                          "waiting: grading", file=warn, flush=True)
                else:
                    # Any other slot taken, not only a lower one: an outsider's second
                    # grading got slot 1, freed a moment before, and said nothing.
                    others = sum(_held_by_another(other) for other in fds if other != fd)
                    if others:
                        print(f"class: {_others(others)} being graded on this machine: "
                              f"graded beside {'it' if others == 1 else 'them'}, in slot "
                              f"{slot + 1} of {SLOTS}", file=warn, flush=True)
                yield slot
                return
            if not said:
                print(f"class: {SLOTS} classes are being graded on this machine already: "
                      "waiting for one of them to end", file=warn, flush=True)
                said = True
            time.sleep(1)
    finally:
        for fd in fds:
            os.close(fd)


def _held_by_another(fd: int) -> bool:
    """Whether another grading holds the slot whose lock is FD."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


def _others(n: int) -> str:
    return "another class is" if n == 1 else f"{n} other classes are"


@contextmanager
def no_class_being_graded() -> Iterator[None]:
    """Holds every slot, once each grading there has ended (for the project's
    tests, which look for what gradings left)."""
    if os.geteuid() != 0:
        yield
        return
    fds = [_slot_lock(slot) for slot in range(SLOTS)]
    try:
        for fd in fds:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


# ---- files a sandbox's user may have made ------------------------------------------

def read_plain(directory: Path, name: str, limit: int) -> bytes | None:
    """The first LIMIT bytes of DIRECTORY/NAME if both are what they seem: a
    directory and a plain file, neither a link (nor NAME a pipe or a device)."""
    try:
        d = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=d)
    except OSError:
        return None
    finally:
        os.close(d)
    with os.fdopen(fd, "rb") as f:
        return f.read(limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None


def real_dir(path: Path) -> bool:
    """A directory, not a link to one (a link could lead anywhere on the machine)."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def chown_tree(top: Path, uid: int) -> None:
    for d, dirs, files in os.walk(top):
        for name in [d, *(os.path.join(d, x) for x in dirs + files)]:
            try:
                os.chown(name, uid, uid, follow_symlinks=False)
            except OSError:
                pass   # not root (SANDBOX=weak): it stays ours


def make_dirs(d: Path) -> bool:
    try:
        d.mkdir(parents=True, exist_ok=True)
        return True
    except OSError:
        return False


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False


def _quiet(argv: list[str]) -> bool:
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0
