"""Request and response schemas (``XCreate`` in, ``XPublic`` out); unknown fields are refused."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    WithJsonSchema,
)

from actors.domain.money import parse_decimal

USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{5,29}$")
NAME = re.compile(r"^[^\W\d_]+(?:[ '\-][^\W\d_]+)*$")
PHONE = re.compile(r"^\+?[1-9][0-9]{6,14}$")
SYMBOL = re.compile(r"[^A-Za-z0-9]")
MIN_AGE_YEARS = 13


def _username(value: str) -> str:
    if not USERNAME.fullmatch(value):
        raise ValueError(
            "Use 6 to 30 letters, digits or underscores, starting with a letter (ASCII only)."
        )
    return value


def _password(value: str) -> str:
    checks = [
        any(c.isupper() for c in value),
        any(c.islower() for c in value),
        any(c.isdigit() for c in value),
        bool(SYMBOL.search(value)),
    ]
    if not all(checks):
        raise ValueError("Use upper and lower case letters, a digit and a symbol.")
    return value


def _name(value: str) -> str:
    if not NAME.fullmatch(value):
        raise ValueError("Use letters, with single spaces, hyphens or apostrophes between them.")
    return value


def _phone(value: str | None) -> str | None:
    if value is not None and not PHONE.fullmatch(value):
        raise ValueError("Use an international number such as +14155550123.")
    return value


def _birth_date(value: date | None) -> date | None:
    if value is None:
        return None
    today = date.today()
    age = today.year - value.year - ((today.month, today.day) < (value.month, value.day))
    if age < MIN_AGE_YEARS or age > 150:
        raise ValueError(f"You must be at least {MIN_AGE_YEARS} years old.")
    return value


def _exact_decimal(value: object) -> Decimal:
    return parse_decimal(value)  # InvalidAmountError is a ValueError: a 422 on the field


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, Field(min_length=12, max_length=128), AfterValidator(_password)]
PersonName = Annotated[str, Field(min_length=1, max_length=50), AfterValidator(_name)]
Amount = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}, {"type": "number"}],
            "description": "A decimal string (preferred) or an exact JSON number.",
            "examples": ["100.00"],
        }
    ),
]


class Strict(BaseModel):
    """Refuse unknown fields (``balance`` or ``role`` in a registration, say)."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(Strict):
    username: Username
    email: EmailStr
    password: Password
    first_name: PersonName
    last_name: PersonName
    phone: Annotated[str | None, AfterValidator(_phone)] = None
    date_of_birth: Annotated[date | None, AfterValidator(_birth_date)] = None
    marketing_emails_consent: bool = False


class UserPublic(BaseModel):
    username: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    date_of_birth: str | None
    marketing_emails_consent: bool
    role: str
    created_at: str
    updated_at: str


class LoginRequest(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096)]


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class ProfileUpdate(Strict):
    """The fields a user may change (never username, balance or role); absent ones stay."""

    email: EmailStr | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: Annotated[str | None, AfterValidator(_phone)] = None
    date_of_birth: Annotated[date | None, AfterValidator(_birth_date)] = None
    marketing_emails_consent: bool | None = None


class AmountRequest(Strict):
    amount: Amount


class BalancePublic(BaseModel):
    current_balance: str
    available_balance: str
    held_balance: str
    updated_at: str | None


class BalanceChangePublic(BaseModel):
    success: bool
    message: str
    transaction_id: str
    timestamp: str
    balance: str


class TransactionPublic(BaseModel):
    transaction_id: str
    transaction_type: str
    amount: str
    balance_after: str
    status: str
    created_at: str
    order_id: str | None = None


class TransactionsPublic(BaseModel):
    transactions: list[TransactionPublic]
    total_count: int
    has_more: bool
    next_cursor: str | None


class HealthPublic(BaseModel):
    status: str
    service: str
    version: str
    timestamp: str


class ReadinessPublic(BaseModel):
    status: str
    checks: dict[str, str]


Quantity = Annotated[
    Decimal,
    BeforeValidator(_exact_decimal),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "pattern": r"^\d+(\.\d{1,8})?$"}, {"type": "number"}],
            "description": "A decimal string or an exact JSON number; 8 places at most.",
            "examples": ["0.5"],
        }
    ),
]
ClientOrderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
AssetId = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")]


class OrderCreate(Strict):
    order_type: Literal["market_buy", "market_sell", "limit_buy", "limit_sell"]
    asset_id: AssetId
    quantity: Quantity
    price: Quantity | None = Field(default=None, description="The limit price (limit orders only).")
    client_order_id: ClientOrderId | None = None
    expires_at: AwareDatetime | None = Field(
        default=None, description="When a queued limit order expires (limit orders only)."
    )


class OrderPublic(BaseModel):
    order_id: str
    client_order_id: str | None
    order_type: str
    asset_id: str
    quantity: str
    price: str
    status: str
    filled_price: str | None
    total_amount: str | None
    created_at: str
    updated_at: str
    expires_at: str | None = None


class OrderEnvelope(BaseModel):
    data: OrderPublic


class OrdersPublic(BaseModel):
    data: list[OrderPublic]
    has_more: bool
    next_cursor: str | None


class HoldingPublic(BaseModel):
    asset_id: str
    asset_name: str | None
    quantity: str
    available_quantity: str
    held_quantity: str
    average_cost: str
    current_price: str | None
    total_value: str | None
    created_at: str | None
    updated_at: str | None


class PortfolioAssetPublic(BaseModel):
    asset_id: str
    asset_name: str | None
    quantity: str
    available_quantity: str
    held_quantity: str
    current_price: str | None
    market_value: str | None
    percentage: str | None
    average_cost: str
    unrealized_pnl: str | None


class PortfolioPublic(BaseModel):
    cash_balance: str
    available_cash: str
    held_cash: str
    total_value: str
    assets: list[PortfolioAssetPublic]


class AssetTransactionPublic(BaseModel):
    transaction_id: str
    order_id: str
    transaction_type: str
    asset_id: str
    quantity: str
    price: str
    total_amount: str
    holding_after: str
    created_at: str


class AssetTransactionsPublic(BaseModel):
    transactions: list[AssetTransactionPublic]
    has_more: bool
    next_cursor: str | None
