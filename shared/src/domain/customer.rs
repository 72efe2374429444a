//! Buyer and shipping address. This is the personal data Orderbridge holds; its `Debug` output is
//! redacted so a stray `{:?}` in a log line can't leak it.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub buyer_name: Option<String>,
    pub buyer_email: Option<String>,
    pub company: Option<String>,
    pub shipping_address: Address,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub company: Option<String>,
    pub lines: Vec<String>,
    pub city: String,
    pub postal_code: Option<String>,
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    pub phone: Option<String>,
}

impl Customer {
    /// What is left of a customer once the buyer data is erased: the destination country, a
    /// business fact (taxes, statistics), and nothing that identifies a person.
    pub fn erased(&self) -> Customer {
        Customer {
            buyer_name: None,
            buyer_email: None,
            company: None,
            shipping_address: Address {
                name: String::new(),
                company: None,
                lines: Vec::new(),
                city: String::new(),
                postal_code: None,
                region: None,
                country_code: self.shipping_address.country_code.clone(),
                phone: None,
            },
        }
    }

    pub fn is_erased(&self) -> bool {
        *self == self.erased()
    }
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Customer { <redacted> }")
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address {{ country_code: {:?}, <redacted> }}", self.country_code)
    }
}
