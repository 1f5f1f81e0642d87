"""The one exception type that library code raises for bad input.

The CLI turns it into one red line and exit code 1; a Python user gets a
message in the Keras style: what happened, what was expected, how to fix it.
"""


class KerasDoctorError(Exception):
    """Bad input: a workload, data, argument or environment we cannot use."""
