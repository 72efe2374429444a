//! One marketplace API call as a value, and the answer the caller gets to interpret.

use super::retry::RateLimit;
use crate::Deadline;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// A request to a marketplace API. `operation` names it in logs, errors and the pacing plan.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub operation: &'static str,
    pub method: Method,
    pub url: Url,
    pub query: Vec<(String, String)>,
    pub body: Option<RequestBody>,
    pub headers: HeaderMap,
}

#[derive(Clone)]
pub enum RequestBody {
    Json(Value),
    /// `application/x-www-form-urlencoded`, as token endpoints take it.
    Form(Vec<(String, String)>),
}

/// Field names only: a form may carry credentials, a JSON body order details.
impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestBody::Json(_) => f.write_str("Json(..)"),
            RequestBody::Form(fields) => {
                f.debug_tuple("Form").field(&fields.iter().map(|(name, _)| name).collect::<Vec<_>>()).finish()
            }
        }
    }
}

impl ApiRequest {
    pub fn new(operation: &'static str, method: Method, url: Url) -> Self {
        Self { operation, method, url, query: Vec::new(), body: None, headers: HeaderMap::new() }
    }

    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(RequestBody::Json(body));
        self
    }

    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body = Some(RequestBody::Form(fields.into_iter().map(|(k, v)| (k.into(), v.into())).collect()));
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The request for `http`, every attempt anew (a reqwest request is used up by sending).
    pub(super) fn build(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut request = http
            .request(self.method.clone(), self.url.clone())
            .query(&self.query)
            .header(reqwest::header::ACCEPT, "application/json")
            .headers(self.headers.clone());
        match &self.body {
            Some(RequestBody::Json(body)) => request = request.json(body),
            Some(RequestBody::Form(fields)) => request = request.form(fields),
            None => {}
        }
        request
    }
}

/// How long the next request may take: `limit`, or less when the deadline (minus its safety
/// margin) comes sooner. Zero: no time left to send one.
pub(super) fn time_for_request(deadline: Deadline, limit: Duration) -> Duration {
    deadline.remaining().saturating_sub(Deadline::SAFETY_MARGIN).min(limit)
}

/// An answer the caller interprets: a success, or a status the caller knows what to make of
/// (404, 409, and a rejected token once retrying gave up).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    /// The parsed JSON body; `Null` for an empty body (and for an unreadable one on a non-2xx).
    pub body: Value,
    /// What the rate-limit headers said, for an adapter that paces by them.
    pub rate_limit: Option<RateLimit>,
}
