//! Errors an operator can read: one line that names the cause (and, where there is one, the
//! fix), never an SDK debug dump or a multi-line chain.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use std::error::Error as StdError;
use std::fmt::Debug;

/// An error whose text is already the one line the operator reads.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Fatal(pub String);

/// A [`Fatal`] error as `anyhow::Error`.
pub fn fatal(line: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Fatal(line.into()))
}

/// What went wrong with an AWS call, by the error's code or the kind of failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The named resource does not exist (table, queue, secret, stack).
    NotFound,
    AccessDenied(String),
    /// AWS does not know the credentials, or they are signed wrongly.
    BadCredentials(String),
    ExpiredCredentials,
    /// No credentials could be found at all.
    NoCredentials(String),
    NoRegion,
    Throttled,
    /// AWS answered that it is failing itself (5xx).
    ServiceUnavailable,
    /// The endpoint could not be reached (DNS, connection refused, TLS).
    Unreachable(String),
    Timeout,
    /// Any other service error: its code and message.
    Other {
        code: String,
        message: String,
    },
}

const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "ResourceNotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFoundException",
    "NoSuchEntity",
    "StackNotFoundException",
];
const ACCESS_DENIED: &[&str] =
    &["AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "AuthorizationError", "Forbidden"];
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "AuthFailure",
];
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"];
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "LimitExceededException",
];
const UNAVAILABLE: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Classifies an SDK error of any AWS service.
pub fn problem<E, R>(error: &SdkError<E, R>) -> Problem
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    match error {
        SdkError::ServiceError(_) => {
            let code = error.code().unwrap_or("").to_string();
            let message = one_line(error.message().unwrap_or(""));
            service_problem(&code, message)
        }
        SdkError::TimeoutError(_) => Problem::Timeout,
        SdkError::DispatchFailure(failure) => {
            let chain = chain_text(error);
            if let Some(found) = configuration_problem(&chain) {
                found
            } else if failure.is_timeout() {
                Problem::Timeout
            } else {
                Problem::Unreachable(innermost(error))
            }
        }
        SdkError::ResponseError(_) => {
            Problem::Unreachable(format!("unreadable answer: {}", innermost(error)))
        }
        _ => {
            let chain = chain_text(error);
            configuration_problem(&chain)
                .unwrap_or_else(|| Problem::Other { code: "request".into(), message: innermost(error) })
        }
    }
}

fn service_problem(code: &str, message: String) -> Problem {
    let is = |list: &[&str]| list.contains(&code);
    if is(NOT_FOUND) || (code == "ValidationError" && message.contains("does not exist")) {
        Problem::NotFound
    } else if is(ACCESS_DENIED) {
        Problem::AccessDenied(message)
    } else if is(BAD_CREDENTIALS) {
        Problem::BadCredentials(code.to_string())
    } else if is(EXPIRED) {
        Problem::ExpiredCredentials
    } else if is(THROTTLED) {
        Problem::Throttled
    } else if is(UNAVAILABLE) {
        Problem::ServiceUnavailable
    } else {
        Problem::Other { code: code.to_string(), message }
    }
}

/// Missing region or credentials surface as a dispatch failure; their text says which.
fn configuration_problem(chain: &str) -> Option<Problem> {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("missing region") {
        Some(Problem::NoRegion)
    } else if lower.contains("credential") {
        Some(Problem::NoCredentials(last_segment(chain)))
    } else {
        None
    }
}

impl Problem {
    /// The operator's line for a failed `action` (e.g. "reading table orders") against `place`
    /// ("region eu-central-1"). `NotFound` should be worded by the caller, who knows what is
    /// missing; this wording is the fallback.
    pub fn line(&self, action: &str, place: &str) -> String {
        match self {
            Problem::NotFound => format!("{action}: not found in {place}"),
            Problem::AccessDenied(message) if message.is_empty() => {
                format!("{action}: access denied; the AWS identity in use lacks the permission")
            }
            Problem::AccessDenied(message) => format!("{action}: access denied: {message}"),
            Problem::BadCredentials(code) => format!(
                "{action}: AWS does not accept the credentials ({code}): check --profile/AWS_PROFILE and the access keys"
            ),
            Problem::ExpiredCredentials => {
                format!("{action}: the AWS credentials have expired: renew them (e.g. `aws sso login`)")
            }
            Problem::NoCredentials(detail) => no_credentials(detail),
            Problem::NoRegion => no_region(),
            Problem::Throttled => format!("{action}: AWS is throttling the requests; try again in a minute"),
            Problem::ServiceUnavailable => {
                format!("{action}: AWS answered with a server error in {place}; try again in a minute")
            }
            Problem::Unreachable(detail) => format!("{action}: cannot reach AWS in {place}: {detail}"),
            Problem::Timeout => format!("{action}: AWS did not answer in time ({place})"),
            Problem::Other { code, message } if message.is_empty() => format!("{action}: {code}"),
            Problem::Other { code, message } => format!("{action}: {code}: {message}"),
        }
    }
}

pub fn no_region() -> String {
    "no AWS region: pass --region or set AWS_REGION (or a region in the AWS profile)".into()
}

pub fn no_credentials(detail: &str) -> String {
    if detail.is_empty() {
        "no AWS credentials: pass --profile or set AWS_PROFILE, or configure credentials (`aws configure`, `aws sso login`)".into()
    } else {
        format!(
            "no AWS credentials ({detail}): pass --profile or set AWS_PROFILE, or configure credentials (`aws configure`, `aws sso login`)"
        )
    }
}

/// An SDK error as `anyhow::Error` with the operator's line; `not_found` words the NotFound case.
pub fn aws_error<E, R>(
    error: SdkError<E, R>,
    action: &str,
    place: &str,
    not_found: impl FnOnce() -> String,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    match problem(&error) {
        Problem::NotFound => fatal(not_found()),
        other => fatal(other.line(action, place)),
    }
}

/// Every error's display, joined (what `{:#}` shows for anyhow), on one line.
fn chain_text(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = next.source();
    }
    one_line(&parts.join(": "))
}

/// The innermost cause's display: for a dispatch failure, the actual I/O or TLS problem.
fn innermost(error: &(dyn StdError + 'static)) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !text.is_empty() {
            last = text;
        }
        source = next.source();
    }
    one_line(&last)
}

fn last_segment(chain: &str) -> String {
    chain.rsplit(": ").next().unwrap_or(chain).trim().to_string()
}

/// The longest line an error may be.
const MAX_LINE: usize = 400;

/// One readable line from any error text: no line breaks, no `Debug` dump of an SDK response
/// (which `DisplayErrorContext` appends in parentheses), at most [`MAX_LINE`] characters.
pub fn one_line(text: &str) -> String {
    const DUMPS: &[&str] = &[
        " (ServiceError(",
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
        " (ServiceError {",
        " (Error {",
    ];
    let mut text = text.to_string();
    if let Some(cut) = DUMPS.iter().filter_map(|d| text.find(d)).min() {
        text.truncate(cut);
    }
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > MAX_LINE {
        line = line.chars().take(MAX_LINE - 1).collect::<String>() + "…";
    }
    line
}

/// The one line printed for an error that ends the program.
pub fn report(error: &anyhow::Error) -> String {
    if let Some(fatal) = error.downcast_ref::<Fatal>() {
        return one_line(&fatal.0);
    }
    // Errors of the shared adapters carry the SDK's text; name the common causes plainly.
    let text = one_line(&format!("{error:#}"));
    let lower = text.to_ascii_lowercase();
    if lower.contains("missing region") {
        return no_region();
    }
    if lower.contains("dispatch failure") && lower.contains("credential") {
        return no_credentials("");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_dumps_are_cut_and_lines_joined() {
        let dump = "store request Query failed: service error: ResourceNotFoundException: Requested resource not found (ServiceError(ServiceError { source: ResourceNotFoundException, raw: Response {\n status: 400 } }))";
        assert_eq!(
            one_line(dump),
            "store request Query failed: service error: ResourceNotFoundException: Requested resource not found"
        );
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        assert_eq!(one_line(&"x".repeat(1000)).chars().count(), MAX_LINE);
    }

    #[test]
    fn service_errors_are_classified_by_code() {
        assert_eq!(service_problem("ResourceNotFoundException", String::new()), Problem::NotFound);
        assert_eq!(
            service_problem("ValidationError", "Stack with id x does not exist".into()),
            Problem::NotFound
        );
        assert_eq!(service_problem("ThrottlingException", String::new()), Problem::Throttled);
        assert_eq!(service_problem("ExpiredToken", String::new()), Problem::ExpiredCredentials);
        assert!(matches!(service_problem("AccessDeniedException", "no".into()), Problem::AccessDenied(_)));
        assert!(matches!(service_problem("Weird", "x".into()), Problem::Other { .. }));
    }

    #[test]
    fn shared_errors_about_region_are_named() {
        let error = anyhow::anyhow!(
            "store is throttling or unavailable (Query): dispatch failure: other: Invalid Configuration: Missing Region (DispatchFailure(x))"
        );
        assert_eq!(report(&error), no_region());
    }
}
