"""The one kind of stop every layer may raise: the input or the state of the folders is something the user
must fix (exit code 2 at the command line, one message in Chinese and English, never a traceback).
``helpers.intake.readers.IntakeStop`` is the intake's own (its message passes the scrubber)."""


class Stop(Exception):
    """A problem the user must fix; the message says what and how."""
