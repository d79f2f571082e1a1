"""shmlab's driver: builds, grades and packages the lab's lessons.

Modules by job:
  manifest  the lessons, read from lessons/lessons.toml into Lesson records
  common    the lab's root and build directory, errors, colour, small helpers
  build     compiling a lesson (the lab's side once, the student's per grade)
  suite     running a lesson's Check suite and reading what it found
  student   the student's commands: overview, list, hint, run, check, grade, watch, reset
  devtools  stress, bench, fuzz (for instructors and the lab's own development)
  classroom grading a class, each lesson of each submission sandboxed
  reports   the class's gradebook, Gradescope results, JUnit XML and summary page
  book      the book, both editions, and its checks
  package   the student kit and the Gradescope bundle
  cli       the command line: `tests/lab COMMAND`

The project's own tests (`make test`) live apart, in tests/selftest/, and are
never shipped in the student kit.
"""
