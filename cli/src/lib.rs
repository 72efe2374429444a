//! Orderbridge's command line as a library: the embedded store, the local run, and the
//! operator commands, so tests drive exactly what the `orderbridge` binary does.

pub mod accounts;
pub mod aws;
pub mod commands;
pub mod decisions;
pub mod doctor;
pub mod embedded;
pub mod errors;
pub mod local_run;
pub mod queues;
pub mod target;
