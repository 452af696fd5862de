#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

mod api_headers;
mod credentials;
mod destination;
mod entity_id;
mod environment;
mod error;
mod fleet;
mod header_text;
mod http_date;
mod invalid;
mod json;
mod lifecycle;
mod loopback;
mod meta;
mod record;
mod request;
mod response;
mod scope;
mod scrub;
mod time;
mod token;
mod track_id;

pub use api_headers::{ApiVersion, OrgId, ZUORA_ORG_IDS, ZUORA_VERSION, ZUORA_WORKING_ORG};
pub use credentials::{ClientId, ClientSecret};
pub use destination::{Audience, Destination};
pub use entity_id::EntityId;
pub use environment::{BaseUrl, Environment};
pub use error::{
    Error, ErrorDetail, ErrorResponse, Problem, Reason, TransportError, TransportErrorKind,
};
pub use fleet::{FleetAction, FleetConfig, FleetFetch, LeaseId, may_delete};
pub use invalid::InvalidInput;
pub use lifecycle::{
    Action, Generation, LifecycleConfig, Outcome, OutgoingRequest, RequestId, Rotation,
    TokenHandle, TokenLifecycle,
};
pub use meta::{RateLimits, ResponseMeta, RetryAfter};
pub use record::TokenRecord;
pub use request::{TokenRequest, ZUORA_TRACK_ID};
pub use scope::{Scope, ScopeItem};
pub use time::Timestamp;
pub use token::{AccessToken, Token, ZUORA_ENTITY_IDS};
pub use track_id::TrackId;
