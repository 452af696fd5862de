//! A tower layer that authorizes Zuora API calls (feature `tower`): the rules of
//! [`replay`](crate::api) on `http::Request<B>` and `http::Response<_>`, for any tower
//! stack — hyper-util's client, reqwest through tower, an axum-style service.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::Body;
use http_body_util::combinators::{BoxBody, UnsyncBoxBody};
use http_body_util::{BodyExt, Either, Empty, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::BoxFuture;
use crate::api::{ApiError, Authorizer, Exchange, HttpApiTypes};

/// Authorizes the Zuora API calls of a tower stack (hyper-util's client, an axum-style
/// service, anything that takes `http::Request<B>`) with a token source's token.
///
/// On every call to the token's environment (scheme, host and port of its base URL) that
/// carries no `Authorization` of its own, it sets `Authorization: Bearer …` and the token's
/// `Zuora-Entity-Ids` (and `Zuora-Track-Id` if configured with [`ApiOptions`](crate::api::ApiOptions)). When the API
/// answers 401, the token is invalidated, a new one is fetched through the source's single
/// flight, and the call is sent again once, if its body can be replayed ([`ReplayBody`]):
/// the answer then carries [`Replayed`](crate::api::Replayed). A 401 that was not sent
/// again carries [`NotRetried`](crate::api::NotRetried). Calls elsewhere go out
/// untouched; 429 and 5xx answers come back as they are. The rules are
/// [`replay`](crate::api)'s; this layer only adapts the types.
///
/// The inner service must be `Clone` (hyper-util's client is); its error comes back as
/// [`ApiError::Send`], a token that could not be had as [`ApiError::Token`].
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Empty};
/// use hyper_util::client::legacy::Client;
/// use hyper_util::rt::TokioExecutor;
/// use tower::{Service, ServiceBuilder, ServiceExt};
/// use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
/// use zuora_oauth_driver::TokenSource;
/// use zuora_oauth_driver::tower::AuthorizeLayer;
/// use zuora_oauth_hyper::HyperTransport;
/// use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tower::BoxError> {
/// let zuora = MockServer::start()?; // a mock Zuora on 127.0.0.1
/// let source = TokenSource::new(
///     TokenRequest::new(
///         Environment::custom(&zuora.base_url())?,
///         ClientId::new(DEMO_CLIENT_ID)?,
///         ClientSecret::new(DEMO_CLIENT_SECRET)?,
///     ),
///     HyperTransport::new(),
/// );
/// let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
/// let mut api = ServiceBuilder::new()
///     .timeout(Duration::from_secs(30))
///     .layer(AuthorizeLayer::new(source))
///     .service(client);
///
/// let call = http::Request::get(zuora.api_url("/v1/accounts/A00000001")).body(Empty::new())?;
/// let response = api.ready().await?.call(call).await?;
/// assert_eq!(response.status(), 200);
/// let account = response.into_body().collect().await?.to_bytes();
/// assert!(String::from_utf8_lossy(&account).contains("A00000001"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuthorizeLayer {
    authorizer: Authorizer,
}

impl AuthorizeLayer {
    /// Authorizes calls as `authorizer` says: a [`TokenSource`](crate::TokenSource)'s token,
    /// the token of each call's tenant in a [`TokenSources`](crate::TokenSources) (the
    /// [`Tenant`](crate::Tenant) is removed before the call goes on), or an [`Authorizer`]
    /// with the headers of every call ([`Authorizer::with_options`]).
    pub fn new(authorizer: impl Into<Authorizer>) -> Self {
        Self {
            authorizer: authorizer.into(),
        }
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    // On wasm32 the authorizer is single-threaded (as the rest of the driver there).
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            authorizer: Arc::new(self.authorizer.clone()),
        }
    }
}

/// The service of [`AuthorizeLayer`].
#[derive(Debug)]
pub struct Authorize<S> {
    inner: S,
    /// This service's own handle to the layer's authorizer: each call in flight holds a
    /// count of it, a counter that only this service's calls write (a clone of the service,
    /// for another connection or task, gets a handle of its own).
    authorizer: Arc<Authorizer>,
}

impl<S: Clone> Clone for Authorize<S> {
    #[cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            authorizer: Arc::new(Authorizer::clone(&self.authorizer)),
        }
    }
}

impl<S, B, Out> Service<http::Request<B>> for Authorize<S>
where
    S: Service<http::Request<B>, Response = http::Response<Out>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    B: ReplayBody + Send + 'static,
    Out: Send + 'static,
{
    type Response = http::Response<Out>;
    type Error = ApiError<S::Error>;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(ApiError::Send)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The ready service goes into the future; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let authorizer = Arc::clone(&self.authorizer);
        Box::pin(async move {
            let mut next = Next {
                inner,
                ready: true,
                types: PhantomData,
            };
            authorizer.send(request, &mut next).await
        })
    }
}

/// The inner service, as the driver's [`Exchange`].
struct Next<S, B, Out> {
    inner: S,
    ready: bool,
    types: PhantomData<fn(B) -> Out>,
}

impl<S, B: ReplayBody, Out> HttpApiTypes for Next<S, B, Out> {
    type RequestBody = B;
    type ResponseBody = Out;

    fn try_clone_body(&mut self, body: &mut B) -> Option<B> {
        body.try_clone_body()
    }
}

impl<S, B, Out> Exchange for Next<S, B, Out>
where
    S: Service<http::Request<B>, Response = http::Response<Out>>,
    B: ReplayBody,
{
    type Error = S::Error;

    async fn send(&mut self, request: http::Request<B>) -> Result<http::Response<Out>, S::Error> {
        if !std::mem::take(&mut self.ready) {
            poll_fn(|cx| self.inner.poll_ready(cx)).await?;
        }
        self.inner.call(request).await
    }
}

/// A request body that can be sent again after a 401, or says it cannot (a stream).
///
/// Implemented for `http-body-util`'s [`Full`] and [`Empty`], [`String`], [`Either`] of two
/// such bodies, and the boxed bodies ([`BoxBody`], [`UnsyncBoxBody`]), which can be replayed
/// only when empty. Implement it for a body type of your own: return `None` for a stream.
pub trait ReplayBody: Body + Sized {
    /// A copy of the body as it was before sending, or `None` if it cannot be replayed.
    fn try_clone_body(&self) -> Option<Self>;
}

impl<D: Buf + Clone> ReplayBody for Full<D> {
    fn try_clone_body(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<D: Buf> ReplayBody for Empty<D> {
    fn try_clone_body(&self) -> Option<Self> {
        Some(Empty::new())
    }
}

impl ReplayBody for String {
    fn try_clone_body(&self) -> Option<Self> {
        Some(self.clone())
    }
}

impl<L, R> ReplayBody for Either<L, R>
where
    L: ReplayBody,
    R: ReplayBody<Data = L::Data>,
    L::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    R::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn try_clone_body(&self) -> Option<Self> {
        match self {
            Either::Left(l) => l.try_clone_body().map(Either::Left),
            Either::Right(r) => r.try_clone_body().map(Either::Right),
        }
    }
}

impl<D: Buf + Send + 'static, E: 'static> ReplayBody for BoxBody<D, E> {
    fn try_clone_body(&self) -> Option<Self> {
        self.is_end_stream()
            .then(|| Empty::new().map_err(|never| match never {}).boxed())
    }
}

impl<D: Buf + Send + 'static, E: 'static> ReplayBody for UnsyncBoxBody<D, E> {
    fn try_clone_body(&self) -> Option<Self> {
        self.is_end_stream()
            .then(|| Empty::new().map_err(|never| match never {}).boxed_unsync())
    }
}

#[cfg(test)]
mod tests {
    use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};

    use super::*;
    use crate::runtime::threads::block_on;
    use crate::{Limits, TokenSource, Transport, TransportResult};

    /// A token endpoint that answers at once.
    struct Canned;

    impl Transport for Canned {
        fn send(
            &self,
            _request: http::Request<Vec<u8>>,
            _limits: Limits,
        ) -> BoxFuture<'static, TransportResult> {
            let body = r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#;
            let answer = http::Response::builder()
                .header("content-type", "application/json")
                .body(body.as_bytes().to_vec())
                .unwrap();
            Box::pin(std::future::ready(Ok(answer)))
        }
    }

    /// An inner service that answers 200 at once.
    #[derive(Clone)]
    struct Ok200;

    impl Service<http::Request<Empty<bytes::Bytes>>> for Ok200 {
        type Response = http::Response<()>;
        type Error = std::convert::Infallible;
        type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _request: http::Request<Empty<bytes::Bytes>>) -> Self::Future {
            std::future::ready(Ok(http::Response::new(())))
        }
    }

    /// The calls of one service (one connection, one task) write no counter that other
    /// services' calls write too: a call in flight holds a handle of its own service, not
    /// one more count of the source shared by every service of the layer.
    #[test]
    fn a_call_writes_no_counter_shared_with_other_services() {
        let source = TokenSource::builder(
            TokenRequest::new(
                Environment::custom("http://127.0.0.1:9").unwrap(),
                ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
                ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
            ),
            Canned,
        )
        .with_runtime(crate::runtime::threads::ThreadRuntime)
        .build();
        block_on(source.token()).unwrap();
        let layer = AuthorizeLayer::new(source);
        let mut service = layer.layer(Ok200);
        let _other = service.clone();
        let shared = layer.authorizer.shared_count();
        let call = http::Request::get("http://127.0.0.1:9/v1/accounts")
            .body(Empty::new())
            .unwrap();
        let pending = service.call(call);
        assert_eq!(
            layer.authorizer.shared_count(),
            shared,
            "a call in flight holds a count of the layer's shared authorizer"
        );
        let answer = block_on(pending).unwrap();
        assert_eq!(answer.status(), 200);
    }
}
