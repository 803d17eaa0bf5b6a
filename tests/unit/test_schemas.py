"""Registration rules from API.md, and exact amounts in request bodies."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from serve.schemas import AmountRequest, LoginRequest, UserCreate


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": "alice_01",
        "email": "alice@example.com",
        "password": "Correct-Horse-42!",
        "first_name": "Alice",
        "last_name": "Liddell",
    }
    body.update(overrides)
    return body


def years_ago(years: int, today: date | None = None) -> date:
    today = today or date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February: that birthday falls on 28 February this year
        return today.replace(year=today.year - years, day=28)


def refused_fields(body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as error:
        UserCreate.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in error.value.errors()}


def test_a_complete_registration_is_accepted() -> None:
    user = UserCreate.model_validate(
        registration(
            phone="+14155550123", date_of_birth="1990-05-17", marketing_emails_consent=True
        )
    )

    assert (user.username, user.phone, user.date_of_birth) == (
        "alice_01",
        "+14155550123",
        date(1990, 5, 17),
    )
    assert user.marketing_emails_consent


def test_optional_fields_default_to_nothing() -> None:
    user = UserCreate.model_validate(registration())

    assert (user.phone, user.date_of_birth, user.marketing_emails_consent) == (None, None, False)


@pytest.mark.parametrize("username", ["abcdef", "A" + "b" * 29, "alice_01", "Bob_The_Builder"])
def test_a_username_of_6_to_30_word_characters_starting_with_a_letter_is_accepted(
    username: str,
) -> None:
    assert UserCreate.model_validate(registration(username=username)).username == username


@pytest.mark.parametrize(
    "username",
    [
        "abcde",
        "a" * 31,
        "1alice",
        "_alice",
        "alice-01",
        "alice 01",
        "alice.01",
        "\u0430lice_01",  # Cyrillic a: a look-alike
        "alicé_01",
        "alice_01\n",
        "",
    ],
)
def test_a_username_breaking_the_rules_is_refused(username: str) -> None:
    assert refused_fields(registration(username=username)) == {"username"}


@pytest.mark.parametrize(
    "password",
    [
        "Short-42!aa",  # 11 characters
        "A1!" + "a" * 126,  # 129 characters
        "correct-horse-42!",  # no upper case
        "CORRECT-HORSE-42!",  # no lower case
        "Correct-Horse-XX!",  # no digit
        "CorrectHorse4242",  # no symbol
    ],
)
def test_a_weak_password_is_refused(password: str) -> None:
    assert refused_fields(registration(password=password)) == {"password"}


@pytest.mark.parametrize("password", ["Abcdefghij1!", "A1!" + "a" * 125])
def test_a_password_of_12_to_128_characters_with_every_class_is_accepted(password: str) -> None:
    assert UserCreate.model_validate(registration(password=password)).password == password


@pytest.mark.parametrize("name", ["Al", "Mary-Jane", "O'Brien", "Anne Marie", "José", "Zoë", "A"])
def test_a_name_of_letters_with_spaces_hyphens_or_apostrophes_is_accepted(name: str) -> None:
    assert UserCreate.model_validate(registration(first_name=name)).first_name == name


@pytest.mark.parametrize(
    "name", ["", "A" * 51, "R2D2", " Alice", "Alice ", "Anne  Marie", "Anne--Marie", "<b>", "_"]
)
def test_a_name_breaking_the_rules_is_refused(name: str) -> None:
    assert refused_fields(registration(first_name=name, last_name=name)) == {
        "first_name",
        "last_name",
    }


@pytest.mark.parametrize("phone", ["+14155550123", "4155550123", "+441234567"])
def test_an_international_phone_number_is_accepted(phone: str) -> None:
    assert UserCreate.model_validate(registration(phone=phone)).phone == phone


@pytest.mark.parametrize(
    "phone", ["123", "+0123456789", "phone", "+1 415 555 0123", "+1234567890123456"]
)
def test_a_phone_number_breaking_the_rules_is_refused(phone: str) -> None:
    assert refused_fields(registration(phone=phone)) == {"phone"}


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com"])
def test_an_invalid_email_is_refused(email: str) -> None:
    assert refused_fields(registration(email=email)) == {"email"}


def test_a_user_who_turns_13_today_may_register() -> None:
    birthday = years_ago(13)

    assert UserCreate.model_validate(registration(date_of_birth=birthday)).date_of_birth == birthday


def test_a_user_one_day_short_of_13_is_refused() -> None:
    birthday = years_ago(13) + timedelta(days=1)

    assert refused_fields(registration(date_of_birth=birthday.isoformat())) == {"date_of_birth"}


@pytest.mark.parametrize("birthday", ["1800-01-01", "2999-01-01", "not-a-date"])
def test_an_implausible_date_of_birth_is_refused(birthday: str) -> None:
    assert refused_fields(registration(date_of_birth=birthday)) == {"date_of_birth"}


@pytest.mark.parametrize("field", ["balance", "role", "username_display", "is_admin"])
def test_an_unknown_field_is_refused(field: str) -> None:
    assert refused_fields(registration(**{field: "1000000"})) == {field}


def test_every_missing_required_field_is_reported() -> None:
    assert refused_fields({}) == {"username", "email", "password", "first_name", "last_name"}


def test_a_login_needs_both_fields_and_nothing_else() -> None:
    LoginRequest.model_validate({"username": "alice_01", "password": "x"})

    with pytest.raises(ValidationError):
        LoginRequest.model_validate({"username": "alice_01", "password": "x", "remember": True})
    with pytest.raises(ValidationError):
        LoginRequest.model_validate({"username": "", "password": "x"})


def test_an_amount_keeps_every_digit_of_an_exact_decimal() -> None:
    body = AmountRequest.model_validate({"amount": Decimal("10.000000000000001")})

    assert body.amount == Decimal("10.000000000000001")


@pytest.mark.parametrize("amount", ["12.34", 12, Decimal("12.34")])
def test_an_amount_accepts_strings_integers_and_decimals(amount: object) -> None:
    assert AmountRequest.model_validate({"amount": amount}).amount == Decimal(str(amount))


@pytest.mark.parametrize("amount", [12.34, "NaN", "Infinity", "abc", None, True])
def test_an_amount_refuses_floats_and_non_numbers(amount: object) -> None:
    with pytest.raises(ValidationError):
        AmountRequest.model_validate({"amount": amount})


def test_an_amount_field_error_does_not_carry_the_input_into_its_message() -> None:
    with pytest.raises(ValidationError) as error:
        AmountRequest.model_validate({"amount": "abcXYZ"})

    assert "abcXYZ" not in error.value.errors()[0]["msg"]


def test_the_openapi_schema_documents_amounts_as_decimal_strings_with_two_places() -> None:
    amount = AmountRequest.model_json_schema()["properties"]["amount"]

    strings = [o for o in amount.get("anyOf", [amount]) if o.get("type") == "string"]
    assert len(strings) == 1
    assert re.fullmatch(strings[0]["pattern"], "100.00")
    assert not re.fullmatch(strings[0]["pattern"], "100.001")


def test_an_explicit_null_date_of_birth_is_accepted() -> None:
    assert UserCreate.model_validate(registration(date_of_birth=None)).date_of_birth is None
