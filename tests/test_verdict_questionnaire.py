"""The interactive questionnaire: in-process with string streams, and for real
through a pseudo-terminal running `python -m dlverify.cli questionnaire`, with
bad input re-asked, Ctrl-C, and a resumed second session."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from dlverify.verdict.answers import FIELD_PATHS, QUESTIONS, Answers, load_answers
from dlverify.verdict.questionnaire import QuestionnaireInterrupted, parse_input, run_questionnaire
from dlverify.verdict.answers import field_at

from verdict_helpers import answers_dict



def typed(value, kind: str) -> str:
    """What a person would type for a value."""
    if kind == "bool":
        return "yes" if value else "n"
    if kind == "list":
        return ", ".join(value)
    return str(value)


def script(data: dict) -> list[str]:
    """One typed line per field, in question order."""
    return [typed(data[q.section][f.name], f.kind) for q in QUESTIONS for f in q.fields]


@pytest.mark.parametrize("kind_path,text,value", [
    ("fundamentals.cnn", " 7 ", 7), ("advanced.gans", "impl", "implemented"), ("advanced.gnn", "N", "none"),
    ("education.degree", "MSc", "master"), ("education.degree", "phd", "phd"), ("education.degree", "b", "bachelor"),
    ("frameworks.custom_layers", "Yes", True), ("frameworks.custom_layers", "no", False),
    ("education.coursework", "linear algebra,  ml ,", ["linear algebra", "ml"]), ("education.coursework", "", []),
    ("goals.years_experience", "2.5", 2.5), ("goals.years_experience", "4", 4), ("fundamentals.projects", "", ""),
])
def test_typed_answers_are_parsed(kind_path, text, value):
    assert parse_input(field_at(kind_path), text) == (value, None)


@pytest.mark.parametrize("kind_path,text,error", [
    ("fundamentals.cnn", "eleven", "expected an integer from 0 to 10"),
    ("fundamentals.cnn", "11", "out of range"), ("fundamentals.cnn", "7.5", "expected an integer"),
    ("advanced.gans", "expert", "expected one of none, studied, implemented, trained"),
    ("advanced.gans", "", "expected one of"), ("education.degree", "mba", "expected one of none, bachelor"),
    ("frameworks.custom_layers", "maybe", "expected yes or no"),
    ("goals.location", "   ", "non-empty"), ("goals.years_experience", "lots", "a number of years"),
    ("goals.years_experience", "-1", "out of range"),
])
def test_bad_typed_answers_say_why(kind_path, text, error):
    value, problem = parse_input(field_at(kind_path), text)
    assert value is None and error in problem


def test_in_process_bad_input_is_reasked_and_end_of_input_resumes(tmp_path):
    target = answers_dict()
    lines = script(target)
    save = tmp_path / "answers.yaml"
    cnn = FIELD_PATHS.index("fundamentals.cnn")
    first = ["wizard"] + lines[:cnn] + ["eleven"] + lines[cnn:10]      # a bad degree, a bad rating
    out = io.StringIO()
    with pytest.raises(QuestionnaireInterrupted) as stop:
        run_questionnaire(io.StringIO("\n".join(first) + "\n"), out, save)
    assert stop.value.answered == 10
    text = out.getvalue()
    assert text.count("Highest degree") == 2 and "got 'wizard'. Please answer again." in text
    assert text.count("(b) CNNs") == 2 and "got 'eleven'. Please answer again." in text
    saved = save.read_text()
    assert saved.startswith("# dlverify questionnaire answers (partial: 10 of 42")
    out2 = io.StringIO()
    answers = run_questionnaire(io.StringIO("\n".join(lines[10:]) + "\n"), out2, save)
    assert "Resuming: 10 of 42 answers are already saved." in out2.getvalue()
    assert "Question 1 of 8" not in out2.getvalue()
    assert answers == Answers.from_dict(target) == load_answers(save)


def test_questions_build_on_earlier_answers(tmp_path):
    target = answers_dict(frameworks={"pytorch": 3, "tensorflow": 8}, education={"degree": "bachelor"})
    out = io.StringIO()
    run_questionnaire(io.StringIO("\n".join(script(target)) + "\n"), out, tmp_path / "a.yaml")
    text = out.getvalue()
    assert "Without a master's" in text
    assert f"You rated transformers {target['fundamentals']['transformers']}/10" in text
    assert "With TensorFlow/Keras: can you implement custom layers?" in text
    assert f"You rated backprop {target['fundamentals']['feedforward_backprop']}/10 in question 2" in text


def test_a_corrupt_save_file_is_refused_not_overwritten(tmp_path, cli):
    save = tmp_path / "answers.yaml"
    save.write_text("fundamentals: {cnn: 99}\n")
    run = cli("questionnaire", "--save", str(save))
    assert run.code == 2 and run.err.count("\n") == 1
    assert "cannot resume" in run.err and "fundamentals.cnn" in run.err and "--fresh" in run.err
    assert save.read_text() == "fundamentals: {cnn: 99}\n"


# --- a real terminal ---------------------------------------------------------------------

class Terminal:
    """`python -m dlverify.cli ...` on a pseudo-terminal, driven like a person would."""

    def __init__(self, *argv: str, cwd: Path):
        import pty

        pid, fd = pty.fork()
        if pid == 0:   # child: the pty is its controlling terminal, so ^C becomes SIGINT
            os.chdir(cwd)
            os.environ["COLUMNS"] = "120"
            os.execv(sys.executable, [sys.executable, "-m", "dlverify.cli", *argv])
        self.pid, self.fd, self.buffer = pid, fd, ""

    def expect(self, pattern: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            found = regex.search(self.buffer)
            if found:
                seen, self.buffer = self.buffer[:found.end()], self.buffer[found.end():]
                return seen
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; got: {self.buffer[-600:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:   # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    found = regex.search(self.buffer)
                    if found:
                        continue
                    raise AssertionError(f"terminal closed waiting for {pattern!r}; got: {self.buffer[-600:]!r}")
                self.buffer += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def interrupt(self) -> None:
        os.write(self.fd, b"\x03")

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:   # drain, or the child may block writing its last words
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if ready:
                    chunk = os.read(self.fd, 4096)
                    self.buffer += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError("the questionnaire did not exit")


def _prompt(path: str) -> str:
    # from the second letter: a follow-up may lower-case the first ("With PyTorch: can you ...")
    return re.escape(field_at(path).prompt[1:30])


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pseudo-terminal")
def test_real_terminal_reasks_survives_ctrl_c_and_resumes(tmp_path):
    target = answers_dict()
    lines = script(target)
    save = tmp_path / "answers.yaml"
    stop_at = FIELD_PATHS.index("frameworks.tensorflow")        # interrupt mid-question 3

    term = Terminal("questionnaire", "--save", str(save), cwd=tmp_path)
    term.expect(r"Question 1 of 8 - Educational foundation")
    for i, path in enumerate(FIELD_PATHS[:stop_at]):
        term.expect(_prompt(path))
        if path == "education.degree":
            term.send("wizard")
            term.expect(r"got 'wizard'\. Please answer again\.")
            term.expect(_prompt(path))
        if path == "fundamentals.cnn":
            term.send("11")
            term.expect(r"out of range\)\. Please answer again\.")
            term.expect(_prompt(path))
        term.send(lines[i])
    term.expect(_prompt("frameworks.tensorflow"))
    term.interrupt()
    term.expect(rf"stopped; {stop_at} of 42 answers are saved in .*Run the same command again to resume\.")
    assert term.wait() == 130
    partial = save.read_text()
    assert f"(partial: {stop_at} of 42" in partial and "pytorch: 8" in partial and "tensorflow" not in partial

    term = Terminal("questionnaire", "--save", str(save), cwd=tmp_path)
    term.expect(rf"Resuming: {stop_at} of 42 answers are already saved\.")
    term.expect(r"Question 3 of 8 - Deep-learning frameworks")
    for i, path in enumerate(FIELD_PATHS[stop_at:], start=stop_at):
        seen = term.expect(_prompt(path))
        if path == "frameworks.custom_layers":
            assert "With PyTorch:" in seen             # built on the ratings just given
        term.send(lines[i])
    term.expect(r"All 8 questions answered; saved to")
    term.expect(r"Next: dlverify assess --answers")
    assert term.wait() == 0
    assert load_answers(save) == Answers.from_dict(target)
