"""Stand-in for Python's `openai` package in llamafile.ts's conformance run.

Debian 12 does not ship python3-openai and PyPI cannot be reached here, so llama.cpp's server
tests that drive the official Python client cannot run. Test files import `OpenAI` at module
level; this module lets them be collected, and every use of the client raises
`ClientUnavailable`, which the run counts apart as "client unavailable" (never as a pass).
"""


class ClientUnavailable(RuntimeError):
    """Raised on any use of the OpenAI client."""


_REASON = "OpenAI client unavailable: Python's openai package is not installed (Debian 12 does not ship it)"


class OpenAI:
    def __init__(self, *args, **kwargs):
        raise ClientUnavailable(_REASON)


class AsyncOpenAI(OpenAI):
    pass


def __getattr__(name):
    raise ClientUnavailable(f"{_REASON}; openai.{name} was asked for")
