//! Connected marketplace accounts. An account says where its marketplace API lives and where its
//! credentials are kept; the credentials themselves never enter the table.

use super::{AccountId, DecisionPolicy};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marketplace {
    Amazon,
    /// JTL's sales-channel hub SCX, seller side: OTTO, Kaufland, Conrad and more, as one feed.
    Scx,
}

impl Marketplace {
    pub fn as_str(&self) -> &'static str {
        match self {
            Marketplace::Amazon => "amazon",
            Marketplace::Scx => "scx",
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
            AccountSettings::Scx(_) => Marketplace::Scx,
        }
    }

    /// The marketplace's id of the seller, which its pushes name.
    pub fn seller_id(&self) -> Option<&str> {
        match &self.settings {
            AccountSettings::Amazon(settings) => settings.seller_id.as_deref(),
            AccountSettings::Scx(settings) => Some(settings.seller_id.as_str()),
        }
    }

    /// Where the account's marketplace API lives.
    pub fn api_base_url(&self) -> &str {
        match &self.settings {
            AccountSettings::Amazon(settings) => &settings.api_base_url,
            AccountSettings::Scx(settings) => &settings.api_base_url,
        }
    }

    /// The Secrets Manager secret holding the account's credentials.
    pub fn credentials_secret(&self) -> &str {
        match &self.settings {
            AccountSettings::Amazon(settings) => &settings.credentials_secret,
            AccountSettings::Scx(settings) => &settings.credentials_secret,
        }
    }

    /// How the account answers decisions the marketplace leaves to the seller.
    pub fn decision_policy(&self) -> DecisionPolicy {
        match &self.settings {
            AccountSettings::Amazon(_) => DecisionPolicy::default(),
            AccountSettings::Scx(settings) => settings.decision_policy,
        }
    }
}

/// Per-marketplace connection settings; the variant decides the marketplace, so an account can't
/// carry settings of the wrong kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "marketplace", rename_all = "snake_case")]
pub enum AccountSettings {
    Amazon(AmazonSettings),
    Scx(ScxSettings),
}

/// A seller account at JTL's SCX hub. One seller account sells on several channels; an
/// Orderbridge account imports all of them or only `channels`, so that JTL-Wawi and
/// Orderbridge can split one seller account's channels instead of competing for its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScxSettings {
    /// The SCX API, or a loopback sandbox in tests.
    pub api_base_url: String,
    /// Secrets Manager secret id holding `{"refresh_token": "…"}` (JTL's seller refresh token).
    pub credentials_secret: String,
    /// The seller's id at SCX (`sellerId`).
    pub seller_id: String,
    /// The channels this account imports (e.g. `OTTODE`, `KAUFLANDDE`); empty: every channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    #[serde(default)]
    pub decision_policy: DecisionPolicy,
    /// Requests per minute and seller route, where JTL granted more than the assumed default
    /// of 10 (unpublished for seller routes); None: 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
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
