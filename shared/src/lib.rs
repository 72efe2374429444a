//! Orderbridge: marketplace order intake for merchants, on AWS serverless.
//!
//! The crate is layered as ports and adapters:
//! - [`domain`]: sales orders, their status machine, money, ids — no I/O;
//! - [`ports`]: the traits the use cases talk to (order store, status queue, marketplace);
//! - [`usecases`]: import, status promotion, shipment confirmation;
//! - [`handlers`]: Lambda event payloads in, use case results out;
//! - [`adapters`]: DynamoDB, SQS, Secrets Manager, Amazon SP-API, and in-process stand-ins;
//! - [`wiring`]: builds the adapters once per process from the environment;
//! - `lambda` (feature `lambda`): the function binaries' serving loop.

pub mod adapters;
pub mod deadline;
pub mod domain;
pub mod handlers;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod logging;
pub mod ports;
pub mod usecases;
pub mod wiring;

pub use deadline::Deadline;
