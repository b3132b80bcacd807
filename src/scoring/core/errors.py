"""The error that means "bad input" and the exit codes every command uses.

Bad input exits with code 2 and its message names the file, the column and example rows;
every input check raises DataContractError or a subclass."""

from __future__ import annotations


class DataContractError(ValueError):
    """Input data breaks the contract; the message says where and how."""


# Exit codes of every leadscore command (schedulers branch on them; README lists them).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_KEPT = 3  # retrain: the champion stays
EXIT_AWAITING_APPROVAL = 4  # retrain: the challenger waits for a person
EXIT_INTERRUPTED = 130
