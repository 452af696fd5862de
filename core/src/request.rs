//! The token request: everything needed to ask Zuora for a token, and the HTTP request
//! that does it.

use std::fmt;
use std::sync::OnceLock;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use zeroize::Zeroizing;

use crate::credentials::{ClientId, ClientSecret};
use crate::entity_id::EntityId;
use crate::environment::Environment;
use crate::error::Error;
use crate::response;
use crate::scope::Scope;
use crate::scrub::Scrubber;
use crate::token::{Token, ZUORA_ENTITY_IDS};
use crate::track_id::TrackId;

/// `Zuora-Track-Id`, the caller's correlation ID, echoed in the response.
pub const ZUORA_TRACK_ID: HeaderName = HeaderName::from_static("zuora-track-id");

/// `grant_type=client_credentials` is the only grant Zuora's token endpoint accepts.
const GRANT_TYPE: &str = "client_credentials";

/// A client-credentials token request for one Zuora environment: validated inputs in,
/// `http::Request<Vec<u8>>` out, and the matching response parser.
///
/// The form body is encoded once, here, so that building a request is a copy. Building
/// and parsing are pure functions: the caller owns the I/O.
///
/// ```
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest, TrackId};
/// let request = TokenRequest::new(
///     Environment::Sbx,
///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
///     ClientSecret::new("a/b+c=d")?,
/// )
/// .with_track_id(TrackId::new("nightly-sync")?);
///
/// let http = request.to_http();
/// assert_eq!(http.method(), "POST");
/// assert_eq!(http.uri(), "https://rest.apisandbox.zuora.com/oauth/token");
/// assert_eq!(http.headers()["content-type"], "application/x-www-form-urlencoded");
/// assert_eq!(http.headers()["zuora-track-id"], "nightly-sync");
/// assert!(http.headers().get("authorization").is_none());
/// assert_eq!(
///     http.body().as_slice(),
///     b"client_id=8a8a8a8a-0000-1111-2222-333344445555&client_secret=a%2Fb%2Bc%3Dd&grant_type=client_credentials"
/// );
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone)]
pub struct TokenRequest {
    environment: Environment,
    token_uri: Uri,
    client_id: ClientId,
    client_secret: ClientSecret,
    /// The encoded form, which holds the secret: zeroized on drop.
    form: Zeroizing<String>,
    /// The last `scope` found to hold no spelling of the secret: the same client gets the
    /// same scope on every token, so the next one is compared, not searched again.
    clean_scope: OnceLock<Scope>,
    track_id: Option<TrackId>,
    entity_id: Option<EntityId>,
    /// The request's headers, built once (no secret in them): a request is a copy of them,
    /// with no hashing or inserting per request.
    headers: HeaderMap,
}

impl TokenRequest {
    /// A request for `environment` with the OAuth client's credentials.
    pub fn new(environment: Environment, client_id: ClientId, client_secret: ClientSecret) -> Self {
        let form = form_encode(&[
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.expose_secret()),
            ("grant_type", GRANT_TYPE),
        ]);
        Self {
            token_uri: environment.token_url(),
            environment,
            client_id,
            client_secret,
            form,
            clean_scope: OnceLock::new(),
            track_id: None,
            entity_id: None,
            headers: base_headers(),
        }
    }

    /// Sends `Zuora-Track-Id: <id>` with the request.
    pub fn with_track_id(mut self, track_id: TrackId) -> Self {
        self.headers
            .insert(ZUORA_TRACK_ID, track_id.header().clone());
        self.track_id = Some(track_id);
        self
    }

    /// Sends `Zuora-Entity-Ids: <id>` with the request (Multi-entity tenants); tokens parsed
    /// from its responses then select this entity in [`Token::authorize`].
    pub fn with_entity_id(mut self, entity_id: EntityId) -> Self {
        self.headers
            .insert(ZUORA_ENTITY_IDS, entity_id.header().clone());
        self.entity_id = Some(entity_id);
        self
    }

    /// The same request with another client secret (a rotated one): the environment, the
    /// client ID, the track ID and the entity ID stay.
    ///
    /// ```
    /// # use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
    /// let request = TokenRequest::new(
    ///     Environment::Sbx,
    ///     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
    ///     ClientSecret::new("old/secret=")?,
    /// );
    /// let rotated = request.clone().with_client_secret(ClientSecret::new("new+secret=")?);
    /// assert_eq!(rotated.client_secret().expose_secret(), "new+secret=");
    /// assert!(rotated.same_client(&request));
    /// # Ok::<(), zuora_oauth_core::InvalidInput>(())
    /// ```
    pub fn with_client_secret(self, client_secret: ClientSecret) -> Self {
        let Self {
            environment,
            client_id,
            track_id,
            entity_id,
            headers,
            ..
        } = self;
        let mut request = Self::new(environment, client_id, client_secret);
        request.track_id = track_id;
        request.entity_id = entity_id;
        request.headers = headers;
        request
    }

    /// Whether `other` asks for tokens of the same client: the same environment, client ID
    /// and entity ID (its secret and track ID may differ). Tokens of one serve the other:
    /// this is what [`TokenLifecycle::reconfigure`](crate::TokenLifecycle::reconfigure)
    /// checks to keep the current token through a change of secret.
    pub fn same_client(&self, other: &TokenRequest) -> bool {
        self.environment == other.environment
            && self.client_id == other.client_id
            && self.entity_id == other.entity_id
    }

    /// The target environment.
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The client ID.
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The client secret (redacted in `Debug`; read it with
    /// [`ClientSecret::expose_secret`], e.g. to derive a shared store's encryption key).
    pub fn client_secret(&self) -> &ClientSecret {
        &self.client_secret
    }

    /// The track ID, if set.
    pub fn track_id(&self) -> Option<&TrackId> {
        self.track_id.as_ref()
    }

    /// The entity ID, if set.
    pub fn entity_id(&self) -> Option<&EntityId> {
        self.entity_id.as_ref()
    }

    /// The HTTP request: `POST {base}/oauth/token` with `Content-Type:
    /// application/x-www-form-urlencoded`, `Accept: application/json`, the form
    /// `client_id`, `client_secret`, `grant_type=client_credentials`, and `Zuora-Track-Id`
    /// / `Zuora-Entity-Ids` when set. It never carries `Authorization`: Zuora takes the
    /// credentials in the body only.
    ///
    /// The body holds the client secret; do not log it. Send it without following
    /// redirects.
    pub fn to_http(&self) -> http::Request<Vec<u8>> {
        let mut request = http::Request::new(self.form.as_bytes().to_vec());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.token_uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    /// Reads the response to [`TokenRequest::to_http`]: a [`Token`] on success, else an
    /// [`Error`] saying what went wrong. Any body type that is bytes will do.
    ///
    /// A success is a JSON object (RFC 8259; a repeated token field is refused) with
    /// `access_token`, `token_type` `bearer` (any case) and a positive `expires_in`: a JSON
    /// number or a numeric string, read exactly from its decimal text to the nanosecond
    /// (`3599`, `"3599"`, `3599.5`, `3.599e3`). An error body's `error`,
    /// `error_description`, `message` and `reasons` are read when present.
    ///
    /// ```
    /// # use zuora_oauth_core::{ClientId, ClientSecret, Environment, Error, TokenRequest};
    /// # let request = TokenRequest::new(Environment::Prod,
    /// #     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?, ClientSecret::new("dG9wLXNlY3JldA==")?);
    /// let ok = http::Response::builder()
    ///     .header("content-type", "application/json;charset=utf-8")
    ///     .header("zuora-request-id", "5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10")
    ///     .body(r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,
    ///              "jti":"c652cbc0ea384b9f81856a93a2a74539","scope":"tenant.19","token_type":"bearer"}"#)?;
    /// let token = request.parse_response(&ok)?;
    /// assert_eq!(token.expires_in().as_secs(), 3599);
    /// assert_eq!(token.scope().tenant_id(), Some(19));
    /// assert_eq!(token.meta().request_id(), Some("5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10"));
    ///
    /// let denied = http::Response::builder()
    ///     .status(401)
    ///     .header("content-type", "application/json")
    ///     .body(r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#)?;
    /// let err = request.parse_response(&denied).unwrap_err();
    /// assert!(matches!(err, Error::Rejected(_)) && !err.is_transient());
    /// assert!(err.to_string().contains("invalid_client: Bad client credentials"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: &http::Response<B>,
    ) -> Result<Token, Error> {
        let token = response::parse(response, &self.scrubber(), &self.clean_scope)?;
        // Most requests name no entity: then the token is returned without another move.
        Ok(match &self.entity_id {
            None => token,
            Some(entity_id) => token.with_entity_id(Some(entity_id.clone())),
        })
    }

    /// Knows the secret, to scrub it (in any spelling) from any text taken from a response.
    fn scrubber(&self) -> Scrubber<'_> {
        Scrubber::new(self.client_secret.expose_secret())
    }
}

/// The headers of every token request: `Content-Type` and `Accept`.
fn base_headers() -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers
}

/// `application/x-www-form-urlencoded` pairs, byte for byte as the WHATWG URL standard's
/// serializer (`form_urlencoded`, which `serde_urlencoded` uses) writes them: ASCII letters,
/// digits and `*-._` as they are, a space as `+`, every other byte as `%XX` (uppercase).
/// Written here, not through `serde_urlencoded`: its serializer and `%XX` table weigh about
/// 1.7 KB of a wasm module. The buffer is sized first and never grows, so no copy of the
/// secret is left behind in freed memory by a reallocation.
fn form_encode(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    fn plain(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_' | b' ')
    }
    let bytes = |s: &str| -> usize { s.bytes().map(|b| if plain(b) { 1 } else { 3 }).sum() };
    let len = pairs
        .iter()
        .map(|(k, v)| bytes(k) + 1 + bytes(v))
        .sum::<usize>()
        + pairs.len().saturating_sub(1);
    let mut form = Zeroizing::new(String::with_capacity(len));
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            form.push('&');
        }
        for (j, text) in [key, value].into_iter().enumerate() {
            if j > 0 {
                form.push('=');
            }
            for b in text.bytes() {
                match b {
                    b' ' => form.push('+'),
                    _ if plain(b) => form.push(char::from(b)),
                    _ => {
                        const HEX: &[u8; 16] = b"0123456789ABCDEF";
                        form.push('%');
                        form.push(char::from(HEX[usize::from(b >> 4)]));
                        form.push(char::from(HEX[usize::from(b & 15)]));
                    }
                }
            }
        }
    }
    form
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("environment", &self.environment)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("track_id", &self.track_id)
            .field("entity_id", &self.entity_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What `serde_urlencoded` (the encoder this one replaces) writes for the same pairs.
    fn theirs(pairs: &[(&str, &str)]) -> String {
        serde_urlencoded::to_string(pairs).unwrap()
    }

    #[test]
    fn the_form_is_byte_for_byte_serde_urlencoded() {
        let secrets = [
            "",
            "plain",
            "a/b+c=d",
            "sp ace & amp=eq%pct",
            "*-._~!$'()",
            "\u{e9}\u{1f512}\u{0}\u{7f}\t\r\n",
            "MixedCase0123456789",
        ];
        for secret in secrets {
            let pairs = [
                ("client_id", "8a8a8a8a-0000-1111-2222-333344445555"),
                ("client_secret", secret),
                ("grant_type", GRANT_TYPE),
            ];
            let form = form_encode(&pairs);
            assert_eq!(*form, theirs(&pairs), "{secret:?}");
            // Sized exactly once: no reallocation left a copy of the secret behind.
            assert_eq!(form.capacity(), form.len(), "{secret:?}");
        }
    }

    proptest! {
        #[test]
        fn any_pairs_encode_as_serde_urlencoded_does(
            pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..4),
        ) {
            let pairs: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let form = form_encode(&pairs);
            prop_assert_eq!(&*form, &theirs(&pairs));
            prop_assert_eq!(form.capacity(), form.len());
        }
    }
}
