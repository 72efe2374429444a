//! Adapters: the ports implemented over real services, and in-process stand-ins for the local
//! run.

pub mod dynamodb;
pub mod emf;
pub mod local;
pub mod marketplaces;
pub mod outbound;
pub mod pacing;
pub mod redact;
pub mod scx;
pub mod secrets;
pub mod sp_api;
pub mod sqs;
