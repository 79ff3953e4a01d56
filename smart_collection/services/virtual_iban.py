"""Virtual IBANs from a bank's account range: the account number a customer pays to names them.

The bank gives a country, a bank (and branch) code and a block of account numbers; each number
of the block, once written with the range's fixed prefix, becomes one IBAN. Check digits, the
national ones included (French RIB key, Spanish DC...), come from schwifty: never computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException


class VirtualIbanError(ValueError):
    """The range cannot produce a valid IBAN; the message says why."""


@dataclass(frozen=True)
class AccountRange:
    country: str  # ISO 3166 code, e.g. "FR"
    bank_code: str
    branch_code: str = ""
    prefix: str = ""  # fixed start of the account code
    width: int = 6  # digits numbered after the prefix

    @property
    def capacity(self) -> int:
        return 10**self.width


def account_code(account_range: AccountRange, number: int) -> str:
    if not 0 <= number < account_range.capacity:
        raise VirtualIbanError(
            f"number {number} is outside the range (0 to {account_range.capacity - 1})"
        )
    return f"{account_range.prefix}{number:0{account_range.width}d}"


def generate(account_range: AccountRange, number: int) -> str:
    """The IBAN of ``number`` in the range, electronic format (no spaces)."""
    code = account_code(account_range, number)
    try:
        iban = IBAN.generate(
            account_range.country.upper(),
            bank_code=account_range.bank_code,
            account_code=code,
            branch_code=account_range.branch_code,
        )
        iban.validate()
    except (SchwiftyException, ValueError, TypeError) as exc:
        raise VirtualIbanError(f"{account_range.country} {account_range.bank_code} "
                               f"{account_range.branch_code} {code}: {exc}")
    return str(iban.compact)
