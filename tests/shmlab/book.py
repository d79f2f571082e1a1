"""The book: both editions, HTML and EPUB, from lessons/ and docs/; and its checks.

Two editions. The student edition has the lessons' traps, the starters' code
and the hints, never a solution; the full edition (instructors, readers on
their own) adds each lesson's fix and the whole diff from starter to
solution. Code comes from the real files at build time (docs/include.lua),
so the book shows what the tests run.

Each chapter goes through pandoc twice: first, with the filters
(docs/book.lua, docs/include.lua), to Markdown of the edition
(BUILD/book/src/EDITION/); then to an HTML page with the book's template
(docs/book.html5); all of them together make the EPUB. A lesson's title and
hints come from the manifest, through a metadata file; a page of docs/ has
its title in its own front matter.

The student kit's lesson texts are made by the same first stage, to GitHub
Markdown (lesson_text).
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from . import package
from .common import Lab, LabError, indent
from .manifest import Lesson, Manifest

EDITIONS = ("student", "full")
# The pages of docs/ around the lessons: (page, source), before and after them.
FRONT = (("index", "docs/index.md"),)
BACK = (("costs", "docs/costs.md"),
        ("python-to-shmlab", "docs/python-to-shmlab.md"),
        ("manager-protocol", "docs/manager-protocol.md"))
TITLE_TEMPLATE = "$title$\n"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  "--no-first-run", "--disable-dev-shm-usage")


@dataclass(frozen=True)
class Chapter:
    page: str               # the page's name: index, 01-unshared-list
    source: str             # its text, from the lab's root: lessons/01-unshared-list.md
    title: str              # as the contents and the pager show it
    lesson: Lesson | None   # the lesson it teaches, if it is one


def out_dir(lab: Lab) -> Path:
    return lab.build / "book"


# ---- the chapters -----------------------------------------------------------------

def _pandoc(lab: Lab, args: list[str], log: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs pandoc in the lab's root (the filters open the lab's files from there)."""
    if shutil.which("pandoc") is None:
        raise LabError("pandoc is missing (make deps installs it)")
    # No input but the files named: pandoc would read its standard input otherwise.
    result = subprocess.run(["pandoc", *args], cwd=lab.root, input="", capture_output=True,
                            text=True)
    if log is not None:
        with log.open("a") as f:
            f.write(result.stderr)
    return result


def _title(lab: Lab, source: str, args: list[str]) -> str:
    """The title pandoc finds in its metadata, as plain text (quotes made typographic,
    as the pages show them)."""
    template = out_dir(lab) / "title.tpl"
    template.write_text(TITLE_TEMPLATE)
    result = _pandoc(lab, [f"--template={template}", "-f", "markdown", "-t", "plain", *args])
    if result.returncode != 0:
        raise LabError(f"pandoc cannot read the title of {source}:\n{indent(result.stderr, 2)}")
    title = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    if not title:
        raise LabError(f"{source} has no title: add one to its front matter")
    return title


def _page(lab: Lab, page: str, source: str) -> Chapter:
    """A page of docs/: its title is in its front matter."""
    if not (lab.root / source).is_file():
        raise LabError(f"{source} is missing")
    return Chapter(page, source, _title(lab, source, [source]), None)


def _lesson(lab: Lab, lesson: Lesson) -> Chapter:
    """A lesson: its title is the manifest's."""
    source = f"lessons/{lesson.name}.md"
    if not (lab.root / source).is_file():
        raise LabError(f"{source} is missing")
    meta = _metadata_file(lab, lesson)
    return Chapter(lesson.name, source,
                   _title(lab, f"lessons/lessons.toml ({lesson.id})", ["--metadata-file", str(meta)]),
                   lesson)


def chapters(lab: Lab, manifest: Manifest) -> list[Chapter]:
    """The book's chapters in order: the index, the lessons, the other pages of docs/."""
    try:
        out_dir(lab).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LabError(f"cannot make {lab.rel(out_dir(lab))}: {e.strerror}") from None
    return ([_page(lab, page, source) for page, source in FRONT]
            + [_lesson(lab, lesson) for lesson in manifest.lessons]
            + [_page(lab, page, source) for page, source in BACK])


def _metadata_file(lab: Lab, lesson: Lesson) -> Path:
    """A lesson's title and hints, from the manifest, for pandoc's --metadata-file.

    JSON is YAML, and pandoc reads its strings as Markdown, as it would the
    front matter's."""
    path = out_dir(lab) / "meta" / f"{lesson.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"title": lesson.heading, "hints": list(lesson.hints)},
                               ensure_ascii=False, indent=2) + "\n")
    return path


def _first_stage(lab: Lab, chapter: Chapter, edition: str, target: str,
                 to: str, out: Path, log: Path) -> None:
    """A chapter through book.lua and include.lua, to the format TO in OUT."""
    args = ["-M", f"edition={edition}", "-M", f"chapter=chapter-{chapter.page}",
            "-M", f"target={target}"]
    if chapter.lesson is not None:
        args += ["-M", f"lesson={chapter.lesson.name}",
                 "-M", "files=" + " ".join(chapter.lesson.files),
                 "--metadata-file", str(_metadata_file(lab, chapter.lesson))]
    args += ["--lua-filter", "docs/book.lua", "--lua-filter", "docs/include.lua",
             "-t", to, "-o", str(out), chapter.source]
    log.write_text("")
    if _pandoc(lab, args, log).returncode != 0:
        raise LabError(f"{chapter.source} does not build ({edition} edition):\n"
                       f"{indent(log.read_text(), 2)}")


def lesson_text(lab: Lab, lesson: Lesson, out: Path) -> None:
    """The lesson as the student kit has it: GitHub Markdown, code filled in,
    the solution left out, the title and hints put in, links as the text has them."""
    chapter = _lesson(lab, lesson)
    log = out_dir(lab) / "log" / f"kit-{lesson.name}.txt"
    log.parent.mkdir(parents=True, exist_ok=True)
    _first_stage(lab, chapter, "student", "kit", "gfm", out, log)


def _contents_html(book: list[Chapter], current: str) -> str:
    """The sidebar: every chapter, the current one marked."""
    ol = ET.Element("ol")
    ol.text = "\n"
    for chapter in book:
        li = ET.SubElement(ol, "li")
        a = ET.SubElement(li, "a", href=f"{chapter.page}.html")
        if chapter.page == current:
            li.set("class", "current")
            a.set("aria-current", "page")
        a.text = chapter.title
        li.tail = "\n"
    return ET.tostring(ol, encoding="unicode", method="html")


def _chapter_list(book: list[Chapter]) -> str:
    """The index's list of chapters, made from the manifest: a new lesson needs no edit."""
    items = [f"{n}. [{chapter.title}]({chapter.page}.html)"
             for n, chapter in enumerate(book[1:], start=1)]
    return "\n## The chapters {#the-chapters}\n\n" + "\n".join(items) + "\n"


def _second_stage(lab: Lab, book: list[Chapter], i: int, edition: str, src: Path,
                  html_dir: Path, log: Path) -> None:
    """The Markdown of chapter I to its HTML page, with the contents and the pager."""
    chapter = book[i]
    variables = ["-V", f"edition={edition}",
                 "-V", f"book-toc={_contents_html(book, chapter.page)}"]
    # -V values go into the page as they are: the titles are text, escaped here.
    if i > 0:
        variables += ["-V", f"prev-href={book[i - 1].page}.html",
                      "-V", f"prev-title={html.escape(book[i - 1].title, quote=False)}"]
    if i + 1 < len(book):
        variables += ["-V", f"next-href={book[i + 1].page}.html",
                      "-V", f"next-title={html.escape(book[i + 1].title, quote=False)}"]
    args = ["-f", "markdown", "-s", "--template", "docs/book.html5", "--highlight-style=tango",
            "-M", f"pagetitle={chapter.title}", *variables,
            "-o", str(html_dir / f"{chapter.page}.html"), str(src)]
    if _pandoc(lab, args, log).returncode != 0:
        raise LabError(f"{chapter.page}.html does not build ({edition} edition):\n"
                       f"{indent(log.read_text(), 2)}")


def figures_used(texts: list[Path]) -> set[str]:
    """The names of docs/figures/ that TEXTS (Markdown) show."""
    return {name for text in texts
            for name in re.findall(r"figures/([\w.-]+\.svg)", text.read_text())}


def build_edition(lab: Lab, manifest: Manifest, edition: str) -> tuple[Path, Path]:
    """One edition: BUILD/book/EDITION/*.html and BUILD/book/shmlab-EDITION.epub."""
    if edition not in EDITIONS:
        raise LabError(f"which edition? student, full or both, not '{edition}'")
    book = chapters(lab, manifest)
    out = out_dir(lab)
    html_dir, src_dir, log_dir = out / edition, out / "src" / edition, out / "log"
    try:
        shutil.rmtree(html_dir, ignore_errors=True)
        shutil.rmtree(src_dir, ignore_errors=True)
        for d in (html_dir / "figures", src_dir, log_dir):
            d.mkdir(parents=True, exist_ok=True)
        shutil.copy(lab.root / "docs/book.css", html_dir)
    except OSError as e:
        raise LabError(f"cannot make {lab.rel(html_dir)}: {e.strerror}: {e.filename}") from None

    sources = []
    for chapter in book:
        src = src_dir / f"{chapter.page}.md"
        log = log_dir / f"{edition}-{chapter.page}.txt"
        _first_stage(lab, chapter, edition, "book", "markdown", src, log)
        if chapter.page == "index":
            with src.open("a") as f:
                f.write(_chapter_list(book))
        sources.append(src)
    # Only the figures the edition shows: a fix's figure stays out of the student's.
    try:
        for name in sorted(figures_used(sources)):
            shutil.copy(lab.root / "docs/figures" / name, html_dir / "figures")
    except OSError as e:
        raise LabError(f"cannot copy a figure: {e.strerror}: {e.filename}") from None
    for i, chapter in enumerate(book):
        _second_stage(lab, book, i, edition, sources[i], html_dir,
                      log_dir / f"{edition}-{chapter.page}.txt")

    epub = out / f"shmlab-{edition}.epub"
    log = log_dir / f"{edition}-epub.txt"
    log.write_text("")
    args = ["-f", "markdown", "--lua-filter", "docs/epub.lua", "--toc", "--toc-depth=1",
            "--epub-chapter-level=1", "--highlight-style=tango", "--css", "docs/book.css",
            f"--resource-path={html_dir}", "-M", "title=shmlab",
            "-M", f"subtitle=Sharing state between processes, in C ({edition} edition)",
            "-M", "lang=en", "-o", str(epub), *map(str, sources)]
    if _pandoc(lab, args, log).returncode != 0:
        raise LabError(f"the EPUB does not build ({edition} edition):\n"
                       f"{indent(log.read_text(), 2)}")
    return html_dir / "index.html", epub


def build(lab: Lab, manifest: Manifest, edition: str = "both") -> int:
    """make docs, docs-student, docs-full: EDITION is student, full or both."""
    wanted = EDITIONS if edition == "both" else (edition,)
    for one in wanted:
        index, epub = build_edition(lab, manifest, one)
        print(f"book: {one} edition in {lab.rel(index)} and {lab.rel(epub)}", flush=True)
    return 0


# ---- the checks (make test) -----------------------------------------------------

class _Targets(HTMLParser):
    """A page's links (every href and src) and anchors (every id)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append(value)
            elif name == "id" and value is not None:
                self.ids.add(value)


def _read_page(path: Path) -> _Targets:
    parser = _Targets()
    parser.feed(path.read_text(errors="replace"))
    parser.close()
    return parser


def links(lab: Lab, edition: str) -> list[str]:
    """Every href and src of every page of an edition names a file of it, and an anchor in it."""
    folder = out_dir(lab) / edition
    pages = sorted(p for p in folder.glob("*.html") if not p.name.startswith("."))
    if not pages:
        return [f"no pages in {lab.rel(folder)}: build the book first"]
    parsed: dict[Path, _Targets] = {}
    problems = []
    for page in pages:
        for target in _read_page(page).links:
            if re.match(r"^(https?|mailto|data):", target):
                continue
            name, _, anchor = target.partition("#")
            file = folder / unquote(name) if name else page
            where = f"{edition}/{page.name}: link to {target}"
            if not file.is_file():
                problems.append(f"{where}: no file {name}")
            elif anchor:
                if file not in parsed:
                    parsed[file] = _read_page(file)
                if unquote(anchor) not in parsed[file].ids:
                    problems.append(f"{where}: no anchor #{anchor} in {file.name}")
    return problems


def editions(lab: Lab, manifest: Manifest) -> list[str]:
    """The student edition holds no line that only the solutions have (the same list
    the student kit is checked against); the full edition has every lesson's diff."""
    src = out_dir(lab) / "src"
    lines = package.solution_lines(lab, manifest)
    problems = []
    for lesson in manifest.lessons:
        try:
            full = (src / "full" / f"{lesson.name}.md").read_text()
            student = (src / "student" / f"{lesson.name}.md").read_text()
        except OSError as e:
            problems.append(f"cannot read {e.filename}: {e.strerror} (build both editions first)")
            continue
        if "The whole change" not in full:
            problems.append(f"full edition: {lesson.name} has no diff of its fix")
        if "The whole change" in student:
            problems.append(f"student edition: {lesson.name} shows the diff of its fix")
        hits = package.solution_lines_in(student, lines)[:3]
        if hits:
            problems.append(f"student edition: {lesson.name} shows lines of a solution: "
                            + " | ".join(hits))
    return problems


def _chromium(lab: Lab, args: list[str], log: Path, limit: float = 60) -> str:
    """Runs chromium with the book's flags; its standard output. Chromium starts
    helpers of its own: on a timeout its whole process group goes."""
    profile = out_dir(lab) / "chromium-profile"
    with log.open("a") as err:
        proc = subprocess.Popen(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                 *args], stdout=subprocess.PIPE, stderr=err, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            err.write(f"chromium: stopped after {limit} s\n")
    return out or ""


def renders(lab: Lab, edition: str, page: str, width: int, height: int,
            label: str) -> list[str]:
    """Headless chromium opens a page, once for a screenshot and once to measure it:
    a page whose text is nearly empty, or that the stylesheet did not reach, or
    that is wider than the screen, or whose images did not load, fails."""
    if shutil.which("chromium") is None:
        return ["chromium is missing (make deps installs it)"]
    out = out_dir(lab)
    folder = out / edition
    html_page = folder / f"{page}.html"
    if not html_page.is_file():
        return [f"no page {lab.rel(html_page)}: build the book first"]
    shots, log = out / "screenshots", out / "log" / "chromium.txt"
    shots.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    shot = shots / f"{edition}-{page}-{label}.png"
    shot.unlink(missing_ok=True)
    window = f"--window-size={width},{height}"
    _chromium(lab, [window, f"--screenshot={shot}", html_page.resolve().as_uri()], log)
    if not shot.is_file() or shot.stat().st_size < 20000:
        return [f"the screenshot {lab.rel(shot)} is missing or nearly blank"]

    # The same page with a probe that reports what the browser made of it.
    probe = folder / f".probe-{page}.html"
    probe.write_text(html_page.read_text().replace(
        "</body>", '<script src="../probe.js"></script></body>'))
    shutil.copy(lab.root / "docs/probe.js", out / "probe.js")
    dom = _chromium(lab, [window, "--virtual-time-budget=3000", "--dump-dom",
                     probe.resolve().as_uri()], log)
    probe.unlink(missing_ok=True)
    found = re.search(r'<pre id="book-probe">([^<]*)</pre>', dom)
    if not found:
        return ["the page's probe never reported (did the page load?)"]
    try:
        result = json.loads(html.unescape(found.group(1)))
    except json.JSONDecodeError:
        return [f"the page's probe said something that is not JSON: {found.group(1)[:200]}"]
    seen = (f"{edition}/{page}.html at {width}x{height}: {json.dumps(result)}; "
            f"screenshot {lab.rel(shot)}")
    problems = []
    if result.get("text", 0) < 800:
        problems.append(f"only {result.get('text', 0)} characters of text: an empty page")
    if result.get("sheet") != "loaded":
        problems.append("book.css did not apply")
    if result.get("overflow", 1) > 0:
        problems.append(f"the page is {result.get('overflow')} px wider than the screen")
    if result.get("brokenImages", 1) != 0:
        problems.append(f"{result.get('brokenImages')} image(s) did not load")
    return [seen, *problems] if problems else []


def epub_reads_back(lab: Lab, manifest: Manifest, edition: str) -> list[str]:
    """The edition's EPUB, read back by pandoc, holds every chapter's title."""
    epub = out_dir(lab) / f"shmlab-{edition}.epub"
    if not epub.is_file():
        return [f"no {lab.rel(epub)}: build the book first"]
    result = _pandoc(lab, ["-f", "epub", "-t", "plain", "--wrap=none", str(epub)])
    if result.returncode != 0:
        return [f"the {edition} EPUB does not read back: {result.stderr.strip()}"]
    return [f"the {edition} EPUB lacks the chapter \"{chapter.title}\""
            for chapter in chapters(lab, manifest) if chapter.title not in result.stdout]
