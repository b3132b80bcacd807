"""The error that means "bad input": the command exits with code 2 and its message names the
file, the column and example rows. Every input check raises it or a subclass."""

from __future__ import annotations


class DataContractError(ValueError):
    """Input data breaks the contract; the message says where and how."""
