"""The ledger in a trader's words: what caused a journal, named as a person would."""

from __future__ import annotations

# "<noun>" of a journal's reference "<noun>:<id>[:...]" -> how a person names it; "{id}" is the
# first part after the noun, "{symbol}" the market of a trade ("trade:LPJ-KRW:77").
_REFERENCE_WORDS = {
    "order": "Order #{id}",
    "trade": "Trade on {symbol}",
    "deposit": "Deposit #{id}",
    "withdrawal": "Withdrawal #{id}",
    "adjustment": "Adjustment by the exchange",
    "copy": "Copy trading",
    "profit_share": "Copy trading profit share",
    "demo-bot-topup": "Demo top-up",
}


def journal_reference_words(reference: str) -> str:
    """``"order:12"`` -> ``"Order #12"``, ``"trade:LPJ-KRW:77"`` -> ``"Trade on LPJ-KRW"``; a
    reference of another shape shows as "Other" (never the internal form)."""
    noun, _, rest = reference.partition(":")
    words = _REFERENCE_WORDS.get(noun)
    if words is None:
        return "Other"
    first = rest.split(":", 1)[0]
    return words.format(id=first, symbol=first)
