//! `searchOrders`: window validation, filtering and stable pagination.
//!
//! A `nextToken` carries the whole search window plus the sort key of the last order
//! returned, so paging is a pure function of the token: an order updated while a client
//! pages simply leaves this window (its new `lastUpdatedTime` lies after the window's end,
//! which is at least `window_lag` in the past) and shows up in a later search.
//!
//! The token also carries the filter parameters of the request that issued it: Amazon
//! wants "all other parameters ... provided with the same values that were provided with
//! the request that generated this token, with the exception of `maxResultsPerPage` and
//! `includedData`".

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{included, ApiError, ApiResult};
use crate::codec::{base64_decode, base64_encode, parse_time, timestamp, Params};
use crate::config::oldest_visible;
use crate::model::{Order, State, Status};
use crate::render;

/// Makes every token start with `+/+/`: real tokens contain `+`, `/` and `=`, so a client
/// that forgets to percent-encode them fails here as it would against Amazon.
const TOKEN_MAGIC: [u8; 3] = [0xfb, 0xff, 0xbf];
const TOKEN_TTL_HOURS: i64 = 24;

/// The parameters a follow-up page has to repeat unchanged, when the first request had them.
const FILTER_PARAMS: [&str; 7] = [
    "createdAfter",
    "createdBefore",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "marketplaceIds",
    "fulfillmentStatuses",
    "fulfilledBy",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum Mode {
    #[serde(rename = "c")]
    Created,
    #[serde(rename = "u")]
    Updated,
}

impl Mode {
    /// (after, before) parameter names.
    fn params(self) -> (&'static str, &'static str) {
        match self {
            Mode::Created => ("createdAfter", "createdBefore"),
            Mode::Updated => ("lastUpdatedAfter", "lastUpdatedBefore"),
        }
    }

    fn other(self) -> Mode {
        match self {
            Mode::Created => Mode::Updated,
            Mode::Updated => Mode::Created,
        }
    }

    fn key(self, o: &Order) -> DateTime<Utc> {
        match self {
            Mode::Created => o.created,
            Mode::Updated => o.updated,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Window {
    m: Mode,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    /// marketplaceIds, fulfillmentStatuses, fulfilledBy (empty = no filter).
    mk: Vec<String>,
    fs: Vec<String>,
    fb: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct PageToken {
    s: String,
    w: Window,
    /// The filter parameters as the issuing request gave them (see [`given_filters`]).
    g: Vec<(String, String)>,
    /// Sort key (time, orderId) of the last order already returned.
    t: DateTime<Utc>,
    o: String,
    /// Issued at, for the 24 h expiry.
    i: DateTime<Utc>,
}

pub(crate) fn search_orders(
    st: &mut State,
    seller_id: &str,
    params: &Params,
    now: DateTime<Utc>,
) -> ApiResult {
    let inc = included(params)?;
    let max =
        match params.one("maxResultsPerPage") {
            None => 100,
            Some(v) => v.trim().parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                ApiError::invalid("maxResultsPerPage must be an integer between 1 and 100.")
            })?,
        };
    let given = given_filters(params)?;
    let (window, cursor) = match params.one("paginationToken") {
        Some(raw) => {
            let token = decode_token(raw, seller_id, now)?;
            check_repeated_filters(&given, &token.g)?;
            (token.w, Some((token.t, token.o)))
        }
        None => (window_from(st, seller_id, params, now)?, None),
    };

    // Fault injection: a follow-up page that starts with the previous page's last order
    // again. It takes one of the page's places, except on one-order pages, which would
    // otherwise never get anywhere.
    let duplicate = match &cursor {
        Some((_, last_id)) if st.faults.duplicate_page() => {
            st.visible_order(seller_id, last_id, now).map(|o| render::order(o, inc, &st.config.currency, now))
        }
        _ => None,
    };
    let max = if duplicate.is_some() { max.saturating_sub(1).max(1) } else { max };

    let mode = window.m;
    let mut hits: Vec<&Order> = st
        .orders
        .iter()
        .filter(|o| {
            let key = mode.key(o);
            o.seller_id == seller_id
                && window.mk.contains(&o.marketplace_id)
                && o.created >= oldest_visible(&o.marketplace_id, now)
                && key >= window.a
                && key <= window.b
                && (window.fs.is_empty() || window.fs.iter().any(|s| s == o.status.as_str()))
                && (window.fb.is_empty() || window.fb.iter().any(|f| f == o.channel.as_str()))
                && cursor.as_ref().is_none_or(|(t, id)| (key, o.id.as_str()) > (*t, id.as_str()))
        })
        .collect();
    hits.sort_by(|x, y| (mode.key(x), &x.id).cmp(&(mode.key(y), &y.id)));
    let more = hits.len() > max;
    hits.truncate(max);

    let orders: Vec<Value> = duplicate
        .into_iter()
        .chain(hits.iter().map(|o| render::order(o, inc, &st.config.currency, now)))
        .collect();
    let mut body = json!({ "orders": orders });
    if let (true, Some(last)) = (more, hits.last()) {
        let token = PageToken {
            s: seller_id.to_string(),
            t: mode.key(last),
            o: last.id.clone(),
            i: now,
            w: window.clone(),
            g: given,
        };
        body["pagination"] = json!({ "nextToken": encode_token(&token) });
    }
    body[mode.params().1] = Value::String(timestamp(window.b));
    tracing::info!(seller_id, returned = hits.len(), more, "searchOrders answered");
    Ok((StatusCode::OK, Some(body)))
}

fn window_from(st: &State, seller_id: &str, params: &Params, now: DateTime<Utc>) -> Result<Window, ApiError> {
    let mode = match (params.has("createdAfter"), params.has("lastUpdatedAfter")) {
        (true, false) => Mode::Created,
        (false, true) => Mode::Updated,
        _ => {
            return Err(ApiError::invalid(
                "Exactly one of createdAfter and lastUpdatedAfter must be provided.",
            ))
        }
    };
    let (after_name, before_name) = mode.params();
    let other_before = mode.other().params().1;
    if params.has(other_before) {
        return Err(ApiError::invalid(format!("{other_before} cannot be combined with {after_name}.")));
    }
    let after = time_param(params, after_name)?.unwrap_or(now);
    let lag = Duration::from_std(st.config.window_lag).unwrap_or(Duration::zero());
    let latest = now - lag;
    let before = match time_param(params, before_name)? {
        None => latest,
        Some(b) if b > latest => {
            return Err(ApiError::invalid(format!(
                "{before_name} must be at least {} seconds before the time of the request.",
                lag.num_seconds()
            )))
        }
        Some(b) if b < after => {
            return Err(ApiError::invalid(format!("{before_name} must be equal to or after {after_name}.")))
        }
        Some(b) => b,
    };
    let mk = match params.list("marketplaceIds") {
        // Optional in the model; defaults to the seller's marketplace.
        None => vec![st.seller(seller_id).map(|s| s.marketplace_id.clone()).unwrap_or_default()],
        Some(ids) if ids.is_empty() || ids.len() > 50 => {
            return Err(ApiError::invalid("marketplaceIds must contain between 1 and 50 marketplace ids."))
        }
        Some(ids) => ids,
    };
    let fs = params.list("fulfillmentStatuses").unwrap_or_default();
    if let Some(bad) = fs.iter().find(|s| Status::parse(s).is_none()) {
        return Err(ApiError::invalid(format!("Invalid fulfillmentStatuses value: {bad}.")));
    }
    let fb = params.list("fulfilledBy").unwrap_or_default();
    if let Some(bad) = fb.iter().find(|s| !matches!(s.as_str(), "MERCHANT" | "AMAZON")) {
        return Err(ApiError::invalid(format!("Invalid fulfilledBy value: {bad}.")));
    }
    Ok(Window { m: mode, a: after, b: before, mk, fs, fb })
}

fn time_param(params: &Params, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    params
        .one(name)
        .map(|raw| {
            parse_time(raw).ok_or_else(|| ApiError::invalid(format!("{name} must be an ISO 8601 date-time.")))
        })
        .transpose()
}

/// The filter parameters present in `params`, each with a canonical value (an instant for
/// times, a sorted set for lists), so that a follow-up request can be compared with the
/// one that issued its token.
fn given_filters(params: &Params) -> Result<Vec<(String, String)>, ApiError> {
    let mut given = Vec::new();
    for name in FILTER_PARAMS {
        if !params.has(name) {
            continue;
        }
        let value = if name.ends_with("After") || name.ends_with("Before") {
            time_param(params, name)?.map(timestamp).unwrap_or_default()
        } else {
            let mut list = params.list(name).unwrap_or_default();
            list.sort();
            list.dedup();
            list.join(",")
        };
        given.push((name.to_string(), value));
    }
    Ok(given)
}

/// A follow-up page needs exactly the filter parameters of the request that issued its
/// token, with the same values.
fn check_repeated_filters(given: &[(String, String)], issued: &[(String, String)]) -> Result<(), ApiError> {
    let value =
        |list: &[(String, String)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    for name in FILTER_PARAMS {
        let problem = match (value(issued, name), value(given, name)) {
            (Some(_), None) => "is missing",
            (None, Some(_)) => "was not part of the request that issued the paginationToken",
            (Some(a), Some(b)) if a != b => "does not match the request that issued the paginationToken",
            _ => continue,
        };
        return Err(ApiError::invalid(format!(
            "{name} {problem}: a request with a paginationToken must repeat every other parameter \
             of the request that issued it with the same value (except maxResultsPerPage and \
             includedData)."
        )));
    }
    Ok(())
}

fn encode_token(token: &PageToken) -> String {
    let mut bytes = TOKEN_MAGIC.to_vec();
    bytes.extend(serde_json::to_vec(token).expect("page token serializes"));
    base64_encode(&bytes)
}

fn decode_token(raw: &str, seller_id: &str, now: DateTime<Utc>) -> Result<PageToken, ApiError> {
    let invalid = || ApiError::invalid("Invalid paginationToken.");
    let bytes = base64_decode(raw).ok_or_else(invalid)?;
    let json = bytes.strip_prefix(&TOKEN_MAGIC[..]).ok_or_else(invalid)?;
    let token: PageToken = serde_json::from_slice(json).map_err(|_| invalid())?;
    if token.s != seller_id {
        return Err(invalid());
    }
    if now - token.i > Duration::hours(TOKEN_TTL_HOURS) {
        return Err(ApiError::invalid("The paginationToken has expired."));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap()
    }

    #[test]
    fn pagination_tokens_expire_after_24_hours_and_belong_to_one_seller() {
        let issued = at("2026-01-10T00:00:00Z");
        let window = Window { m: Mode::Updated, a: issued, b: issued, mk: vec![], fs: vec![], fb: vec![] };
        let token =
            PageToken { s: "S1".into(), w: window, g: vec![], t: issued, o: "302-1".into(), i: issued };
        let raw = encode_token(&token);
        assert!(decode_token(&raw, "S1", at("2026-01-10T23:59:59Z")).is_ok());
        let expired = decode_token(&raw, "S1", at("2026-01-11T00:00:01Z")).unwrap_err();
        assert!(expired.message.contains("expired"), "{}", expired.message);
        assert!(decode_token(&raw, "S2", issued).is_err());
    }
}
