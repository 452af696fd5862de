//! The HTTP stacks users have, each with its middleware, behind one blocking interface so
//! that every scenario is written once: reqwest + reqwest-middleware, hyper-util's client
//! under a tower `ServiceBuilder` with a timeout layer, and ureq.

use std::convert::Infallible;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Either, Full};
use tower::{Service, ServiceBuilder, ServiceExt};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::api::{ApiOptions, Authorizer, NotRetried, Replayed};
use zuora_oauth_driver::tower::{Authorize, AuthorizeLayer};
use zuora_oauth_driver::{BlockingTokenSource, TokenSource};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

/// The body of a call.
#[derive(Clone, Debug)]
pub enum Payload {
    None,
    /// JSON the stack can send again.
    Json(String),
    /// JSON sent as a stream the stack cannot send again.
    Stream(String),
}

/// One API call.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: http::Method,
    pub url: String,
    pub body: Payload,
    /// An `Authorization` the caller sets itself.
    pub authorization: Option<&'static str>,
    /// Other headers the caller sets itself.
    pub headers: Vec<(&'static str, String)>,
    /// Settings for this call only, in the request's extensions (reqwest-middleware's
    /// extensions for the reqwest stack).
    pub options: Option<ApiOptions>,
}

impl Call {
    pub fn get(url: String) -> Self {
        Self {
            method: http::Method::GET,
            url,
            body: Payload::None,
            authorization: None,
            headers: Vec::new(),
            options: None,
        }
    }

    pub fn post(url: String, body: Payload) -> Self {
        Self {
            method: http::Method::POST,
            url,
            body,
            authorization: None,
            headers: Vec::new(),
            options: None,
        }
    }

    fn content_type(&self) -> Option<&'static str> {
        (!matches!(self.body, Payload::None)).then_some("application/json")
    }

    /// An `http` request builder with the call's method, URL and headers.
    fn http(&self) -> http::request::Builder {
        let mut request = http::Request::builder()
            .method(self.method.clone())
            .uri(&self.url);
        if let Some(value) = self.authorization {
            request = request.header("authorization", value);
        }
        if let Some(content_type) = self.content_type() {
            request = request.header("content-type", content_type);
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if let Some(options) = &self.options {
            request = request.extension(options.clone());
        }
        request
    }
}

/// What came back, in every stack's terms.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub request_id: Option<String>,
    pub replayed: Option<Replayed>,
    pub not_retried: Option<NotRetried>,
    pub body: String,
    pub headers: http::HeaderMap,
}

impl Outcome {
    fn of(parts: &http::response::Parts, body: String) -> Self {
        Self {
            status: parts.status.as_u16(),
            request_id: parts
                .headers
                .get("zuora-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            replayed: parts.extensions.get::<Replayed>().cloned(),
            not_retried: parts.extensions.get::<NotRetried>().cloned(),
            body,
            headers: parts.headers.clone(),
        }
    }

    /// A header of the answer, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The demo client's token request against `zuora`.
pub fn token_request(zuora: &MockServer) -> TokenRequest {
    token_request_for(zuora, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
}

/// A token request against `zuora` with these credentials.
pub fn token_request_for(zuora: &MockServer, id: &str, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(id).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// A stack with its middleware, authorizing with a token source for `request`.
pub trait Stack: Send + Sync + Sized + 'static {
    const NAME: &'static str;
    fn new(request: TokenRequest, options: ApiOptions) -> Self;
    /// Sends one call; an error (no token, transport) as text.
    fn call(&self, call: &Call) -> Result<Outcome, String>;
    /// Sends every call at once.
    fn concurrently(&self, calls: Vec<Call>) -> Vec<Result<Outcome, String>>;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `calls` as tasks of `runtime`, started together.
fn spawn_all<S: Stack + Clone>(
    runtime: &tokio::runtime::Runtime,
    stack: &S,
    calls: Vec<Call>,
    send: impl Fn(S, Call) -> tokio::task::JoinHandle<Result<Outcome, String>>,
) -> Vec<Result<Outcome, String>> {
    let _guard = runtime.enter();
    let tasks: Vec<_> = calls.into_iter().map(|c| send(stack.clone(), c)).collect();
    runtime.block_on(async {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    })
}

/// reqwest with reqwest-middleware; the token source on the same `reqwest::Client`.
#[derive(Clone)]
pub struct Reqwest {
    runtime: Arc<tokio::runtime::Runtime>,
    client: reqwest_middleware::ClientWithMiddleware,
}

impl Reqwest {
    async fn send(&self, call: &Call) -> Result<Outcome, String> {
        let mut request = self.client.request(call.method.clone(), &call.url);
        if let Some(value) = call.authorization {
            request = request.header("authorization", value);
        }
        if let Some(content_type) = call.content_type() {
            request = request.header("content-type", content_type);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(options) = &call.options {
            request = request.with_extension(options.clone());
        }
        request = match &call.body {
            Payload::None => request,
            Payload::Json(json) => request.body(json.clone()),
            // A body reqwest cannot copy.
            Payload::Stream(json) => {
                request.body(reqwest::Body::wrap(Full::new(Bytes::from(json.clone()))))
            }
        };
        let response = request.send().await.map_err(|e| format!("{e:?}"))?;
        let response = http::Response::from(response);
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?;
        Ok(Outcome::of(
            &parts,
            String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        ))
    }
}

impl Stack for Reqwest {
    const NAME: &'static str = "reqwest";

    fn new(request: TokenRequest, options: ApiOptions) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = runtime();
        let client = reqwest::Client::new();
        let transport = zuora_oauth_reqwest::ReqwestTransport::with_client(client.clone());
        let source = TokenSource::new(request, transport);
        let middleware = zuora_oauth_reqwest::AuthorizeMiddleware::new(
            Authorizer::new(source).with_options(options),
        );
        let client = reqwest_middleware::ClientBuilder::new(client)
            .with(middleware)
            .build();
        Self {
            runtime: Arc::new(runtime),
            client,
        }
    }

    fn call(&self, call: &Call) -> Result<Outcome, String> {
        self.runtime.block_on(self.send(call))
    }

    fn concurrently(&self, calls: Vec<Call>) -> Vec<Result<Outcome, String>> {
        spawn_all(&self.runtime, self, calls, |stack, call| {
            tokio::spawn(async move { stack.send(&call).await })
        })
    }
}

/// The body type of the tower stack: JSON it can copy, or a boxed stream it cannot.
type TowerBody = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;
type TowerService = tower::timeout::Timeout<
    Authorize<
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            TowerBody,
        >,
    >,
>;

/// hyper-util's client under a tower `ServiceBuilder` with a timeout layer.
#[derive(Clone)]
pub struct Tower {
    runtime: Arc<tokio::runtime::Runtime>,
    service: TowerService,
}

impl Tower {
    async fn send(mut self, call: Call) -> Result<Outcome, String> {
        let request = call.http();
        let body = match call.body {
            Payload::None => Either::Left(Full::new(Bytes::new())),
            Payload::Json(json) => Either::Left(Full::new(Bytes::from(json))),
            Payload::Stream(json) => Either::Right(Full::new(Bytes::from(json)).boxed()),
        };
        let request = request.body(body).unwrap();
        // An error as its whole chain, as a user who prints it all sees it.
        let service = self.service.ready().await.map_err(|e| chain(&*e))?;
        let response = service.call(request).await.map_err(|e| chain(&*e))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Outcome::of(
            &parts,
            String::from_utf8_lossy(&body).into_owned(),
        ))
    }
}

impl Stack for Tower {
    const NAME: &'static str = "tower";

    fn new(request: TokenRequest, options: ApiOptions) -> Self {
        let runtime = runtime();
        let service = runtime.block_on(async {
            let source = TokenSource::new(request, zuora_oauth_hyper::HyperTransport::new());
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<TowerBody>();
            ServiceBuilder::new()
                .timeout(Duration::from_secs(30))
                .layer(AuthorizeLayer::new(
                    Authorizer::new(source).with_options(options),
                ))
                .service(client)
        });
        Self {
            runtime: Arc::new(runtime),
            service,
        }
    }

    fn call(&self, call: &Call) -> Result<Outcome, String> {
        self.runtime.block_on(self.clone().send(call.clone()))
    }

    fn concurrently(&self, calls: Vec<Call>) -> Vec<Result<Outcome, String>> {
        spawn_all(&self.runtime, self, calls, |stack, call| {
            tokio::spawn(stack.send(call))
        })
    }
}

/// ureq with its middleware (blocking): bodies over 1 KiB are streamed, not replayed.
#[derive(Clone)]
pub struct Ureq {
    agent: ureq::Agent,
}

/// The ureq stack's replay limit: the `Stream` bodies of the scenarios are longer.
pub const UREQ_REPLAY_LIMIT: u64 = 1024;

impl Stack for Ureq {
    const NAME: &'static str = "ureq";

    fn new(request: TokenRequest, options: ApiOptions) -> Self {
        let source = BlockingTokenSource::new(request, zuora_oauth_ureq::UreqTransport::new());
        let agent = zuora_oauth_ureq::AuthorizeMiddleware::new(source)
            .with_options(options)
            .with_replay_limit(UREQ_REPLAY_LIMIT)
            .agent(|| ureq::Agent::config_builder().http_status_as_error(false));
        Self { agent }
    }

    fn call(&self, call: &Call) -> Result<Outcome, String> {
        let request = call.http();
        let sent = match &call.body {
            Payload::None => self.agent.run(request.body(()).unwrap()),
            Payload::Json(json) => self.agent.run(request.body(json.clone()).unwrap()),
            Payload::Stream(json) => {
                let reader = std::io::Cursor::new(json.clone().into_bytes());
                let body = ureq::SendBody::from_owned_reader(reader);
                self.agent.run(request.body(body).unwrap())
            }
        };
        let response = sent.map_err(|e| format!("{e:?}"))?;
        let (parts, mut body) = response.into_parts();
        let text = body.read_to_string().map_err(|e| e.to_string())?;
        Ok(Outcome::of(&parts, text))
    }

    fn concurrently(&self, calls: Vec<Call>) -> Vec<Result<Outcome, String>> {
        let barrier = Arc::new(Barrier::new(calls.len()));
        let threads: Vec<_> = calls
            .into_iter()
            .map(|call| {
                let (stack, barrier) = (self.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    stack.call(&call)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    }
}

/// Every message of `error`'s chain, joined by ": " (what `{:#}` with anyhow shows).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// Runs each listed scenario through every stack.
macro_rules! stacks {
    ($($scenario:ident),* $(,)?) => {
        mod reqwest {
            $( #[test] fn $scenario() { super::$scenario::<super::stacks::Reqwest>() } )*
        }
        mod tower {
            $( #[test] fn $scenario() { super::$scenario::<super::stacks::Tower>() } )*
        }
        mod ureq {
            $( #[test] fn $scenario() { super::$scenario::<super::stacks::Ureq>() } )*
        }
    };
}
pub(crate) use stacks;
