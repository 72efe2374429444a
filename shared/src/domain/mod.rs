//! The sales order model. Nothing here performs I/O.

pub mod account;
pub mod customer;
pub mod ids;
pub mod money;
pub mod order;
pub mod pricing;
pub mod shipment;

pub use account::{AccountSettings, Marketplace, MarketplaceAccount};
pub use customer::{Address, Customer};
pub use ids::{AccountId, MarketplaceOrderId, OrderItemId, OrderKey, PackageId};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    HistoryEntry, MarketplaceOrder, MarketplaceOrderState, OrderEvent, OrderLine, OrderState, OrderStatus,
    Payment, Release, SalesOrder, TransitionError,
};
pub use pricing::{LinePrice, Prices, PricingError};
pub use shipment::{Package, PackageLine, PackageState, ShipmentRequest};
