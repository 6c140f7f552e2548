"""The one error type for bad input: it names the file, node or region and what is wrong."""


class InputError(Exception):
    """Bad input that the user can fix; printed as one line, never as a traceback."""

    def __init__(self, subject: str, problem: str) -> None:
        super().__init__(f"{subject}: {problem}")
        self.subject = subject
        self.problem = problem
