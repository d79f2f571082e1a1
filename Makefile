# shmlab - a teaching lab about sharing state between processes.
#
#   make                  grade what changed in your workspace (work/) and say what to do next
#   make list             every lesson with its status and points, and your progress
#   make hint LESSON=01   the lesson's hints, one more each time
#   make run LESSON=01    build and run a lesson's demo (ARGS="..." passes arguments)
#   make check LESSON=01  grade one lesson (a failure of random cases names a SEED=n: it repeats them;
#                         WERROR=0 builds your file despite warnings, for an exercise's wrong fix)
#   make grade            grade strictly: exit 0 all pass, 1 some fail, 2 cannot grade
#   make submit           pack what you hand in, build/submission.tar.gz, and check it
#   make watch            grade a lesson each time you save one of its files (Ctrl-C stops;
#                         LESSON=NN: that lesson first)
#   make reset LESSON=01  put a lesson's starter back (asks first; keeps yours)
#   make stress LESSON=02 RUNS=20    a lesson's tests RUNS times, on the starter and on yours
#   make python LESSON=02 run the Python the lesson shows, under each start method it names
#   make lessons          list the lessons
#   make book             where the book is (the kit ships it built)
#   make help             this list
#   make clean            remove build/ (what was compiled); your work/ and its grades stay:
#                         make list still shows them, since they are of your files as they are;
#                         the next grade compiles the lab's side again (minutes when busy)
#
# WORK=dir grades another copy of starter/; LESSON=NN picks one lesson.
# The work itself is done by tests/lab (tests/lab help); tests/deps installs what is missing.
#
# For instructors and the lab's own development:                          (lab-only)
#   make docs             the book, both editions (docs-student, docs-full: one)
#   make grade-all SUBMISSIONS=dir   grade a class, each submission sandboxed (OUT=build/class;
#                         LESSONS="11 12": only those lessons, only they compiled); run as
#                         root (the sandbox needs it; without: SANDBOX=weak, see README)
#   make dist             the student kit, build/dist/shmlab-student.tar.gz
#   make gradescope       the Gradescope autograder, build/gradescope/shmlab-autograder.zip
#                         (LESSONS="01 02": only those lessons)
#   make test             the project's own tests (what CI runs); LESSON=NN or a part: only that
#   make bench            the manager's speed, beside raw round trips and Python's Manager
#   make fuzz             fuzz the manager's parser (FUZZ_SECONDS=600; 0: until stopped)
#   make measure          what sharing costs on this machine: CSV and plots in build/measure/

WORK   ?= work
LESSON ?=
RUNS   ?= 20
ARGS   ?=
FUZZ_SECONDS ?= 600
SUBMISSIONS ?=
OUT ?= build/class
LAB := tests/lab
# SEED=n repeats the random cases of a run (a failure says its seed).
ifneq ($(SEED),)
export LAB_SEED := $(SEED)
endif
# WERROR=0: your files build despite warnings (the lab's own never do).
ifneq ($(WERROR),)
export LAB_WERROR := $(WERROR)
endif

.PHONY: all list hint check grade submit watch reset run stress python book docs docs-student \
        docs-full lessons help clean deps test grade-all dist gradescope bench fuzz \
        measure

# make turns any failed command into its own exit status 2, but `make grade`
# promises 0 (all pass), 1 (some fail) and 2 (cannot grade), and a demo that
# shows its trap by exiting 1 is no failure of make's. In question mode (-q)
# make runs only the `+` commands and passes their status on as is.
ifneq ($(filter grade check submit stress run reset,$(MAKECMDGOALS)),)
MAKEFLAGS += -q
endif

all: deps
	@$(LAB) overview $(WORK)

list: deps
	@$(LAB) list $(WORK)

hint: deps
	@$(LAB) hint "$(LESSON)" $(WORK)

check: deps
	+@$(LAB) check "$(LESSON)" $(WORK)

grade: deps
	+@$(LAB) grade $(WORK) $(LESSON)

submit: deps
	+@$(LAB) submit $(WORK)

watch: deps
	@$(LAB) watch $(WORK) $(LESSON)

reset: deps
	+@$(LAB) reset "$(LESSON)" $(WORK)

run: deps
	+@$(LAB) run "$(LESSON)" $(WORK) $(ARGS)

stress: deps
	+@$(LAB) stress "$(LESSON)" "$(RUNS)" $(if $(filter command line environment,$(origin WORK)),$(WORK))

python: deps
	@$(LAB) python "$(LESSON)"

lessons:
	@$(LAB) lessons

# The kit ships the book built; in the lab, `make docs` builds it.
book:
	@if [ -f docs/book/index.html ]; then echo "The book: docs/book/index.html (open it in a browser)"; \
	else echo "The book is not built here: make docs builds it, into build/book/"; fi

# The comment at the top of this file, without its marks.
help:
	@sed -n '/^[^#]/q; s/^# \{0,1\}//; s/ *(lab-only)$$//; p' $(firstword $(MAKEFILE_LIST))

deps:
	+@tests/deps

clean:
	rm -rf build
	@echo "build/ removed: work/ and its grades stay; the next grade compiles the lab's side again (a few minutes on a busy machine)"

# lab-only: from here on, targets the student kit does not have (it ships the book built).

docs:
	+@tests/deps docs
	@$(LAB) docs both

docs-student:
	+@tests/deps docs
	@$(LAB) docs student

docs-full:
	+@tests/deps docs
	@$(LAB) docs full

test:
	+@tests/deps test
	@$(LAB) test $(LESSON)

grade-all:
	+@tests/deps class
	@$(LAB) grade-all "$(SUBMISSIONS)" "$(OUT)"

dist:
	+@tests/deps docs
	@$(LAB) dist

gradescope:
	@$(LAB) gradescope

bench: deps
	@$(LAB) bench

fuzz: deps
	@$(LAB) fuzz $(FUZZ_SECONDS)

measure: deps
	+@tests/deps measure
	@$(LAB) measure
