//! Reading SCX's JSON: fields by path, decimal-string quantities and JTL's timestamps. Every
//! failure names the field, so a rejected delivery tells the operator what was wrong.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// Why a payload could not be read: the field (as a path into the event) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct Invalid {
    pub field: String,
    pub problem: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: field.into(), problem: problem.into() }
    }
}

/// A JSON object and the path it sits at, for error messages.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    pub value: &'a Value,
    pub path: &'a str,
}

impl<'a> Fields<'a> {
    pub fn new(value: &'a Value, path: &'a str) -> Self {
        Self { value, path }
    }

    pub fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// A present, non-null value.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.value.get(name).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, name: &str) -> Result<Option<&'a str>, Invalid> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(Invalid::new(self.field(name), "is not a string")),
        }
    }

    pub fn str(&self, name: &str) -> Result<&'a str, Invalid> {
        match self.opt_str(name)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(Invalid::new(self.field(name), "is blank")),
            None => Err(Invalid::new(self.field(name), "is missing")),
        }
    }

    pub fn array(&self, name: &str) -> Result<&'a [Value], Invalid> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(Invalid::new(self.field(name), "is not a list")),
        }
    }

    pub fn time(&self, name: &str) -> Result<DateTime<Utc>, Invalid> {
        let raw = self.str(name)?;
        parse_time(raw).ok_or_else(|| Invalid::new(self.field(name), "is not a date-time"))
    }

    pub fn opt_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, Invalid> {
        match self.opt_str(name)? {
            None => Ok(None),
            Some(_) => self.time(name).map(Some),
        }
    }

    /// A quantity: JTL sends decimal strings (`"2"`, `"2.0"`); only whole, positive units fit
    /// an order line.
    pub fn quantity(&self, name: &str) -> Result<u32, Invalid> {
        let field = self.field(name);
        let text = match self.get(name) {
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => return Err(Invalid::new(field, "is not a decimal")),
            None => return Err(Invalid::new(field, "is missing")),
        };
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b == b'0')
        {
            return Err(Invalid::new(field, "is not a whole number of units"));
        }
        match whole.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Invalid::new(field, "must be at least 1 and fit 32 bits")),
        }
    }
}

/// JTL's timestamps: RFC 3339 in payloads (`2019-01-13T12:00:00+00:00`), an offset without
/// colon in event envelopes (`2020-08-06T06:40:18+0000`).
pub fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .or_else(|_| DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
