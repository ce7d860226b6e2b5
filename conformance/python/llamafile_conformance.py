"""pytest plugin of llamafile.ts's conformance run (`deno task conformance`).

- The harness prepares every model before the run and fetches nothing: `ServerPreset.load_all`
  (which downloads the presets' models by starting each server once) does nothing, and
  `download_file` takes the files the harness prepared or raises `ModelUnavailable`.
- Each test's outcome is appended as one JSON line to `$LLAMAFILE_CONFORMANCE_STATE/results.jsonl`.
"""
import json
import os

import pytest

STATE = os.environ.get("LLAMAFILE_CONFORMANCE_STATE", "")


class ModelUnavailable(RuntimeError):
    """A file the test downloads cannot be fetched or made here."""


def _no_download(url, output_file_path=None):
    prepared = json.loads(os.environ.get("LLAMAFILE_CONFORMANCE_FILES", "{}"))
    if url in prepared:
        return prepared[url]
    raise ModelUnavailable(f"model unavailable: {url} cannot be fetched here")


def pytest_configure(config):
    import utils

    utils.ServerPreset.load_all = staticmethod(lambda: None)
    utils.download_file = _no_download


def _record(entry):
    if not STATE:
        return
    with open(os.path.join(STATE, "results.jsonl"), "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        category = None
        if call.excinfo is not None:
            name = call.excinfo.type.__name__
            if name == "ClientUnavailable":
                category = "client unavailable"
            elif name == "ModelUnavailable":
                category = "model unavailable"
        text = ""
        if report.failed:
            text = str(report.longrepr)[-4000:]
        elif report.skipped and isinstance(report.longrepr, tuple):
            text = str(report.longrepr[2])
        if report.failed and "Server process died" in text:
            said = [
                line for line in (report.capstdout + report.capstderr).splitlines()
                if line.startswith("llamafile:") or line.startswith("llama-server stand-in:")
            ]
            if said:
                text += "\nE   server said: " + said[-1]
        _record({
            "test": item.nodeid,
            "outcome": report.outcome,
            "when": report.when,
            "category": category,
            "message": text,
        })
