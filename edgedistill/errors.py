"""Errors the user can fix: the CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """A mistake in the user's input; the message says what to do about it."""
