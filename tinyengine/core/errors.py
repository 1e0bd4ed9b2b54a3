"""User-facing errors. Every problem with a user's input is a TinyMLError with a
one-line message naming the op / tensor / numbers; the CLI prints it and exits non-zero."""


class TinyMLError(Exception):
    """A problem with the user's input or environment, explained in one line."""


class UnsupportedModelError(TinyMLError):
    """The model is valid TFLite but uses something this engine does not implement."""


class MalformedModelError(TinyMLError):
    """The file is not a readable .tflite flatbuffer."""


def require_choice(what: str, value: str, choices) -> None:
    """Raise a TinyMLError naming `value` and the valid `choices` unless `value` is one of them."""
    if value not in choices:
        raise TinyMLError(f"unknown {what} '{value}' (choose from {', '.join(choices)})")
