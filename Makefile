# shmlab - a teaching lab about sharing state between processes.
#
#   make                  grade your workspace (work/) and say what to do next
#   make grade            grade strictly: exit 0 all pass, 1 some fail, 2 cannot grade
#   make run LESSON=01    build and run a lesson's demo (ARGS="..." passes arguments)
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

.PHONY: all grade run stress test fuzz bench deps lessons clean

# make turns any failed command into its own exit status 2, but `make grade`
# promises 0 (all pass), 1 (some fail) and 2 (cannot grade). In question
# mode (-q) make runs only the `+` commands and passes their status on as is.
ifneq ($(filter grade stress,$(MAKECMDGOALS)),)
MAKEFLAGS += -q
endif

all: deps
	@tests/lab overview $(WORK)

grade: deps
	+@tests/lab grade $(WORK) $(LESSON)

run: deps
	@tests/lab run "$(LESSON)" $(WORK) $(ARGS)

stress: deps
	+@tests/lab stress "$(LESSON)" "$(RUNS)" $(if $(filter command line environment,$(origin WORK)),$(WORK))

test: deps
	@tests/lab test $(LESSON)

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
