"""The one exception a driver raises when a submission breaks the calling contract.

Lives in sandbox/ because it runs next to candidate code; the host only ever
sees its message, as data.
"""


class ContractError(Exception):
    """The submission does not meet the exercise's contract (one-line message)."""
