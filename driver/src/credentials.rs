//! What a request needs to carry the token: the header values and the token's generation,
//! made from the published bearer value (the hit path: no lock, nothing shared written) or
//! from a handle (after the slow path).

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use zuora_oauth_core::{Generation, TokenHandle, ZUORA_ENTITY_IDS};

use crate::bearer::BearerCopy;

/// `Authorization: Bearer …` (marked sensitive), `Zuora-Entity-Ids` if the token has an
/// entity, and the token's generation.
pub(crate) struct Credentials {
    generation: Generation,
    bearer: HeaderValue,
    entity: Option<HeaderValue>,
}

impl Credentials {
    /// From a published copy: new header values, owned by this request alone (no counter
    /// shared with other requests is touched).
    pub(crate) fn from_copy(copy: &BearerCopy) -> Option<Self> {
        let (bearer, entity) = copy.headers();
        let mut bearer = HeaderValue::from_bytes(bearer).ok()?;
        bearer.set_sensitive(true);
        let entity = match entity {
            Some(entity) => Some(HeaderValue::from_bytes(entity).ok()?),
            None => None,
        };
        Some(Self {
            generation: Generation::from_number(copy.generation()),
            bearer,
            entity,
        })
    }

    /// From a token handed out by the slow path.
    pub(crate) fn from_handle(handle: &TokenHandle) -> Self {
        Self {
            generation: handle.generation(),
            bearer: handle.bearer_header(),
            entity: handle
                .entity_id()
                .and_then(|e| HeaderValue::from_str(e.as_str()).ok()),
        }
    }

    /// The token's generation: report it to `invalidate` if the API answers 401.
    pub(crate) fn generation(&self) -> Generation {
        self.generation
    }

    /// Sets the headers on `headers` (replacing those there), and returns the generation.
    pub(crate) fn apply(self, headers: &mut HeaderMap) -> Generation {
        headers.insert(AUTHORIZATION, self.bearer);
        if let Some(entity) = self.entity {
            headers.insert(ZUORA_ENTITY_IDS, entity);
        }
        self.generation
    }
}
