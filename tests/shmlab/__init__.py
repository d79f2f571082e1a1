"""shmlab's driver: builds, grades and packages the lab's lessons.

Modules by job:
  manifest    the lessons, read from lessons/lessons.toml into Lesson records
  common      the lab's place and build directory, errors, colour, small helpers
  context     what a command works with: the lab, the manifest, the style
  cli         the command line: `tests/lab COMMAND`
  build       compiling a lesson: the lab's side once per version, the student's per grade
  suite       running a lesson's Check suite and reading what it found
  grade       grading one lesson, its kept verdict, and how a verdict reads
  grading     grading several lessons at once, their lines printed in order
  student     the student's commands: overview, list, hint, run, check, grade, reset
  watch       `make watch`: a lesson graded each time one of its files is saved
  progress    the workspace: made from starter/, and its record (WORK/.progress)
  statusline  "test 3 of 7: ... 12 s" on a terminal, while a test runs long
  devtools    stress, bench and fuzz (for instructors and the lab's own development)
  pysnippets  `make python`: the book's Python (docs/python/), run under each start method
  measure     `make measure`: what sharing costs, measured, as CSV and plots (docs/costs.md)
  classroom   grading a class, each lesson of each submission sandboxed
  sandbox     the sandbox's limits, cgroups and work directories (tests/sandbox runs it)
  reports     the class's gradebook, Gradescope results, JUnit XML and summary page
  book        the book, both editions, and its checks
  package     the student kit and the Gradescope bundle

Installing what the lab needs stays a short shell script, tests/deps: it must
run before Python is there. The project's own tests (`make test`) live apart,
in tests/selftest/, and are never shipped in the student kit.
"""
