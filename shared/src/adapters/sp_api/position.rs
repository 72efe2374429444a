//! Where an Amazon account's import stands. Amazon is polled by time window: orders updated in
//! [start, end], end at least `window_lag` before now, start `overlap` before the last end so
//! late-indexed changes are caught (re-seen orders are de-duplicated by the order store).

use crate::domain::account::AmazonSettings;
use crate::ports::FeedPosition;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmazonPosition {
    /// Every order updated up to here is stored.
    pub imported_until: DateTime<Utc>,
    /// A window being paged through, when a run stopped between pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<OpenWindow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub next_token: String,
}

/// The window the next request covers, and the token to continue it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub token: Option<String>,
}

impl AmazonPosition {
    pub fn decode(
        position: Option<&FeedPosition>,
        settings: &AmazonSettings,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        match position {
            Some(p) => {
                serde_json::from_str(&p.0).map_err(|e| format!("stored import position is unreadable: {e}"))
            }
            None => Ok(Self {
                imported_until: truncate(now - Duration::hours(i64::from(settings.initial_lookback_hours))),
                page: None,
            }),
        }
    }

    pub fn encode(&self) -> FeedPosition {
        FeedPosition(serde_json::to_string(self).expect("position serializes"))
    }

    /// The window to request next; None when the account is caught up until `now - lag`.
    pub fn next_window(&self, settings: &AmazonSettings, now: DateTime<Utc>) -> Option<Window> {
        if let Some(page) = &self.page {
            return Some(Window { start: page.start, end: page.end, token: Some(page.next_token.clone()) });
        }
        let end = truncate(now - Duration::seconds(i64::from(settings.window_lag_secs)));
        if end <= self.imported_until {
            return None;
        }
        let start = self.imported_until - Duration::seconds(i64::from(settings.overlap_secs));
        Some(Window { start, end, token: None })
    }

    /// The position after a page of `window`: still inside it, or done up to its end.
    pub fn after_page(&self, window: &Window, next_token: Option<String>) -> Self {
        match next_token {
            Some(next_token) => Self {
                imported_until: self.imported_until,
                page: Some(OpenWindow { start: window.start, end: window.end, next_token }),
            },
            None => Self { imported_until: window.end.max(self.imported_until), page: None },
        }
    }
}

/// Whole seconds: Amazon's timestamps in requests, and stable positions.
fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AmazonSettings {
        AmazonSettings {
            api_base_url: "https://example.invalid".into(),
            token_url: "https://example.invalid/token".into(),
            credentials_secret: "orderbridge/test".into(),
            marketplace_ids: vec!["A1PA6795UKMFR9".into()],
            window_lag_secs: 120,
            overlap_secs: 300,
            initial_lookback_hours: 24,
            seller_id: None,
            quota_overrides: Vec::new(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn window_ends_two_minutes_before_now_and_overlaps_the_last_one() {
        let now = at("2026-11-28T12:00:30Z");
        let position = AmazonPosition { imported_until: at("2026-11-28T11:00:00Z"), page: None };
        let window = position.next_window(&settings(), now).unwrap();
        assert_eq!(window.end, at("2026-11-28T11:58:30Z"));
        assert_eq!(window.start, at("2026-11-28T10:55:00Z"));
        assert_eq!(window.token, None);
    }

    #[test]
    fn an_open_page_is_continued_with_its_token_untouched() {
        let now = at("2026-11-28T12:00:00Z");
        let position = AmazonPosition { imported_until: at("2026-11-28T11:00:00Z"), page: None };
        let window = position.next_window(&settings(), now).unwrap();
        let mid = position.after_page(&window, Some("tok/+=".into()));
        assert_eq!(mid.imported_until, position.imported_until, "cursor must not move mid-window");
        let again = mid.next_window(&settings(), at("2026-11-28T13:00:00Z")).unwrap();
        assert_eq!(again, Window { token: Some("tok/+=".into()), ..window.clone() });
        let done = mid.after_page(&again, None);
        assert_eq!(done, AmazonPosition { imported_until: window.end, page: None });
    }

    #[test]
    fn caught_up_account_requests_nothing() {
        let now = at("2026-11-28T12:00:00Z");
        let position = AmazonPosition { imported_until: at("2026-11-28T11:58:00Z"), page: None };
        assert_eq!(position.next_window(&settings(), now), None);
    }

    #[test]
    fn first_import_starts_at_the_lookback() {
        let now = at("2026-11-28T12:00:00Z");
        let position = AmazonPosition::decode(None, &settings(), now).unwrap();
        assert_eq!(position.imported_until, at("2026-11-27T12:00:00Z"));
    }
}
