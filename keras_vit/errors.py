"""The base of the errors keras_vit raises for a failure it diagnosed itself.

Bad input is a `ValueError`, `FileNotFoundError` or `FileExistsError` that says what is wrong and what would
be valid; a failure found while working (an export out of tolerance, a diverged training run) is a
`KerasViTError`. The `keras-vit` command prints either kind as one line instead of a traceback.
"""


class KerasViTError(Exception):
    """A failure keras_vit diagnosed, with a message that says what happened and what to do."""
