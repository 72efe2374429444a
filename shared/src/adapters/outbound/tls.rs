//! Transport security of marketplace calls.

use crate::domain::AccountId;
use crate::ports::MarketplaceError;

/// Every marketplace call goes over TLS; plain HTTP is accepted only for loopback addresses,
/// where the sandbox runs in tests and the local run.
pub fn require_tls(account: &AccountId, url: &str) -> Result<(), MarketplaceError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| MarketplaceError::Credentials {
        account: account.clone(),
        message: format!("invalid URL {url:?}: {e}"),
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(MarketplaceError::Credentials {
            account: account.clone(),
            message: format!("{url:?} must use https (plain http only for loopback test endpoints)"),
        }),
    }
}
