//! Connected marketplace accounts. An account says where its marketplace API lives and where its
//! credentials are kept; the credentials themselves never enter the table.

use super::AccountId;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marketplace {
    Amazon,
}

impl Marketplace {
    pub fn as_str(&self) -> &'static str {
        match self {
            Marketplace::Amazon => "amazon",
        }
    }
}

impl fmt::Display for Marketplace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceAccount {
    pub id: AccountId,
    pub enabled: bool,
    pub settings: AccountSettings,
}

impl MarketplaceAccount {
    pub fn marketplace(&self) -> Marketplace {
        match self.settings {
            AccountSettings::Amazon(_) => Marketplace::Amazon,
        }
    }

    /// The marketplace's id of the seller, which its pushes name.
    pub fn seller_id(&self) -> Option<&str> {
        match &self.settings {
            AccountSettings::Amazon(settings) => settings.seller_id.as_deref(),
        }
    }
}

/// Per-marketplace connection settings; the variant decides the marketplace, so an account can't
/// carry settings of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "marketplace", rename_all = "snake_case")]
pub enum AccountSettings {
    Amazon(AmazonSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmazonSettings {
    /// Selling Partner API endpoint, e.g. the EU endpoint, or a loopback sandbox in tests.
    pub api_base_url: String,
    /// Login with Amazon token endpoint.
    pub token_url: String,
    /// Secrets Manager secret id holding `{"client_id","client_secret","refresh_token"}`.
    pub credentials_secret: String,
    /// Amazon marketplace ids to import, e.g. `A1PA6795UKMFR9` for amazon.de.
    pub marketplace_ids: Vec<String>,
    /// How far before "now" an import window must end. Amazon requires at least 120 s.
    pub window_lag_secs: u32,
    /// How far each window reaches back before the cursor, to catch late-indexed changes.
    pub overlap_secs: u32,
    /// Where the first import of a new account starts, in hours before now.
    pub initial_lookback_hours: u32,
    /// The merchant's selling partner id, which Amazon's notifications name (`SellerId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_id: Option<String>,
    /// Usage plans Amazon raised for this seller; other operations are paced at the
    /// documented defaults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quota_overrides: Vec<QuotaOverride>,
}

/// A usage plan for one SP-API operation (e.g. `getOrder`) that differs from the documented one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaOverride {
    pub operation: String,
    pub requests_per_hour: u32,
    pub burst: u32,
}

impl AmazonSettings {
    pub const DEFAULT_WINDOW_LAG_SECS: u32 = 120;
    pub const DEFAULT_OVERLAP_SECS: u32 = 300;
    pub const DEFAULT_INITIAL_LOOKBACK_HOURS: u32 = 72;
}
