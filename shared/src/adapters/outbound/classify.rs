//! What a marketplace's HTTP answer means: the one mapping of statuses and transport failures
//! to a response or a [`MarketplaceError`].

use super::request::ApiResponse;
use crate::domain::AccountId;
use crate::ports::MarketplaceError;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

/// Reads one answer. 2xx is a response with its JSON body; 404, 409 and token rejections are
/// responses too, for the caller to interpret; 429 is `Throttled` for `throttle_wait`; 5xx and
/// 408 are `Unavailable`; any other status is `Refused` with the marketplace's error messages.
/// The response's `rate_limit` is left for the caller to fill in.
pub fn classify(
    account: &AccountId,
    operation: &'static str,
    status: StatusCode,
    body: &str,
    throttle_wait: Duration,
) -> Result<ApiResponse, MarketplaceError> {
    let parsed = if body.trim().is_empty() { Ok(Value::Null) } else { serde_json::from_str::<Value>(body) };
    match status {
        s if s.is_success() => match parsed {
            Ok(body) => Ok(ApiResponse { status, body, rate_limit: None }),
            Err(e) => Err(MarketplaceError::BadResponse {
                account: account.clone(),
                operation,
                message: format!("body is not valid JSON: {e}"),
            }),
        },
        StatusCode::TOO_MANY_REQUESTS => Err(MarketplaceError::Throttled {
            account: account.clone(),
            operation,
            retry_after: throttle_wait,
        }),
        s if s == StatusCode::NOT_FOUND || s == StatusCode::CONFLICT || is_token_rejection(s) => {
            Ok(ApiResponse { status, body: parsed.unwrap_or(Value::Null), rate_limit: None })
        }
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => Err(MarketplaceError::Unavailable {
            account: account.clone(),
            operation,
            message: format!("HTTP {s}"),
        }),
        s => Err(MarketplaceError::Refused {
            account: account.clone(),
            operation,
            message: format!("HTTP {s}: {}", error_messages(parsed.ok().as_ref())),
        }),
    }
}

/// The marketplace no longer accepts the access token (expired or revoked early).
pub fn is_token_rejection(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

/// A request that got no answer: `Unavailable`, described without its URL (which may carry
/// order ids); reqwest's messages never include headers or bodies.
pub fn transport_failure(
    account: &AccountId,
    operation: &'static str,
    error: reqwest::Error,
) -> MarketplaceError {
    MarketplaceError::Unavailable {
        account: account.clone(),
        operation,
        message: describe(&error.without_url()),
    }
}

/// The error and its causes on one line ("error sending request: connection reset by peer").
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The marketplace's error list as one line, codes and messages only (they carry no buyer
/// data): Amazon's `{"errors": [...]}` or JTL SCX's `{"errorList": [...]}`.
pub fn error_messages(body: Option<&Value>) -> String {
    let list = body.and_then(|b| b.get("errors").or_else(|| b.get("errorList"))).and_then(Value::as_array);
    let Some(errors) = list.filter(|l| !l.is_empty()) else {
        return "no error details".into();
    };
    errors
        .iter()
        .map(|e| {
            let code = e.get("code").and_then(Value::as_str).unwrap_or("?");
            let message: String =
                e.get("message").and_then(Value::as_str).unwrap_or("").chars().take(200).collect();
            format!("{code}: {message}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WAIT: Duration = Duration::from_secs(3);

    fn read(status: u16, body: &str) -> Result<ApiResponse, MarketplaceError> {
        classify(
            &AccountId::parse("amazon-de").unwrap(),
            "getOrder",
            StatusCode::from_u16(status).unwrap(),
            body,
            WAIT,
        )
    }

    #[test]
    fn successes_are_responses_with_their_json_body() {
        let ok = read(200, r#"{"order": {"id": "1"}}"#).unwrap();
        assert_eq!((ok.status, ok.body), (StatusCode::OK, json!({"order": {"id": "1"}})));
        let empty = read(204, " ").unwrap();
        assert_eq!((empty.status, empty.body), (StatusCode::NO_CONTENT, Value::Null));
        assert!(matches!(read(200, "<html>"), Err(MarketplaceError::BadResponse { .. })));
        assert!(matches!(read(200, r#"{"order": "#), Err(MarketplaceError::BadResponse { .. })));
    }

    #[test]
    fn statuses_the_caller_interprets_are_responses() {
        for status in [404, 409, 401, 403] {
            let response = read(status, r#"{"errors": [{"code": "X", "message": "y"}]}"#).unwrap();
            assert_eq!(response.status.as_u16(), status);
            assert_eq!(response.body["errors"][0]["code"], "X");
        }
        assert_eq!(read(404, "Not Found").unwrap().body, Value::Null);
    }

    #[test]
    fn throttling_server_errors_and_timeouts_are_worth_retrying() {
        assert!(matches!(read(429, ""), Err(MarketplaceError::Throttled { retry_after: WAIT, .. })));
        for status in [500, 502, 503, 504, 408] {
            let error = read(status, "").unwrap_err();
            assert!(matches!(error, MarketplaceError::Unavailable { .. }), "{status}: {error}");
        }
    }

    #[test]
    fn other_client_errors_are_refusals_with_the_marketplaces_messages() {
        let amazon = read(400, r#"{"errors": [{"code": "InvalidInput", "message": "bad date"}]}"#);
        match amazon.unwrap_err() {
            MarketplaceError::Refused { message, .. } => {
                assert_eq!(message, "HTTP 400 Bad Request: InvalidInput: bad date")
            }
            other => panic!("{other}"),
        }
        let scx = read(
            422,
            r#"{"errorList": [{"code": "VAL100", "message": "a", "severity": "error"}, {"code": "GEN700", "message": "b"}]}"#,
        );
        match scx.unwrap_err() {
            MarketplaceError::Refused { message, .. } => {
                assert_eq!(message, "HTTP 422 Unprocessable Entity: VAL100: a; GEN700: b")
            }
            other => panic!("{other}"),
        }
        match read(400, "nope").unwrap_err() {
            MarketplaceError::Refused { message, .. } => {
                assert_eq!(message, "HTTP 400 Bad Request: no error details")
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn error_messages_are_cut_short() {
        let long = "x".repeat(500);
        let line = error_messages(Some(&json!({"errors": [{"code": "C", "message": long}]})));
        assert_eq!(line.len(), "C: ".len() + 200);
    }
}
