//! What an owner action can fail with, and what the wallet's client of the
//! pension providers can fail with. There is no HTTP here: the owner API
//! gives each failure its status once, at its edge (`owner_api`).

use sealed_store::StoreError;
use uma_as::ProtocolError;

/// Why an owner action did not happen. Its words are for the owner: the
/// app and the CLI show them as they are.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    /// The owner asked for something malformed or impossible.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("That is not the wallet's passphrase.")]
    WrongPassphrase,
    /// Another wallet protects the pension; the provider has sent the owner
    /// a code to accept again with.
    #[error("Another wallet protects this pension. The provider has sent you a code by its usual way of writing to you: accept again with that code.")]
    ConfirmationRequired,
    /// A pension provider failed a request the action depended on.
    #[error("{provider}: {error}")]
    Provider { provider: String, error: ProviderError },
    /// The identity service failed a request the action depended on.
    #[error("{issuer}: {why}")]
    IdentityService { issuer: String, why: String },
    /// The wallet's own authorization server refused, in the specs' words.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The wallet's data is older than its anchor says it should be; the
    /// owner may open it on purpose (`uma_as::anchor`).
    #[error("This wallet's data is older than when it was last used: {0}.")]
    OlderCopy(String),
    /// The wallet's own fault: the cause is in its log, not in the answer.
    #[error("internal error; see the wallet's log")]
    Internal,
}

impl OwnerError {
    pub fn invalid(why: impl Into<String>) -> Self {
        OwnerError::Invalid(why.into())
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        OwnerError::NotFound(what.into())
    }

    pub fn provider(provider: &str, error: ProviderError) -> Self {
        if let ProviderError::Ours(why) = &error {
            return OwnerError::internal(why);
        }
        OwnerError::Provider { provider: provider.into(), error }
    }

    pub fn identity_service(issuer: &str, why: impl std::fmt::Display) -> Self {
        OwnerError::IdentityService { issuer: issuer.into(), why: why.to_string() }
    }

    /// Logs what went wrong inside the wallet and hides it from the answer.
    pub fn internal(why: impl std::fmt::Display) -> Self {
        tracing::error!(error = %why, "the wallet failed");
        OwnerError::Internal
    }

    /// The machine-readable code the owner API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            OwnerError::Invalid(_) => "invalid_request",
            OwnerError::NotFound(_) => "not_found",
            OwnerError::WrongPassphrase => "wrong_passphrase",
            OwnerError::ConfirmationRequired => "confirmation_required",
            OwnerError::Provider { .. } => "provider_error",
            OwnerError::IdentityService { .. } => "identity_service_error",
            OwnerError::Protocol(e) => e.code(),
            OwnerError::OlderCopy(_) => "older_copy",
            OwnerError::Internal => "server_error",
        }
    }
}

impl From<StoreError> for OwnerError {
    fn from(e: StoreError) -> Self {
        OwnerError::internal(format!("store: {e}"))
    }
}

/// Why a pension provider did not give the wallet what it asked for.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("could not be reached: {0}")]
    Unreachable(String),
    /// It answered, but not with what was asked: an error answer, an answer
    /// that does not read, or one that breaks what was agreed.
    #[error("{0}")]
    Answered(String),
    /// The wallet failed on its side of the exchange (its key, its stored
    /// credential): never the provider's fault, so never reported as one.
    #[error("the wallet failed: {0}")]
    Ours(String),
}

impl From<http_guard::outbound::FetchError> for ProviderError {
    fn from(e: http_guard::outbound::FetchError) -> Self {
        match e {
            http_guard::outbound::FetchError::Unreachable(why) => ProviderError::Unreachable(why),
            other => ProviderError::Answered(other.to_string()),
        }
    }
}

pub type OwnerResult<T> = Result<T, OwnerError>;
