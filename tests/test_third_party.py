"""third_party.to_log: library warnings and log records go to the build's log file, not the screen."""

from __future__ import annotations

import io
import logging
import os
import warnings

import pytest

from edgedistill.third_party import LOG_FILE, native_stderr, to_log


@pytest.fixture
def library_logger():
    """A logger that prints through its own console handler and does not propagate, as torch's and transformers' do."""
    logger = logging.getLogger("fakelib.exporter")
    screen = io.StringIO()
    logger.addHandler(logging.StreamHandler(screen))
    logger.propagate = False
    yield logger, screen
    logger.handlers.clear()
    logger.propagate = True


def test_a_library_warning_goes_to_the_log_and_its_logger_is_put_back(library_logger, tmp_path, capsys):
    logger, screen = library_logger
    with to_log(tmp_path / LOG_FILE):
        logger.warning("torchvision is not installed. Skipping torchvision::nms")
    assert screen.getvalue() == "" and capsys.readouterr().err == ""
    assert "WARNING fakelib.exporter: torchvision is not installed" in (tmp_path / LOG_FILE).read_text()
    assert logger.propagate is False
    logger.warning("after the build")
    assert screen.getvalue() == "after the build\n"


def test_a_console_handler_added_during_the_build_is_taken_over_too(tmp_path, capsys):
    logger = logging.getLogger("fakelib.imported_late")
    screen = io.StringIO()
    try:
        with to_log(tmp_path / LOG_FILE):
            logger.addHandler(logging.StreamHandler(screen))  # a library imported mid-build sets up its logging
            logger.propagate = False
            logger.warning("Resetting threadpool")
        assert screen.getvalue() == "" and "Resetting threadpool" in (tmp_path / LOG_FILE).read_text()
    finally:
        logger.handlers.clear()
        logger.propagate = True


def test_errors_stay_on_screen_and_verbose_shows_everything(tmp_path, capsys):
    logger = logging.getLogger("fakelib.quantizer")
    with to_log(tmp_path / LOG_FILE):
        logger.warning("Please consider to run pre-processing before quantization")
        logger.error("the quantizer failed")
    err = capsys.readouterr().err
    assert "the quantizer failed" in err and "pre-processing" not in err
    with to_log(tmp_path / LOG_FILE, verbose=True):
        logger.warning("Please consider to run pre-processing before quantization")
    assert "pre-processing" in capsys.readouterr().err
    assert "pre-processing" in (tmp_path / LOG_FILE).read_text()


def test_python_warnings_go_to_the_log(tmp_path, capsys):
    with to_log(tmp_path / LOG_FILE):
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated", FutureWarning, stacklevel=1)
    assert "LeafSpec" not in capsys.readouterr().err
    assert "FutureWarning: `isinstance(treespec, LeafSpec)` is deprecated" in (tmp_path / LOG_FILE).read_text()


def test_native_writes_to_fd_2_become_log_records(tmp_path, capfd, caplog):
    with to_log(tmp_path / LOG_FILE), native_stderr("fakelib"):
        os.write(2, b"[threadpool.cpp:66] Resetting threadpool to 4 threads.\n")
    assert capfd.readouterr().err == ""
    assert "WARNING fakelib: [threadpool.cpp:66] Resetting threadpool" in (tmp_path / LOG_FILE).read_text()
    # Outside a build the record is a WARNING like any other: with no logging set up, Python prints it on stderr.
    with native_stderr("fakelib"):
        os.write(2, b"[threadpool.cpp:66] Resetting threadpool to 2 threads.\n")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records][-1] == \
        ("fakelib", logging.WARNING, "[threadpool.cpp:66] Resetting threadpool to 2 threads.")


def test_no_log_nor_folder_without_warnings_and_a_nested_build_writes_to_the_outer_log(tmp_path):
    (tmp_path / LOG_FILE).write_text("an earlier build's warnings\n")
    with to_log(tmp_path / LOG_FILE), to_log(tmp_path / "refused" / LOG_FILE):
        pass
    assert not (tmp_path / LOG_FILE).exists() and not (tmp_path / "refused").exists()
    with to_log(tmp_path / "out" / LOG_FILE):
        logging.getLogger("fakelib").warning("the first warning makes the folder")
    assert (tmp_path / "out" / LOG_FILE).is_file()
    inner = tmp_path / "bundles" / LOG_FILE
    with to_log(tmp_path / LOG_FILE), to_log(inner):
        logging.getLogger("fakelib").warning("from an export stage")
    assert not inner.exists() and "from an export stage" in (tmp_path / LOG_FILE).read_text()
