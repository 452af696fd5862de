//! Exchange cost: build the token request and parse a realistic 200 response into a token,
//! in-process, with a canned response. Side by side: this project's core, `oauth2` 5.0.0
//! (client-credentials, request-body client auth, driven by a closure HTTP client), and a
//! naive floor (serde_urlencoded + `http` builders + serde_json into a plain struct).
//!
//! Every variant gets its response the same way: the "transport" drops the request it is
//! given and returns a clone of one canned `http::Response<Vec<u8>>` (that clone is what
//! oauth2's `SyncHttpClient` must return anyway). The clone alone is measured too
//! (`harness/clone canned response`), so it can be subtracted.
//!
//! Allocations per exchange (counting global allocator) are printed before criterion runs.
//!
//! `cargo bench -p zuora-oauth-benches --bench exchange`

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group};
use http::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;
use zuora_oauth_benches::{
    Allocs, CLIENT_ID, CLIENT_SECRET, CountingAlloc, TOKEN_BODY, TOKEN_HEADERS, TOKEN_URL,
    allocs_per_run,
};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// The canned 200 response every variant receives (cloned per exchange).
fn canned() -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(200);
    for (name, value) in TOKEN_HEADERS {
        builder = builder.header(*name, *value);
    }
    builder.body(TOKEN_BODY.as_bytes().to_vec()).unwrap()
}

/// The "transport" shared by all variants: takes the request, hands back the canned answer.
fn send(
    canned: &http::Response<Vec<u8>>,
    request: http::Request<Vec<u8>>,
) -> http::Response<Vec<u8>> {
    drop(black_box(request));
    canned.clone()
}

// --- this project's core -------------------------------------------------------------

fn core_request() -> TokenRequest {
    TokenRequest::new(
        Environment::Prod,
        ClientId::new(CLIENT_ID).unwrap(),
        ClientSecret::new(CLIENT_SECRET).unwrap(),
    )
}

#[inline(never)]
/// One exchange with a `TokenRequest` built once (its form is encoded at construction).
fn core_exchange(request: &TokenRequest, canned: &http::Response<Vec<u8>>) {
    let response = send(canned, request.to_http());
    let token = request.parse_response(&response).unwrap();
    black_box(&token);
}

/// Same, building (and validating) the credentials and the `TokenRequest` every time.
fn core_exchange_from_scratch(canned: &http::Response<Vec<u8>>) {
    core_exchange(&core_request(), canned);
}

/// Same, then reading once what the other variants give eagerly or cannot give: the parsed
/// scope items, the request ID and both generations of rate-limit headers (all lazy in core).
fn core_exchange_and_read(request: &TokenRequest, canned: &http::Response<Vec<u8>>) {
    let response = send(canned, request.to_http());
    let token = request.parse_response(&response).unwrap();
    // One pass over the scope items (oauth2 splits its scope string once, eagerly).
    for item in token.scope().items() {
        black_box(item);
    }
    black_box(token.meta().request_id());
    black_box(token.meta().rate_limits());
    black_box(&token);
}

// --- oauth2 5.0.0 ----------------------------------------------------------------------

type OAuth2Client = oauth2::basic::BasicClient<
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

fn oauth2_client() -> OAuth2Client {
    oauth2::basic::BasicClient::new(oauth2::ClientId::new(CLIENT_ID.to_owned()))
        .set_client_secret(oauth2::ClientSecret::new(CLIENT_SECRET.to_owned()))
        .set_auth_type(oauth2::AuthType::RequestBody)
        .set_token_uri(oauth2::TokenUrl::new(TOKEN_URL.to_owned()).unwrap())
}

/// One exchange through `exchange_client_credentials().request(&http_client)`, the
/// `SyncHttpClient` being a closure `Fn(HttpRequest) -> Result<HttpResponse, E>`.
fn oauth2_exchange(client: &OAuth2Client, canned: &http::Response<Vec<u8>>) {
    let http_client = |request: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, Infallible> {
        Ok(send(canned, request))
    };
    let token = client
        .exchange_client_credentials()
        .request(&http_client)
        .unwrap();
    black_box(&token);
}

// --- naive floor -----------------------------------------------------------------------

/// What a hand-rolled client deserialises into: no validation beyond types.
#[derive(Deserialize)]
#[allow(dead_code)] // read through black_box only
struct NaiveToken {
    access_token: String,
    expires_in: u64,
    token_type: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    jti: Option<String>,
}

/// Encodes the form and builds the request every time, parses into [`NaiveToken`].
fn naive_exchange(canned: &http::Response<Vec<u8>>) {
    let form = serde_urlencoded::to_string([
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "client_credentials"),
    ])
    .unwrap();
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(TOKEN_URL)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "application/json")
        .body(form.into_bytes())
        .unwrap();
    let response = send(canned, request);
    assert_eq!(response.status(), http::StatusCode::OK);
    let token: NaiveToken = serde_json::from_slice(response.body()).unwrap();
    black_box(&token);
}

/// The tightest floor: form bytes and URI prepared once (as core does), cloned per call.
fn naive_hoisted_exchange(form: &[u8], uri: &http::Uri, canned: &http::Response<Vec<u8>>) {
    let mut request = http::Request::new(form.to_vec());
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = uri.clone();
    let headers = request.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(ACCEPT, http::HeaderValue::from_static("application/json"));
    let response = send(canned, request);
    assert_eq!(response.status(), http::StatusCode::OK);
    let token: NaiveToken = serde_json::from_slice(response.body()).unwrap();
    black_box(&token);
}

fn hoisted_parts() -> (Vec<u8>, http::Uri) {
    let form = serde_urlencoded::to_string([
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("grant_type", "client_credentials"),
    ])
    .unwrap();
    (form.into_bytes(), http::Uri::from_static(TOKEN_URL))
}

/// Sanity: every variant really parses the canned response into the same token.
fn check_variants(canned: &http::Response<Vec<u8>>) {
    use oauth2::TokenResponse;
    let request = core_request();
    let token = request.parse_response(canned).unwrap();
    assert_eq!(
        token.access_token().secret(),
        "c652cbc0ea384b9f81856a93a2a74538"
    );
    assert_eq!(token.expires_in(), Duration::from_secs(3599));
    assert_eq!(token.scope().tenant_id(), Some(19));
    assert_eq!(token.scope().entity_ids().count(), 2);
    assert_eq!(
        token.meta().request_id(),
        Some("5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10")
    );
    assert_eq!(token.meta().rate_limits().minute_remaining, Some(99));
    assert_eq!(token.meta().rate_limits().remaining, Some(99));
    let form = request.to_http().into_body();
    assert_eq!(
        form,
        hoisted_parts().0,
        "same form bytes as the naive floor"
    );

    let client = oauth2_client();
    let http_client = |r: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, Infallible> {
        // The same three fields, grant_type first.
        let mut fields: Vec<_> = r.body().split(|&b| b == b'&').collect();
        let mut ours: Vec<_> = form.split(|&b| b == b'&').collect();
        fields.sort();
        ours.sort();
        assert_eq!(fields, ours, "oauth2 sends the same form fields");
        assert!(r.headers().get(http::header::AUTHORIZATION).is_none());
        Ok(canned.clone())
    };
    let t = client
        .exchange_client_credentials()
        .request(&http_client)
        .unwrap();
    assert_eq!(
        t.access_token().secret(),
        "c652cbc0ea384b9f81856a93a2a74538"
    );
    assert_eq!(t.expires_in(), Some(Duration::from_secs(3599)));
    assert_eq!(t.scopes().map(Vec::len), Some(5));
}

fn print_allocations(canned: &http::Response<Vec<u8>>) {
    const RUNS: u64 = 1000;
    let request = core_request();
    let client = oauth2_client();
    let (form, uri) = hoisted_parts();
    let rows: [(&str, Allocs); 7] = [
        (
            "harness: clone canned response",
            allocs_per_run(RUNS, || drop(black_box(canned.clone()))),
        ),
        (
            "core: to_http + parse_response",
            allocs_per_run(RUNS, || core_exchange(&request, canned)),
        ),
        (
            "core: + TokenRequest::new each time",
            allocs_per_run(RUNS, || core_exchange_from_scratch(canned)),
        ),
        (
            "core: + read scope, request id, rate limits",
            allocs_per_run(RUNS, || core_exchange_and_read(&request, canned)),
        ),
        (
            "oauth2 5.0.0: exchange_client_credentials",
            allocs_per_run(RUNS, || oauth2_exchange(&client, canned)),
        ),
        (
            "naive: urlencode + builder + serde_json",
            allocs_per_run(RUNS, || naive_exchange(canned)),
        ),
        (
            "naive, hoisted form and URI",
            allocs_per_run(RUNS, || naive_hoisted_exchange(&form, &uri, canned)),
        ),
    ];
    let harness = rows[0].1;
    println!("\nAllocations per exchange (counting global allocator, mean of {RUNS} runs)");
    println!("| variant | allocations | bytes | excluding the harness clone |");
    println!("|---|---:|---:|---:|");
    for (name, a) in rows {
        let own = if name.starts_with("harness") {
            "—".to_owned()
        } else {
            format!(
                "{} allocs / {} B",
                a.count - harness.count,
                a.bytes - harness.bytes
            )
        };
        println!("| {name} | {} | {} | {own} |", a.count, a.bytes);
    }
    println!();
}

fn exchange(c: &mut Criterion) {
    let canned = canned();
    check_variants(&canned);
    print_allocations(&canned);

    let request = core_request();
    let client = oauth2_client();
    let (form, uri) = hoisted_parts();
    let mut group = c.benchmark_group("exchange");
    group.bench_function("harness/clone canned response", |b| {
        b.iter(|| black_box(canned.clone()))
    });
    group.bench_function("core/to_http+parse_response", |b| {
        b.iter(|| core_exchange(&request, &canned))
    });
    group.bench_function("core/new+to_http+parse_response", |b| {
        b.iter(|| core_exchange_from_scratch(&canned))
    });
    group.bench_function("core/to_http+parse_response+read_all", |b| {
        b.iter(|| core_exchange_and_read(&request, &canned))
    });
    group.bench_function("oauth2/exchange_client_credentials", |b| {
        b.iter(|| oauth2_exchange(&client, &canned))
    });
    group.bench_function("naive/urlencode+builder+serde_json", |b| {
        b.iter(|| naive_exchange(&canned))
    });
    group.bench_function("naive/hoisted_form_and_uri", |b| {
        b.iter(|| naive_hoisted_exchange(&form, &uri, &canned))
    });
    group.finish();

    if zuora_oauth_benches::bench_mode() {
        interleaved(&canned);
    }

    // The pieces of the core's exchange, to see where its time goes.
    let response = canned.clone();
    let mut group = c.benchmark_group("exchange-parts");
    group.bench_function("core/to_http", |b| b.iter(|| black_box(request.to_http())));
    group.bench_function("core/parse_response", |b| {
        b.iter(|| black_box(request.parse_response(black_box(&response)).unwrap()))
    });
    group.bench_function("naive/serde_json_only", |b| {
        b.iter(|| {
            black_box(serde_json::from_slice::<NaiveToken>(black_box(response.body())).unwrap())
        })
    });
    group.finish();
}

/// Times `iters` runs of `f`.
fn timed<'a>(f: impl Fn() + 'a) -> zuora_oauth_benches::Timed<'a> {
    Box::new(move |iters| {
        let start = std::time::Instant::now();
        for _ in 0..iters {
            f();
        }
        start.elapsed()
    })
}

/// Criterion measures one variant after the other; on this shared machine a burst of load
/// can favour one of them. This runs them in turns (`ROUNDS` rounds of about `TURN`
/// each) and prints medians, so that the ratios come from side-by-side measurements.
fn interleaved(canned: &http::Response<Vec<u8>>) {
    const ROUNDS: usize = 51;
    const TURN: Duration = Duration::from_millis(20);
    let request = core_request();
    let client = oauth2_client();
    let (form, uri) = hoisted_parts();
    let variants: [(&str, zuora_oauth_benches::Timed<'_>); 7] = [
        (
            "harness: clone canned response",
            timed(|| drop(black_box(canned.clone()))),
        ),
        (
            "core: to_http + parse_response",
            timed(|| core_exchange(&request, canned)),
        ),
        (
            "core: + TokenRequest::new each time",
            timed(|| core_exchange_from_scratch(canned)),
        ),
        (
            "core: + read scope, request id, rate limits",
            timed(|| core_exchange_and_read(&request, canned)),
        ),
        (
            "oauth2 5.0.0: exchange_client_credentials",
            timed(|| oauth2_exchange(&client, canned)),
        ),
        (
            "naive: urlencode + builder + serde_json",
            timed(|| naive_exchange(canned)),
        ),
        (
            "naive, hoisted form and URI",
            timed(|| naive_hoisted_exchange(&form, &uri, canned)),
        ),
    ];
    let refs: Vec<_> = variants.iter().map(|(_, f)| f).collect();
    let times = zuora_oauth_benches::interleave(ROUNDS, TURN, &refs);
    let medians: Vec<(f64, f64, f64)> = times
        .into_iter()
        .map(|mut t| zuora_oauth_benches::median_min_max(&mut t))
        .collect();
    let harness = medians[0].0;
    let oauth2 = medians[4].0;
    println!(
        "\nExchange, interleaved: {ROUNDS} rounds of about {TURN:?} per variant, ns per exchange"
    );
    println!(
        "| variant | median (min–max) | net of the harness clone | oauth2 ÷ this | oauth2 ÷ this, net |"
    );
    println!("|---|---:|---:|---:|---:|");
    for ((name, _), (median, min, max)) in variants.iter().zip(&medians) {
        if name.starts_with("harness") {
            println!("| {name} | {median:.0} ({min:.0}–{max:.0}) | — | | |");
        } else {
            let net = median - harness;
            println!(
                "| {name} | {median:.0} ({min:.0}–{max:.0}) | {net:.0} | {:.2}× | {:.2}× |",
                oauth2 / median,
                (oauth2 - harness) / net
            );
        }
    }
}

criterion_group!(benches, exchange);

/// `EXCHANGE_ONLY=<variant>:<n>` runs one variant `n` times and exits, for instruction
/// counts under callgrind (see `benches/callgrind.sh`): no criterion, no other variant.
fn run_only(spec: &str) {
    let (variant, n) = spec.split_once(':').expect("EXCHANGE_ONLY=<variant>:<n>");
    let n: u64 = n.parse().expect("a number of runs");
    let canned = canned();
    let request = core_request();
    let client = oauth2_client();
    let (form, uri) = hoisted_parts();
    let response = canned.clone();
    let mut f: Box<dyn FnMut()> = match variant {
        "harness" => Box::new(|| drop(black_box(canned.clone()))),
        "core" => Box::new(|| core_exchange(&request, &canned)),
        "core-new" => Box::new(|| core_exchange_from_scratch(&canned)),
        "core-read" => Box::new(|| core_exchange_and_read(&request, &canned)),
        "core-to_http" => Box::new(|| drop(black_box(request.to_http()))),
        "core-parse" => Box::new(|| drop(black_box(request.parse_response(&response)))),
        "oauth2" => Box::new(|| oauth2_exchange(&client, &canned)),
        "naive" => Box::new(|| naive_exchange(&canned)),
        "naive-hoisted" => Box::new(|| naive_hoisted_exchange(&form, &uri, &canned)),
        other => panic!("unknown variant {other}"),
    };
    for _ in 0..n {
        f();
    }
}

fn main() {
    if let Ok(spec) = std::env::var("EXCHANGE_ONLY") {
        run_only(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
