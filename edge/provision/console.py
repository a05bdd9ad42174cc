"""The technician's terminal: questions with a default that Enter accepts, answers checked
and asked again, secrets never echoed. Reads lines, so a script can answer too."""

import getpass
from collections.abc import Callable
from typing import TextIO

_TRIES = 5
Check = Callable[[str], str | None]


class NoAnswer(Exception):
    pass


class Console:
    def __init__(self, answers: TextIO, out: TextIO) -> None:
        self._answers = answers
        self._out = out

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def read_line(self) -> str:
        line = self._answers.readline()
        if not line:
            raise NoAnswer("no answer: the input ended")
        return line.strip()

    def ask(self, question: str, default: str = "", check: Check | None = None, *,
            empty_means: str = "") -> str:
        """The answer, `default` on Enter, or "" on Enter when `empty_means` says what that
        leaves (e.g. "keep tls/ca.pem"); asked again while `check` finds a problem."""
        hint = f" [{default}]" if default else f" [Enter: {empty_means}]" if empty_means else ""
        for _ in range(_TRIES):
            self._out.write(f"{question}{hint}: ")
            self._out.flush()
            answer = self.read_line() or default
            if not answer and empty_means:
                return ""
            problem = check(answer) if check else (None if answer else "an answer is needed")
            if problem is None:
                return answer
            self.say(f"  {problem}")
        raise NoAnswer(f"no usable answer to {question!r} after {_TRIES} tries")

    def confirm(self, question: str, default: bool) -> bool:
        answer = self.ask(question, "y" if default else "n",
                          lambda a: None if a.lower() in ("y", "yes", "n", "no") else "y or n")
        return answer.lower().startswith("y")

    def ask_secret_twice(self, question: str, check: Check) -> str:
        for _ in range(_TRIES):
            secret, again = self._secret(f"{question}: "), self._secret("Once more: ")
            problem = "the two differ" if secret != again else check(secret)
            if problem is None:
                return secret
            self.say(f"  {problem}")
        raise NoAnswer(f"no usable answer to {question!r} after {_TRIES} tries")

    def _secret(self, prompt: str) -> str:
        if self._answers.isatty():
            return getpass.getpass(prompt)
        self._out.write(prompt)
        self._out.flush()
        return self.read_line()
