//! Orderbridge's command line as a library: the embedded store, the local run, and the
//! operator commands, so tests drive exactly what the `orderbridge` binary does.

pub mod commands;
pub mod embedded;
pub mod local_run;
