//! What an order costs. Marketplaces send prices only once the payment is released (Amazon's
//! Pending orders carry none), so prices are a value an order either has in full or not at all:
//! a unit price for every line and the total, all in one currency.

use super::{Currency, Money, OrderItemId, OrderLine};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("line {0} has no unit price")]
    LineWithoutPrice(OrderItemId),
    #[error("a price was given for item {0}, which is not a line of the order")]
    PriceForUnknownLine(OrderItemId),
    #[error("line {item} has a negative unit price {price}")]
    NegativePrice { item: OrderItemId, price: Money },
    #[error("the total {total} and the unit price {price} of line {item} are in different currencies")]
    MixedCurrencies { item: OrderItemId, total: Money, price: Money },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinePrice {
    pub item_id: OrderItemId,
    pub unit_price: Money,
}

/// The prices of an order as the marketplace charged them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prices {
    /// What the buyer pays for the order in all (goods, shipping, taxes).
    pub total: Money,
    /// One unit price per line of the order.
    pub unit_prices: Vec<LinePrice>,
}

impl Prices {
    /// Prices for `lines`: every line must have exactly one unit price, all in the total's
    /// currency and none negative.
    pub fn new(lines: &[OrderLine], total: Money, unit_prices: Vec<LinePrice>) -> Result<Self, PricingError> {
        for price in &unit_prices {
            if !lines.iter().any(|l| l.item_id == price.item_id) {
                return Err(PricingError::PriceForUnknownLine(price.item_id.clone()));
            }
            if price.unit_price.currency != total.currency {
                return Err(PricingError::MixedCurrencies {
                    item: price.item_id.clone(),
                    total,
                    price: price.unit_price,
                });
            }
            if price.unit_price.minor_units < 0 {
                return Err(PricingError::NegativePrice {
                    item: price.item_id.clone(),
                    price: price.unit_price,
                });
            }
        }
        if let Some(line) = lines.iter().find(|l| !unit_prices.iter().any(|p| p.item_id == l.item_id)) {
            return Err(PricingError::LineWithoutPrice(line.item_id.clone()));
        }
        Ok(Self { total, unit_prices })
    }

    pub fn currency(&self) -> Currency {
        self.total.currency
    }

    pub fn unit_price(&self, item: &OrderItemId) -> Option<Money> {
        self.unit_prices.iter().find(|p| &p.item_id == item).map(|p| p.unit_price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(cents: i64) -> Money {
        Money::new(cents, Currency::parse("EUR").unwrap())
    }

    fn line(id: &str) -> OrderLine {
        OrderLine::new(OrderItemId::parse(id).unwrap(), None, None, None, 1)
    }

    fn price(id: &str, unit: Money) -> LinePrice {
        LinePrice { item_id: OrderItemId::parse(id).unwrap(), unit_price: unit }
    }

    #[test]
    fn prices_cover_every_line_in_one_currency() {
        let lines = [line("a"), line("b")];
        let prices = Prices::new(&lines, eur(300), vec![price("a", eur(100)), price("b", eur(200))]).unwrap();
        assert_eq!(prices.currency().code(), "EUR");
        assert_eq!(prices.unit_price(&OrderItemId::parse("b").unwrap()), Some(eur(200)));
    }

    #[test]
    fn incomplete_or_inconsistent_prices_are_refused_naming_the_line() {
        let lines = [line("a"), line("b")];
        let missing = Prices::new(&lines, eur(300), vec![price("a", eur(100))]).unwrap_err();
        assert_eq!(missing.to_string(), "line b has no unit price");
        let usd = Money::new(100, Currency::parse("USD").unwrap());
        let mixed = Prices::new(&lines, eur(300), vec![price("a", usd), price("b", eur(1))]).unwrap_err();
        assert!(mixed.to_string().contains("line a"), "{mixed}");
        let negative = Prices::new(&lines, eur(0), vec![price("a", eur(-1)), price("b", eur(1))]);
        assert!(matches!(negative, Err(PricingError::NegativePrice { .. })));
        let foreign = Prices::new(&lines[..1], eur(1), vec![price("a", eur(1)), price("b", eur(1))]);
        assert!(matches!(foreign, Err(PricingError::PriceForUnknownLine(_))));
    }
}
