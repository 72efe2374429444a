//! Typed identifiers. Each one validates what it accepts so a blank or malformed id never reaches
//! a table key or a marketplace call.

use super::Marketplace;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let reason = if value.trim().is_empty() {
                    Some("must not be blank")
                } else if value.len() > $max {
                    Some(concat!("longer than ", stringify!($max), " characters"))
                } else if value.chars().any(|c| c.is_control() || c == '#') {
                    Some("contains a control character or '#'")
                } else {
                    None
                };
                match reason {
                    Some(reason) => Err(InvalidId { kind: $kind, value: truncate(&value), reason }),
                    None => Ok(Self(value)),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn truncate(value: &str) -> String {
    value.chars().take(64).collect()
}

text_id!(
    /// The merchant's name for one connected marketplace account, e.g. `amazon-de`.
    AccountId,
    "account id",
    64
);
text_id!(
    /// The marketplace's own order number, e.g. Amazon's `302-1234567-1234567`, or for hubs
    /// that sell on several channels the channel and its order number (SCX: `OTTODE:4711`).
    MarketplaceOrderId,
    "marketplace order id",
    170
);
text_id!(
    /// The marketplace's id of one line of an order.
    OrderItemId,
    "order item id",
    100
);

/// One package of a shipment, numbered 1, 2, … per order. Amazon's `packageReferenceId` must be a
/// positive number, and reusing the same number makes a repeated confirmation idempotent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageId(u32);

impl PackageId {
    pub fn new(number: u32) -> Result<Self, InvalidId> {
        if number == 0 {
            return Err(InvalidId {
                kind: "package id",
                value: "0".into(),
                reason: "must be a positive number",
            });
        }
        Ok(Self(number))
    }

    pub fn number(self) -> u32 {
        self.0
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What identifies a sales order across Orderbridge: the marketplace, the account it came from
/// and the marketplace's order id. The same order number on two accounts is two orders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderKey {
    pub marketplace: Marketplace,
    pub account_id: AccountId,
    pub marketplace_order_id: MarketplaceOrderId,
}

impl OrderKey {
    pub fn new(
        marketplace: Marketplace,
        account_id: AccountId,
        marketplace_order_id: MarketplaceOrderId,
    ) -> Self {
        Self { marketplace, account_id, marketplace_order_id }
    }
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.marketplace, self.account_id, self.marketplace_order_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_key_breaking_ids_are_refused() {
        assert!(AccountId::parse("  ").is_err());
        assert!(AccountId::parse("a#b").is_err());
        assert!(MarketplaceOrderId::parse("x".repeat(171)).is_err());
        assert_eq!(AccountId::parse("amazon-de").unwrap().as_str(), "amazon-de");
    }

    #[test]
    fn package_ids_are_positive() {
        assert!(PackageId::new(0).is_err());
        assert_eq!(PackageId::new(3).unwrap().to_string(), "3");
    }
}
