//! The sales order model. Nothing here performs I/O.

pub mod account;
pub mod customer;
pub mod ids;
pub mod money;
pub mod order;
pub mod shipment;

pub use account::{AccountSettings, Marketplace, MarketplaceAccount};
pub use customer::{Address, Customer};
pub use ids::{AccountId, MarketplaceOrderId, OrderItemId, OrderKey, PackageId};
pub use money::{Currency, Money, MoneyError};
pub use order::{
    MarketplaceOrder, MarketplaceOrderState, OrderLine, OrderState, OrderStatus, Payment, SalesOrder,
    TransitionError,
};
pub use shipment::{Package, PackageLine, PackageState, ShipmentRequest};
