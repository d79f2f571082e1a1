"""Compiling a lesson: the lab's side once per version, the student's files per grade.

A lesson's programs are made from three places:
  - the student's editable files (lesson.files), from a workspace, starter/,
    solutions/ or a test variant: nothing else is ever taken from a student;
  - everything else of the lesson (its header, its demo) from starter/<lesson>/;
  - its Check suite tests/<lesson>.c and the harness tests/harness/.
The lab's side (suite, harness, what the build kind adds) is compiled once per
version of its files into an objects directory and reused: grading a class
compiles it once, not once per student.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .common import Lab, LabError
from .manifest import Lesson, Manifest

# C17 plus POSIX.1-2008; _DEFAULT_SOURCE adds what Linux has beyond it (MAP_ANONYMOUS).
CFLAGS = ("-std=c17", "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE",
          "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-gdwarf-4")
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer")
COMMON_INCLUDES = ("-Istarter/common", "-Istarter/common/manager", "-Itests/harness")
MODES = ("normal", "asan")
MISSING = "is missing (or not a plain file)"   # a student's file that is not there
EMPTY = "is empty"                             # ... or that holds nothing but blanks
# The fault injector's stand-ins (tests/harness/fault.c): the student's X is linked to lab_fault_X.
FAULT_PREFIX = "lab_fault_"
# The student's code section, renamed so the harness can tell a call site's line (lab.c).
STUDENT_TEXT = "lab_student_text"
# GCC moves cold code (error paths!) out of .text; kept in, every call site has its line.
KEEP_IN_TEXT = ("-fno-reorder-blocks-and-partition", "-fno-reorder-functions")

# Sections a lesson's object may make: code, data and what describes them;
# nothing the loader runs by itself (.init_array, .ctors, .init, .fini...).
ALLOWED_SECTION = (r"^\.(text|data|bss|rodata|tdata|tbss)([.].*)?$|^\.rela\.|"
                   r"^\.(comment|eh_frame|symtab|strtab|shstrtab|group|llvm_addrsig)$|"
                   r"^\.note\.(GNU-stack|gnu\.property)$|^\.debug_")
# Calls no lesson needs, and that could reach into the test program.
FORBIDDEN_CALLS = frozenset((
    "ptrace", "process_vm_readv", "process_vm_writev", "popen", "system",
    "execl", "execlp", "execle", "execv", "execvp", "execvpe", "execve", "execveat", "fexecve",
    "syscall",  # any of the above, by number
    "posix_spawn", "posix_spawnp", "dlopen", "dlsym", "dlvsym", "dlmopen"))


WAIT_POLL = 0.2   # seconds between looks at a lock another command holds


def warnings_allowed() -> bool:
    """make ... WERROR=0 (the Makefile passes it on as LAB_WERROR)."""
    return os.environ.get("LAB_WERROR", "") == "0"


@dataclass(frozen=True)
class Toolchain:
    """The compilers and Check's flags, read once from the environment."""
    cc: str
    race_cc: str
    check_cflags: tuple[str, ...]
    check_libs: tuple[str, ...]
    # make check WERROR=0: the student's own files build despite warnings (an
    # exercise's wrong fix often leaves an unused variable); the lab's never do.
    student_flags: tuple[str, ...] = ()

    @staticmethod
    def from_env() -> "Toolchain":
        def pkg(flag: str) -> tuple[str, ...]:
            try:
                done = subprocess.run(["pkg-config", flag, "check"], capture_output=True,
                                      text=True, check=False)
            except OSError as e:
                raise LabError(f"pkg-config: {e.strerror} (tests/deps installs it)") from None
            if done.returncode != 0:
                raise LabError("pkg-config cannot find Check (tests/deps installs it: "
                               "Debian's package check)")
            return tuple(done.stdout.split())
        return Toolchain(cc=os.environ.get("CC") or "cc",
                         race_cc=os.environ.get("RACE_CC") or "clang",
                         check_cflags=pkg("--cflags"), check_libs=pkg("--libs"),
                         student_flags=("-Wno-error",) if warnings_allowed() else ())

    def compiler(self, mode: str) -> list[str]:
        return [self.cc, *SANITIZE] if mode == "asan" else [self.cc]


@dataclass(frozen=True)
class LabObjects:
    """The lab's side of one lesson in one mode, compiled."""
    dir: Path
    flags: tuple[str, ...]       # link flags the build kind needs
    tests: tuple[str, ...]       # the suite's tests, as the suite itself lists them

    def objects(self, part: str) -> list[str]:
        return sorted(str(p) for p in (self.dir / part).glob("*.o"))


@dataclass(frozen=True)
class Built:
    ok: bool
    out: Path       # OUT/check (the suite), OUT/demo, OUT/build.log
    log: str        # why it did not build (compiler or policing messages)
    objects: LabObjects | None


def includes(lesson: Lesson) -> list[str]:
    return [f"-Istarter/{lesson.name}", *COMMON_INCLUDES]


HEAP_WRAP = "-Wl,--wrap=malloc,--wrap=free,--wrap=calloc,--wrap=realloc,--wrap=strdup," \
    "--wrap=strndup"


def _lab_sources(lab: Lab, lesson: Lesson, mode: str) -> tuple[list[str], list[str], tuple[str, ...]]:
    """The suite's sources, the build kind's extra sources, and its link flags."""
    tests, extras, flags = _kind_sources(lab, lesson, mode)
    return tests, extras, (*flags, HEAP_WRAP)


def _kind_sources(lab: Lab, lesson: Lesson, mode: str) -> tuple[list[str], list[str], tuple[str, ...]]:
    tests = [f"tests/{lesson.name}.c", "tests/harness/lab.c"]
    # Every lesson: the student's calls that can fail go through the fault injector,
    # and the heap's blocks are counted (a failure's path must free what it took).
    faults = ["tests/harness/fault.c", "tests/harness/heap.c"]
    if lesson.build == "race":
        # The amplifier needs the race build of the student's file (normal mode only).
        return tests, faults + (["tests/harness/amplify.c"] if mode == "normal" else []), ()
    if lesson.build == "kill":
        # A process can be made to die at any step of the student's code (its stores:
        # normal mode; its lock calls: every mode).
        return tests, faults + ["tests/harness/die_at.c"], ()
    if lesson.build == "crash":
        # shm_open can be made to kill its caller right after it creates a segment.
        return tests, faults + ["tests/harness/crash_shm_open.c"], ("-Wl,--wrap=shm_open",)
    if lesson.build in ("manager", "manager-plain"):
        # The manager, and (but for a lesson about speed) reads from it that pause
        # before they return.
        extras = sorted(f"starter/common/manager/{p.name}"
                        for p in (lab.root / "starter/common/manager").glob("*.c"))
        # The tests' help with a manager of their own for each scenario.
        # And a network that breaks on purpose (the demos use it too).
        tests = tests + ["tests/harness/lab_manager.c", "tests/harness/hosts.c"]
        extras = faults + ["tests/harness/fault_manager.c", "tests/harness/cut_proxy.c"] + extras
        if lesson.build == "manager-plain":
            return tests, extras, ()
        return tests, extras + ["tests/harness/amplify_manager.c"], (
            "-Wl,--wrap=mgr_get,--wrap=mgr_keys,--wrap=mgr_len,--wrap=mgr_call",)
    return tests, faults, ()


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()[:16]


def lab_stamp(lab: Lab, tc: Toolchain, lesson: Lesson, mode: str) -> str:
    """A hash of everything the lab's side of LESSON is built from (cheap: no compiling)."""
    tests, extras, flags = _lab_sources(lab, lesson, mode)
    headers = sorted(str(p.relative_to(lab.root)) for pattern in (
        "tests/harness/*.h", f"starter/{lesson.name}/*.h", "starter/common/*.h",
        "starter/common/manager/*.h") for p in lab.root.glob(pattern))
    starter = [f"starter/{lesson.name}/{f}" for f in lesson.files]
    parts = [" ".join([*tc.compiler(mode), tc.race_cc, *CFLAGS, *flags, *tc.check_cflags,
                       *tc.check_libs]).encode()]
    for path in [*tests, *extras, *headers, *starter, f"starter/{lesson.name}/main.c"]:
        parts.append(path.encode())
        parts.append(_read(lab.root / path))
    return _digest(parts)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise LabError(f"cannot read {path}: {e.strerror}") from None


def _run(lab: Lab, argv: list[str], log: list[str]) -> bool:
    """Runs a compiler or a binary tool in the lab's root; its messages go to LOG."""
    try:
        done = subprocess.run(argv, cwd=lab.root, capture_output=True, text=True,
                              errors="replace", check=False)
    except OSError as e:
        log.append(f"{argv[0]}: {e.strerror}")
        return False
    if done.stdout:
        log.append(done.stdout.rstrip("\n"))
    if done.stderr:
        log.append(done.stderr.rstrip("\n"))
    return done.returncode == 0


def _output(lab: Lab, argv: list[str]) -> str:
    done = subprocess.run(argv, cwd=lab.root, capture_output=True, text=True,
                          errors="replace", check=False)
    return done.stdout


def objects_root(lab: Lab) -> Path:
    return Path(os.environ.get("LAB_OBJECTS") or lab.build / "lab-objects")


def lab_objects(lab: Lab, tc: Toolchain, lesson: Lesson, mode: str) -> LabObjects:
    """The lab's side of LESSON in MODE, compiled if this version of it was not yet.

    A class's sandboxes (LAB_OBJECTS_PINNED) use what `prepare` compiled, even
    if the lab changed since. Raises LabError with the compiler's messages.
    """
    pin, done = _objects_paths(lab, tc, lesson, mode)
    if done is None:
        return _load_objects(objects_root(lab) / pin.read_text().strip())
    if not (done / "done").is_file():
        with held(done.with_name(f"{done.name}.lock")):
            # Whoever held it (a class graded at once, make grade beside it) may have compiled it.
            if not (done / "done").is_file():
                _compile_objects(lab, tc, lesson, mode, done)
    _pin(pin, done.name)
    if mode == "normal":
        _pin(objects_root(lab) / f"{lesson.name}-normal.tests", (done / "tests.txt").read_text())
    return _load_objects(done)


@contextmanager
def held(lock: Path, waiting: Callable[[], None] | None = None,
         check: Callable[[], None] | None = None) -> Iterator[None]:
    """LOCK's file locked for the block: one user of what it guards at a time
    (the lab's compiled side; a workspace's build of a lesson). If another
    holds it, WAITING is called first, then this waits its turn, calling
    CHECK every WAIT_POLL seconds if given (a thread cannot be interrupted
    in flock: CHECK raises to stop waiting, when its command is ending)."""
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise LabError(f"cannot open {lock}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            if check is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                while True:
                    check()
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        time.sleep(WAIT_POLL)
        yield
    finally:
        os.close(fd)


def lab_objects_ready(lab: Lab, tc: Toolchain, lesson: Lesson, mode: str = "normal") -> bool:
    """Whether the lab's side of LESSON in MODE is compiled already (if not,
    the next build of the lesson compiles it first, which takes a while)."""
    _, done = _objects_paths(lab, tc, lesson, mode)
    return done is None or (done / "done").is_file()


def _objects_paths(lab: Lab, tc: Toolchain, lesson: Lesson,
                   mode: str) -> tuple[Path, Path | None]:
    """Where the lab's side of LESSON in MODE is: the file naming the version in
    use, and the directory of this version of the lab; None where a class's
    sandbox must use the version named (LAB_OBJECTS_PINNED)."""
    root = objects_root(lab)
    pin = root / f"{lesson.name}-{mode}.current"
    if os.environ.get("LAB_OBJECTS_PINNED") and pin.is_file():
        return pin, None
    return pin, root / f"{lesson.name}-{mode}-{lab_stamp(lab, tc, lesson, mode)}"


def _pin(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        tmp.write_text(text if text.endswith("\n") or not text else text + "\n")
        tmp.replace(path)
    except OSError as e:
        raise LabError(f"cannot write {path}: {e.strerror}") from None


def _load_objects(d: Path) -> LabObjects:
    try:
        flags = tuple((d / "flags").read_text().split())
        tests = tuple((d / "tests.txt").read_text().split())
    except OSError as e:
        raise LabError(f"the lab's compiled objects in {d} are incomplete ({e.strerror}): "
                       "make clean, then try again") from None
    return LabObjects(dir=d, flags=flags, tests=tests)


def _compile_objects(lab: Lab, tc: Toolchain, lesson: Lesson, mode: str, done: Path) -> None:
    tmp = done.with_name(f"{done.name}.tmp.{os.getpid()}.{threading.get_ident()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for part in ("test", "extra", "starter"):
        (tmp / part).mkdir(parents=True, exist_ok=True)
    tests, extras, flags = _lab_sources(lab, lesson, mode)
    cc = tc.compiler(mode)
    inc = includes(lesson)
    log: list[str] = []
    ok = all(_run(lab, [*cc, *CFLAGS, *inc, *tc.check_cflags, "-c", f, "-o",
                        str(tmp / "test" / (Path(f).stem + ".o"))], log) for f in tests)
    ok = ok and all(_run(lab, [*cc, *CFLAGS, *inc, "-c", f, "-o",
                               str(tmp / "extra" / (Path(f).stem + ".o"))], log) for f in extras)
    # The reference program: the suite with the starter's files. It lists the
    # suite's tests, and tells the names a student's file may not define.
    ok = ok and all(_run(lab, [tc.cc, *CFLAGS, *inc, "-c", f"starter/{lesson.name}/{f}", "-o",
                               str(tmp / "starter" / (Path(f).stem + ".o"))], log)
                    for f in lesson.files)
    reference = tmp / "reference"
    lab_part = LabObjects(dir=tmp, flags=flags, tests=())
    ok = ok and _run(lab, [*cc, *CFLAGS, "-o", str(reference), *lab_part.objects("test"),
                           *lab_part.objects("extra"), *lab_part.objects("starter"), *flags,
                           *tc.check_libs], log)
    if not ok:
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabError(f"the lab's own code for lesson {lesson.id} did not build (not your "
                       "fault):\n" + "\n".join(log))
    listed = subprocess.run([str(reference)], env={**os.environ, "LAB_LIST": "1"},
                            capture_output=True, text=True, check=False)
    if listed.returncode != 0 or not listed.stdout.split():
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabError(f"the suite of lesson {lesson.id} did not list its tests (LAB_LIST=1)")
    (tmp / "tests.txt").write_text(listed.stdout)
    (tmp / "flags").write_text(" ".join(flags) + "\n")
    # The calls the fault injector wraps: every lab_fault_X it defines stands in for X.
    (tmp / "wrapped").write_text("\n".join(sorted(
        name[len(FAULT_PREFIX):] for name in _defined(lab, lab_part.objects("extra"))
        if name.startswith(FAULT_PREFIX))) + "\n")
    (tmp / "forbidden").write_text("\n".join(sorted(
        _names_of_program(lab, reference) - _defined(lab, lab_part.objects("starter")))) + "\n")
    reference.unlink()
    (tmp / "done").touch()
    try:
        tmp.rename(done)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # two builds at once: the first one wins


def _defined(lab: Lab, objects: list[str]) -> set[str]:
    return {f[2] for f in (line.split() for line in
                           _output(lab, ["nm", "-g", "--defined-only", *objects]).splitlines())
            if len(f) == 3}


def _names_of_program(lab: Lab, program: Path) -> set[str]:
    """Every name the program and its libraries define, and every name it refers to."""
    names: set[str] = set()
    for f in (line.split() for line in _output(lab, ["nm", str(program)]).splitlines()):
        if len(f) == 3 and f[1].isupper():
            names.add(f[2])
        elif len(f) == 2 and f[0] in ("U", "w", "v", "V"):
            names.add(f[1].split("@")[0])  # referred to, weakly or not (__gmon_start__)
    for line in _output(lab, ["ldd", str(program)]).splitlines():
        f = line.split()
        if len(f) >= 3 and f[2].startswith("/"):
            for g in (x.split() for x in
                      _output(lab, ["nm", "-D", "--defined-only", f[2]]).splitlines()):
                if len(g) == 3:
                    names.add(g[2].split("@")[0])
    return names


@dataclass(frozen=True)
class Symbol:
    type: str    # readelf's words: FUNC, OBJECT, IFUNC, NOTYPE...
    bind: str    # LOCAL, GLOBAL, WEAK, UNIQUE
    index: str   # its section's number, or UND (used, defined elsewhere), ABS, COM
    name: str


def _symbols(lab: Lab, obj: Path) -> list[Symbol]:
    """OBJ's named symbols. (readelf, not nm: nm loads the LTO plugin first, and
    took 80 ms an object, most of the time of checking a student's file.)"""
    found = []
    for line in _output(lab, ["readelf", "-s", "-W", str(obj)]).splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name (Vis may carry a [note] after it)
        if len(f) >= 8 and f[0].endswith(":") and f[0][:-1].isdigit():
            found.append(Symbol(f[3], f[4], f[-2], f[-1]))
    return found


def police(lab: Lab, tc: Toolchain, lesson: Lesson, obj: Path, source: Path,
           objects: LabObjects) -> str:
    """Why a student's compiled file may not run inside the test program, or "".

    The student's code runs inside the test program, so it may not change the
    program around it: no code that runs before or after the tests, no
    definition of a name the lab or the libraries define (it would replace
    theirs), no calls that reach into the test program, no assembly.
    """
    name = source.name
    sections = []
    for line in _output(lab, ["readelf", "-S", "-W", str(obj)]).splitlines():
        line = line.strip()
        if line.startswith("[") and "]" in line:
            index, _, rest = line[1:].partition("]")
            if index.strip().isdigit() and int(index) > 0 and rest.split():
                sections.append(rest.split()[0])
    bad = [s for s in sections if not re.search(ALLOWED_SECTION, s)][:3]
    if bad:
        return (f"{name} makes a section that runs code before or after the tests, or that the "
                f"lab does not expect ({' '.join(bad)}; e.g. from __attribute__((constructor)) or "
                "asm): not allowed in a lesson's file.")
    table = _symbols(lab, obj)
    bad = [s.name for s in table if s.type == "IFUNC"][:3]
    if bad:
        return (f"{name} defines an indirect function ({' '.join(bad)}), which runs before the "
                "tests: not allowed in a lesson's file.")
    forbidden = set((objects.dir / "forbidden").read_text().split())
    defined = {s.name for s in table if s.bind != "LOCAL" and s.index != "UND"}
    bad = sorted(defined & forbidden)[:5]
    if bad:
        return (f"{name} defines {' '.join(bad)}: the lab or the C library defines that already, "
                "and a lesson's file may not replace it (make your own helpers static).")
    bad = sorted({s.name.split("@")[0] for s in table if s.index == "UND"}
                 & FORBIDDEN_CALLS)[:3]
    if bad:
        return f"{name} calls {' '.join(bad)}: no lesson needs that, and the grader does not allow it."
    if _has_asm(lab, tc, lesson, source):
        return f"{name} holds assembly (asm): not allowed in a lesson's file."
    return ""


def _has_asm(lab: Lab, tc: Toolchain, lesson: Lesson, source: Path) -> bool:
    """Assembly in the file's own lines, once preprocessed (not in the headers it includes)."""
    text = _output(lab, [tc.cc, *CFLAGS, *includes(lesson), "-E", str(source)])
    mine = False
    for line in text.splitlines():
        if line.startswith("# ") and '"' in line:
            mine = f'"{source}"' in line
            continue
        if mine and re.search(r"\b(__asm__|__asm|asm)\b", line):
            return True
    return False


def build(lab: Lab, tc: Toolchain, lesson: Lesson, src: Path, out: Path, mode: str = "normal",
          *, demo: bool = True, strip: bool = False) -> Built:
    """Builds LESSON with the editable files from SRC into OUT: OUT/check and OUT/demo.

    Returns Built(ok=False, log=why) when the files are missing or do not
    compile or may not run in the test program; raises LabError when the
    lab's own code does not build.
    """
    shutil.rmtree(out, ignore_errors=True)
    (out / "src").mkdir(parents=True, exist_ok=True)
    log: list[str] = []

    def failed(objects: LabObjects | None = None) -> Built:
        log.extend(lab_files_edited(lab, lesson, src))
        text = "\n".join(line for line in log if line)
        (out / "build.log").write_text(text + "\n" if text else "")
        return Built(ok=False, out=out, log=text, objects=objects)

    for f in lesson.files:
        given = src / f
        # Only a regular file: a link could point anywhere on the machine.
        if given.is_symlink() or not given.is_file():
            log.append(f"{lab.rel(given)} {MISSING}: this lesson is graded on it.")
            return failed()
        # Else the linker's "undefined reference" to every function, and the lab's paths.
        if given.stat().st_size < 4096 and not given.read_bytes().strip():
            log.append(f"{lab.rel(given)} {EMPTY}: this lesson is graded on it.")
            return failed()
        shutil.copyfile(given, out / "src" / f)
    objects = lab_objects(lab, tc, lesson, mode)
    cc = tc.compiler(mode)
    mine: list[str] = []
    for f in lesson.files:
        # TSan's calls before every access: the amplifier pauses there, the killer
        # counts stores. It leaves out a load that a store to the same place follows
        # (x += n): the amplifier must see it, to pause there and to tell the story
        # of a lost update.
        scc = [tc.race_cc, "-fsanitize=thread", "-mllvm", "-tsan-instrument-read-before-write"] \
            if mode == "normal" and lesson.build in ("race", "kill") else cc
        obj = out / (Path(f).stem + ".o")
        messages: list[str] = []
        # Compiled from OUT/src, so "#include" finds the lab's headers, not a copy
        # beside the file; the messages name the student's own path, not the copy.
        keep = KEEP_IN_TEXT if scc[0] == tc.cc else ()
        ok = _run(lab, [*scc, *CFLAGS, *tc.student_flags, *keep, *includes(lesson),
                        "-c", str(out / "src" / f),
                        "-o", str(obj)], messages)
        log.extend(m.replace(f"{out}/src/", f"{lab.rel(src)}/") for m in messages)
        if not ok:
            return failed(objects)
        plain = obj
        if scc != [tc.cc]:  # sanitizers add constructors of their own: police a plain compile
            plain = out / "plain" / obj.name
            plain.parent.mkdir(exist_ok=True)
            if not _run(lab, [tc.cc, *CFLAGS, *tc.student_flags, *includes(lesson), "-c",
                              str(out / "src" / f), "-o", str(plain)], []):
                return failed(objects)
        why = police(lab, tc, lesson, plain, out / "src" / f, objects)
        if why:
            log.append(why)
            return failed(objects)
        if not _wrap_calls(lab, obj, objects, log):
            return failed(objects)
        mine.append(str(obj))
    # A class's test programs have no symbols: code under test finds nothing by name in them.
    link = [*objects.flags, *(["-s"] if strip else [])]
    if not _run(lab, [*cc, *CFLAGS, "-o", str(out / "check"), *objects.objects("test"),
                      *objects.objects("extra"), *mine, *link, *tc.check_libs], log):
        return failed(objects)
    if demo and not _run(lab, [*cc, *CFLAGS, *includes(lesson), "-o", str(out / "demo"),
                               f"starter/{lesson.name}/main.c", *objects.objects("extra"),
                               *mine, *link], log):
        return failed(objects)
    (out / "build.log").write_text("")
    return Built(ok=True, out=out, log="", objects=objects)


def lab_files_edited(lab: Lab, lesson: Lesson, src: Path, demo: bool = False) -> list[str]:
    """A note for each file of the lesson that is the lab's, not the student's, and
    that SRC holds changed: the lab's own is used (a student added a macro to
    counter.h, and read only that counter.c did not compile). DEMO: said of
    make run's demo, not of the grade (an outsider edited main.c and saw no effect)."""
    notes = []
    # The lesson's own, and the lab's common code beside it (an outsider's #error in
    # work/common/manager/client.c went unnoticed).
    common = lab.root / "starter" / "common"
    owned = [(own, src / own.name)
             for own in sorted((lab.root / "starter" / lesson.name).iterdir())
             if own.name not in lesson.files]
    owned += [(own, src.parent / "common" / own.relative_to(common))
              for own in sorted(common.rglob("*"))]
    for own, given in owned:
        if not own.is_file() or not given.is_file():
            continue
        try:
            changed = given.read_bytes() != own.read_bytes()
        except OSError:
            continue
        if changed and demo:
            notes.append(f"(note: {lab.rel(given)} is the lab's file, not yours: the demo is "
                         f"built with the lab's own {own.name}, so what you changed in it has "
                         f"no effect; only {', '.join(lesson.files)} is yours)")
        elif changed:
            notes.append(f"(note: {lab.rel(given)} is the lab's file, not yours: the grader uses "
                         f"the lab's own {own.name}, so what you changed in it counts for "
                         f"nothing; only {', '.join(lesson.files)} is graded)")
    return notes


def _wrap_calls(lab: Lab, obj: Path, objects: LabObjects, log: list[str]) -> bool:
    """Sends the object's calls that can fail to the fault injector, and renames its
    code section so that the harness can tell the line of a call (tests/harness/fault.h)."""
    try:
        wrapped = (objects.dir / "wrapped").read_text().split()
    except OSError as e:
        raise LabError(f"the lab's compiled objects in {objects.dir} are incomplete "
                       f"({e.strerror}): make clean, then try again") from None
    argv = ["objcopy", f"--rename-section=.text={STUDENT_TEXT}"]
    argv += [f"--redefine-sym={name}={FAULT_PREFIX}{name}" for name in wrapped]
    return _run(lab, [*argv, str(obj)], log)


def files_digest(lesson: Lesson, src: Path) -> str:
    """One hash of the student's editable files in SRC (a missing one counts as such)."""
    parts = []
    for f in lesson.files:
        parts.append(f.encode())
        try:
            parts.append(b"file:" + (src / f).read_bytes())
        except OSError:
            parts.append(b"missing")
    return _digest(parts)


def prepare(lab: Lab, tc: Toolchain, manifest: Manifest,
            lessons: Sequence[Lesson] = ()) -> int:
    """Compiles the lab's side of LESSONS (or every lesson) for the class
    grader, before its sandboxes, which see the lab read-only; and pins it,
    with each suite's list of tests. Says each lesson as it is ready: all of
    them take minutes."""
    chosen = lessons or manifest.lessons
    for n, lesson in enumerate(chosen, 1):
        began = time.monotonic()
        lab_objects(lab, tc, lesson, "normal")
        print(f"prepare: lesson {lesson.id} ready ({n} of {len(chosen)}, "
              f"{time.monotonic() - began:.0f} s)", flush=True)
    return 0
