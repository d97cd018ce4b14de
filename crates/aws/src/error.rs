//! AWS errors, classified once into what the workflow can do about them.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lifeboat_core::{ErrorName, LifeboatError};

/// An AWS call that failed, by what it means for the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// AWS asked us to slow down: retry later with jitter.
    #[error("throttled by AWS: {0}")]
    Throttled(String),
    /// A resource named in the request or registry does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// AWS refused the input (bad change batch, bad parameter).
    #[error("rejected by AWS: {0}")]
    Rejected(String),
    /// The resource is not in a state that allows the call (RDS's
    /// Invalid*StateFault: another failover in progress, already the writer).
    #[error("not in a state that allows it: {0}")]
    InvalidState(String),
    /// The service did not answer: no connection, a timeout, or a 5xx. On the
    /// day of a disaster this is the dark Region or a control plane in it.
    #[error("AWS did not answer: {0}")]
    Unavailable(String),
    /// Anything else (a service error we do not classify, a bug).
    #[error("AWS call failed: {0}")]
    Other(String),
}

// Throttling codes are not modelled on every operation's error type, so they
// are matched by code: the SDK's own retry classifier's list.
use aws_runtime::retries::classifiers::THROTTLING_ERRORS as THROTTLING_CODES;

impl AwsError {
    /// Classifies an SDK error; `what` says which call on what resource, for the message.
    pub fn from_sdk<E>(what: &str, err: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = err.as_service_error().and_then(|e| e.code()).map(str::to_string);
        // A service's answer in one line (its code and message); anything else with its context.
        let text = match (&code, err.as_service_error().and_then(|e| e.message())) {
            (Some(c), Some(m)) => format!("{what}: {c}: {m}"),
            (Some(c), None) => format!("{what}: {c}"),
            _ => format!("{what}: {}", DisplayErrorContext(&err)),
        };
        let server_error = err.raw_response().is_some_and(|r| r.status().is_server_error());
        let no_answer = matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        );
        // Not sent for a reason of ours (no credentials: another account's
        // role refused): an answer to fix, not a dark endpoint to wait out.
        if let SdkError::DispatchFailure(e) = &err
            && !e.is_io()
            && !e.is_timeout()
        {
            return AwsError::Other(format!(
                "{what}: the request could not be sent: {}",
                DisplayErrorContext(&err)
            ));
        }
        match code.as_deref() {
            Some(c) if THROTTLING_CODES.contains(&c) => AwsError::Throttled(text),
            // A dark endpoint: say so in a line, not with the whole response dump.
            _ if no_answer || server_error => AwsError::Unavailable(format!("{what}: {}", no_answer_reason(&err))),
            Some(c)
                if c.starts_with("NoSuch")
                    || c.ends_with("NotFound")
                    || c.ends_with("NotFoundFault")
                    || c == "ResourceNotFoundException" =>
            {
                AwsError::NotFound(text)
            }
            Some(
                "InvalidChangeBatch"
                | "InvalidInput"
                | "ValidationException"
                | "InvalidParameterValue"
                | "InvalidParameterCombination",
            ) => AwsError::Rejected(text),
            // RDS: the database is not in a state that allows the call (another
            // failover in progress, already the writer).
            Some(c) if c.starts_with("Invalid") && c.ends_with("StateFault") => AwsError::InvalidState(text),
            _ => AwsError::Other(text),
        }
    }
}

/// Why a call got no usable answer, in a few words.
fn no_answer_reason<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(e) if e.is_timeout() => "timed out connecting".into(),
        SdkError::DispatchFailure(e) if e.is_io() => "could not connect".into(),
        SdkError::DispatchFailure(_) => "the request could not be sent".into(),
        SdkError::ResponseError(_) => "the response was cut off or unreadable".into(),
        _ => match err.raw_response() {
            Some(r) => format!("HTTP {}", r.status().as_u16()),
            None => "no answer".into(),
        },
    }
}

impl AwsError {
    /// The service did not answer (as opposed to answering no).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AwsError::Unavailable(_))
    }
}

impl From<AwsError> for LifeboatError {
    fn from(e: AwsError) -> Self {
        let name = match &e {
            AwsError::Throttled(_) => ErrorName::Throttled,
            AwsError::NotFound(_) | AwsError::Rejected(_) | AwsError::InvalidState(_) => ErrorName::InvalidRequest,
            AwsError::Unavailable(_) | AwsError::Other(_) => ErrorName::Internal,
        };
        LifeboatError::new(name, e.to_string())
    }
}
