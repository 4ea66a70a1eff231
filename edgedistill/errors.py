"""Errors the user can fix: the CLI prints them as one line and exits non-zero."""

# Long enough for a library's reason after its own prefix, short enough to keep an error on one terminal line.
FIRST_LINE_LIMIT = 160


class UserError(Exception):
    """A mistake in the user's input; the message says what to do about it."""


def first_line(exc: BaseException, limit: int = FIRST_LINE_LIMIT, tail: bool = False) -> str:
    """The first line of `exc`'s message cut to `limit` characters (the last ones with `tail`), for a one-line error;
    the exception's type name when the message is empty."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return line[-limit:] if tail else line[:limit]
