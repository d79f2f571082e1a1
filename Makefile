# shmlab - a teaching lab about sharing state between processes.
#
#   make                  grade your workspace (work/) and say what to do next
#   make list             every lesson with its status and points, and your progress
#   make hint LESSON=01   the lesson's hints, one more each time
#   make run LESSON=01    build and run a lesson's demo (ARGS="..." passes arguments)
#   make check LESSON=01  grade one lesson
#   make grade            grade strictly: exit 0 all pass, 1 some fail, 2 cannot grade
#   make watch            grade the lesson in progress each time you save it
#   make reset LESSON=01  put a lesson's starter back (asks first; keeps yours)
#   make docs             the book, both editions (docs-student, docs-full: one)
#   make grade-all SUBMISSIONS=dir   grade a class, each submission sandboxed (OUT=build/class)
#   make dist             the student kit, build/dist/shmlab-student.tar.gz
#   make gradescope       the Gradescope autograder, build/gradescope/shmlab-autograder.zip
#   make stress LESSON=02 RUNS=200
#   make test             the project's own tests (what CI runs)
#   make bench            the manager's speed, beside raw round trips and Python's Manager
#   make fuzz             fuzz the manager's parser (FUZZ_SECONDS=600; 0: until stopped)
#   make clean
#
# WORK=dir grades another copy of starter/; LESSON=NN picks one lesson.
# The work itself is done by tests/lab; tests/deps installs what is missing.

WORK   ?= work
LESSON ?=
RUNS   ?= 200
ARGS   ?=
FUZZ_SECONDS ?= 600
LESSONS := $(shell awk '!/^\#/ && NF { print $$1 "-" $$2 }' lessons/lessons.tsv)

.PHONY: all list hint check grade watch reset run stress test fuzz bench docs docs-student \
        docs-full grade-all dist gradescope deps lessons clean

# make turns any failed command into its own exit status 2, but `make grade`
# promises 0 (all pass), 1 (some fail) and 2 (cannot grade). In question
# mode (-q) make runs only the `+` commands and passes their status on as is.
ifneq ($(filter grade check stress,$(MAKECMDGOALS)),)
MAKEFLAGS += -q
endif

all: deps
	@tests/lab overview $(WORK)

list: deps
	@tests/lab list $(WORK)

hint: deps
	@tests/lab hint "$(LESSON)" $(WORK)

check: deps
	+@tests/lab check "$(LESSON)" $(WORK)

grade: deps
	+@tests/lab grade $(WORK) $(LESSON)

watch: deps
	@tests/deps watch
	@tests/lab watch $(WORK)

reset: deps
	@tests/lab reset "$(LESSON)" $(WORK)

run: deps
	@tests/lab run "$(LESSON)" $(WORK) $(ARGS)

stress: deps
	+@tests/lab stress "$(LESSON)" "$(RUNS)" $(if $(filter command line environment,$(origin WORK)),$(WORK))

test:
	+@tests/deps test
	@tests/lab test $(LESSON)

docs:
	+@tests/deps docs
	@docs/book build both

SUBMISSIONS ?=
OUT ?= build/class

grade-all:
	+@tests/deps class
	@tests/class grade "$(SUBMISSIONS)" "$(OUT)"

dist:
	+@tests/deps docs
	@tests/package dist

gradescope:
	@tests/package gradescope

docs-student:
	+@tests/deps docs
	@docs/book build student

docs-full:
	+@tests/deps docs
	@docs/book build full

bench: deps
	@tests/lab bench

fuzz: deps
	@tests/lab fuzz $(FUZZ_SECONDS)

deps:
	+@tests/deps

lessons:
	@printf '%s\n' $(LESSONS)

clean:
	rm -rf build
