//! Calls to marketplace APIs over HTTP, for every marketplace adapter: a request as a value
//! ([`ApiRequest`]), pacing at the account's usage plans, access tokens cached and renewed
//! early ([`TokenCache`]), retries with backoff and jitter that honour `Retry-After` and
//! rate-limit headers within the invocation's time ([`RetryPolicy`]), and one mapping of HTTP
//! outcomes to [`MarketplaceError`](crate::ports::MarketplaceError) ([`classify`]).
//!
//! An adapter supplies what differs per marketplace: its [`TokenSource`], where the token goes
//! ([`TokenPlacement`]), its usage plans ([`PacingPlan`]) and how it reports rate limits
//! ([`RateLimitHeaders`]).

mod caller;
mod classify;
mod clients;
mod request;
mod retry;
mod tls;
mod token;

pub use caller::{ApiCaller, Pacing, PacingPlan, TokenPlacement};
pub use classify::{classify, describe, error_messages, is_token_rejection, transport_failure};
pub use clients::{ClientPool, Connection};
pub use request::{ApiRequest, ApiResponse, RequestBody};
pub use retry::{
    jitter, parse_retry_after, throttle_hint, x_ratelimit_headers, RateLimit, RateLimitHeaders, RetryPolicy,
};
pub use tls::require_tls;
pub use token::{request_token, AccessToken, TokenCache, TokenSource};

#[cfg(test)]
mod wire_tests;
