"""The one exception type that the golden decoder raises on bad input."""


class FormatError(ValueError):
    """A malformed, truncated or foreign fmcodec stream.

    Parameters
    ----------
    offset : int
        Byte offset in the file (container) or in the raw stream where the
        problem was found.
    message : str
        What is wrong there.
    """

    def __init__(self, offset, message):
        self.offset = int(offset)
        self.reason = message
        super().__init__(f"byte offset {self.offset}: {message}")
