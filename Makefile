# The verbs a developer types daily. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Catalogs are committed as .po; the .mo files are built, never committed.
COMPILE_MESSAGES := if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then $(PY) manage.py compilemessages --ignore '.venv*' -v0; fi

.PHONY: run test venv dev-venv demo messages clean

run: venv
	$(PY) manage.py migrate --noinput
	$(COMPILE_MESSAGES)
	$(PY) manage.py seed_demo
	bin/serve

test: dev-venv
	$(COMPILE_MESSAGES)
	bin/test

venv: $(VENV)/.runtime

dev-venv: $(VENV)/.dev

$(VENV)/bin/python:
	@PYTHON=$$(bin/find-python) && echo "Using $$PYTHON" && "$$PYTHON" -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $(VENV)/.runtime $@

demo: venv
	$(PY) manage.py seed_demo

messages: dev-venv
	$(PY) manage.py makemessages -a -e html,txt,py,js,webmanifest --ignore '.venv*' --ignore 'var/*' \
		--ignore 'tests/*' --ignore 'node_modules/*' --ignore 'export/*' --no-obsolete

clean:
	rm -rf $(VENV) var/staticfiles
