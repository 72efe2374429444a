//! The sales order model. Nothing here performs I/O.

pub mod account;
pub mod change;
pub mod customer;
pub mod decision;
pub mod ids;
pub mod line;
pub mod money;
pub mod order;
pub mod pricing;
pub mod shipment;

pub use account::{AccountSettings, Marketplace, MarketplaceAccount};
pub use change::{Applied, ChangeError, ChangeKind, MarketplaceOrder, MarketplaceOrderState, OrderChange};
pub use customer::{Address, Customer};
pub use decision::{Answer, AnsweredBy, Decision, DecisionKind, DecisionPolicy};
pub use ids::{AccountId, MarketplaceOrderId, OrderItemId, OrderKey, PackageId};
pub use line::{LineQuantity, OrderLine};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    HistoryEntry, OrderEvent, OrderState, OrderStatus, Payment, Release, SalesOrder, TransitionError,
};
pub use pricing::{LinePrice, Prices, PricingError};
pub use shipment::{Package, PackageLine, PackageState, ShipmentRequest};
