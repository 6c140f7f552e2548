# Two commands on a fresh machine: `make demo` (analyse the built-in case) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser viewer's end-to-end tests drive Debian's Chromium; only `make test` needs it.
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench sweep clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/emhassist demo --out out

$(CHROMIUM):
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| { echo "error: could not install Debian's chromium (apt-get install chromium, as root), which the browser viewer's tests need" >&2; exit 1; }

# Two workers (the machines and CI have 2 cores), each taking whole test files (--dist loadfile) so that a
# module's expensive fixtures (built cases, a browser, a server) are made once, on one worker.
test: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Benchmarks (figures in docs/performance.md): live update against Segment Statistics' and SimpleITK's
# ways, the whole analysis with its memory, at three sizes, then levels, cord segmentation and profile
# and the whole levels step on a 512x512x40 sagittal study, the live update after a mass move against
# the engine of commit 7162fcd in the same run, and batch throughput (cases per minute) with 1 and 2 workers.
bench: $(STAMP)
	$(BIN)/python bench/live_update.py
	$(BIN)/python bench/whole_analysis.py
	$(BIN)/python bench/bench_levels.py
	$(BIN)/python bench/live_mass_drag.py
	$(BIN)/python bench/batch_throughput.py

# The spine engine judged on 200 randomized spines it has never seen (Testing/spinegen, issue 13;
# figures in docs/spine-sweep.md). Not part of `make bench`: it takes about an hour on the shared
# 2-core machine, where `make bench` takes minutes.
sweep: $(STAMP)
	$(BIN)/python bench/spine_sweep.py --cases 200 --seed 1 --doc docs/spine-sweep.md

clean:
	rm -rf out
