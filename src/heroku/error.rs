//! What can go wrong talking to the Platform API, typed where callers branch.

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API answered with an error status.
    #[error("{request} answered {status} `{id}`: {message}{}", request_id_suffix(.request_id))]
    Status {
        request: RequestLine,
        status: u16,
        id: String,
        message: String,
        request_id: Option<String>,
    },
    /// No usable answer: connection refused or reset, timeout, unreadable body.
    #[error("{request} failed: {reason}")]
    Transport {
        request: RequestLine,
        reason: String,
    },
    /// An answer that is not the JSON the API documents.
    #[error("{request} answered with JSON the reaper cannot read ({reason}){}", request_id_suffix(.request_id))]
    Decode {
        request: RequestLine,
        reason: String,
        request_id: Option<String>,
    },
    /// A body past `net::MAX_BODY`: not the API's answer; reading stopped there.
    #[error(
        "{request} answered with a body over {}, far more than any answer of the Platform API; stopped reading it (check `--api-url`)",
        crate::net::MAX_BODY_WORDS
    )]
    TooLarge { request: RequestLine },
    /// Paging that would never end.
    #[error("{request}: {reason}; stopping instead of paging forever")]
    Paging {
        request: RequestLine,
        reason: String,
    },
    /// Sending would take the rate-limit pool below `--reserve-rate-limit`: not sent.
    #[error(
        "{request} not sent: the rate-limit pool is down to {remaining}, at `--reserve-rate-limit {reserve}`, kept for the tests that follow"
    )]
    Reserve {
        request: RequestLine,
        remaining: u32,
        reserve: u32,
    },
    /// The run was interrupted before this request (or its retry) was sent.
    #[error("{request} not sent: the run was interrupted")]
    Interrupted { request: RequestLine },
    /// The answer was a redirect; the key is never sent after one.
    #[error(
        "{request} answered {status} with a redirect to `{location}`; the key is not sent on redirects (check `--api-url`)"
    )]
    Redirect {
        request: RequestLine,
        status: u16,
        location: String,
    },
    /// An id or name that cannot be one segment of a path (`.`, `..`): not sent.
    #[error("`{value}` cannot be one segment of a request's path; not sent")]
    NotASegment { value: String },
    /// An earlier attempt got no answer, so it may have been carried out; then a later
    /// attempt failed. Whether the request took effect is unknown.
    #[error("{0}; an earlier attempt got no answer and may have been carried out")]
    AfterLostAttempt(Box<ApiError>),
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::AfterLostAttempt(error) => error.status(),
            _ => None,
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            ApiError::Status { id, .. } => Some(id),
            ApiError::AfterLostAttempt(error) => error.id(),
            _ => None,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Status { request_id, .. } | ApiError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            ApiError::AfterLostAttempt(error) => error.request_id(),
            _ => None,
        }
    }

    /// 401: the key is missing, wrong or revoked.
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(401)
    }

    /// A failure where the request may have reached the server and been carried out.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            ApiError::Transport { .. } | ApiError::AfterLostAttempt(_)
        )
    }

    /// A request the client held back (the rate-limit reserve, a signal): the server
    /// never saw it.
    pub fn never_sent(&self) -> bool {
        matches!(
            self,
            ApiError::Reserve { .. } | ApiError::Interrupted { .. } | ApiError::NotASegment { .. }
        )
    }

    /// Marks a failure that followed an attempt with no answer.
    pub fn after_lost_attempt(self, lost: bool) -> ApiError {
        match self {
            ApiError::Transport { .. } | ApiError::AfterLostAttempt(_) => self,
            error if lost => ApiError::AfterLostAttempt(Box::new(error)),
            error => error,
        }
    }
}

/// `GET /apps`: which request failed, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    pub method: &'static str,
    pub path: String,
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{} {}`", self.method, self.path)
    }
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" (Request-Id {id})"),
        None => String::new(),
    }
}
