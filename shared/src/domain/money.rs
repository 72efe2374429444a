//! Money as integer minor units of an ISO 4217 currency. Marketplaces send decimal strings
//! ("19.99"); parsing them into minor units keeps every sum exact.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error(
        "amount {amount:?} is not a decimal number with at most {digits} fraction digits for {currency}"
    )]
    InvalidAmount { amount: String, currency: String, digits: u8 },
    #[error("amount {0:?} is out of range")]
    OutOfRange(String),
    #[error("cannot add {0} and {1}: different currencies")]
    CurrencyMismatch(String, String),
}

/// The currencies marketplaces in Orderbridge's reach sell in, with their minor-unit digits.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HUF", 2),
    ("INR", 2),
    ("JPY", 0),
    ("MXN", 2),
    ("NOK", 2),
    ("PLN", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TRY", 2),
    ("USD", 2),
    ("ZAR", 2),
];

/// An ISO 4217 currency that Orderbridge knows the minor units of. Stored as its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    digits: u8,
}

impl Currency {
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, digits)| Self { code, digits })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.chars().take(16).collect()))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn minor_digits(&self) -> u8 {
        self.digits
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in the currency's minor unit (cents for EUR).
    pub minor_units: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(minor_units: i64, currency: Currency) -> Self {
        Self { minor_units, currency }
    }

    /// Parses a decimal string such as "19.99" or "-5" in `currency`. More fraction digits than
    /// the currency has are accepted only when they are zeros ("19.990").
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let invalid = || MoneyError::InvalidAmount {
            amount: amount.chars().take(32).collect(),
            currency: currency.code.to_string(),
            digits: currency.digits,
        };
        let (negative, unsigned) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(invalid());
        }
        if unsigned.contains('.') && fraction.is_empty() {
            return Err(invalid());
        }
        let digits = usize::from(currency.digits);
        let (significant, extra) = fraction.split_at(fraction.len().min(digits));
        if extra.bytes().any(|b| b != b'0') {
            return Err(invalid());
        }
        let out_of_range = || MoneyError::OutOfRange(amount.chars().take(32).collect());
        let mut minor: i64 = whole.parse().map_err(|_| out_of_range())?;
        for _ in 0..digits {
            minor = minor.checked_mul(10).ok_or_else(out_of_range)?;
        }
        let mut fraction_value: i64 = 0;
        for (i, b) in significant.bytes().enumerate() {
            let place = 10_i64.pow((digits - i - 1) as u32);
            fraction_value += i64::from(b - b'0') * place;
        }
        minor = minor.checked_add(fraction_value).ok_or_else(out_of_range)?;
        Ok(Self::new(if negative { -minor } else { minor }, currency))
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(self.currency.to_string(), other.currency.to_string()));
        }
        self.minor_units
            .checked_add(other.minor_units)
            .map(|m| Money::new(m, self.currency))
            .ok_or_else(|| MoneyError::OutOfRange(format!("{self} + {other}")))
    }

    /// The amount as a decimal string, as marketplaces expect it ("19.99").
    pub fn decimal(&self) -> String {
        let digits = u32::from(self.currency.digits);
        if digits == 0 {
            return self.minor_units.to_string();
        }
        let scale = 10_i64.pow(digits);
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        format!("{sign}{}.{:0width$}", abs / scale as u64, abs % scale as u64, width = digits as usize)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        assert_eq!(Money::parse("19.99", eur()).unwrap().minor_units, 1999);
        assert_eq!(Money::parse("19.9", eur()).unwrap().minor_units, 1990);
        assert_eq!(Money::parse("19", eur()).unwrap().minor_units, 1900);
        assert_eq!(Money::parse("19.990", eur()).unwrap().minor_units, 1999);
        assert_eq!(Money::parse("-0.05", eur()).unwrap().minor_units, -5);
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::parse("1200", yen).unwrap().minor_units, 1200);
    }

    #[test]
    fn nonsense_amounts_and_currencies_are_refused() {
        for bad in ["", ".5", "1.", "1.999", "abc", "1e3", "+1", "1,00", "99999999999999999999"] {
            assert!(Money::parse(bad, eur()).is_err(), "{bad}");
        }
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("eur").is_err());
    }

    #[test]
    fn amounts_print_as_marketplace_decimals() {
        assert_eq!(Money::new(1999, eur()).decimal(), "19.99");
        assert_eq!(Money::new(-5, eur()).decimal(), "-0.05");
        assert_eq!(Money::new(7, Currency::parse("JPY").unwrap()).decimal(), "7");
    }

    #[test]
    fn sums_refuse_mixed_currencies() {
        let usd = Currency::parse("USD").unwrap();
        assert!(Money::new(1, eur()).checked_add(Money::new(1, usd)).is_err());
        assert_eq!(Money::new(1, eur()).checked_add(Money::new(2, eur())).unwrap().minor_units, 3);
    }
}
