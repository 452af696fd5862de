//! The proxy policy as a user meets it: which requests go through which proxy, from the
//! environment (given as a lookup, never by changing the process environment) or set
//! explicitly, and what it shows of proxy credentials.

use zuora_oauth_driver::internal::ProxyRoute;
use zuora_oauth_driver::{Proxy, ProxyPolicy};

const TOKEN_URL: &str = "https://rest.zuora.com/oauth/token";
const LOOPBACK_URL: &str = "http://127.0.0.1:8080/oauth/token";

fn env(vars: &[(&str, &str)]) -> ProxyPolicy {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ProxyPolicy::from_env_with(move |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

/// The proxy's `host:port` a request to `url` goes through, or `None` for a direct one.
fn proxy_for(policy: &ProxyPolicy, url: &str) -> Option<String> {
    match policy.route(&url.parse().unwrap()).unwrap() {
        ProxyRoute::Direct => None,
        ProxyRoute::Tunnel(proxy) => Some(format!("{}:{}", proxy.host(), proxy.port())),
    }
}

#[test]
fn https_goes_through_the_https_or_all_proxy_lower_case_first() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("HTTPS_PROXY", "http://upper:1")], "upper:1"),
        (&[("https_proxy", "http://lower:1")], "lower:1"),
        (
            &[
                ("HTTPS_PROXY", "http://upper:1"),
                ("https_proxy", "http://lower:1"),
            ],
            "lower:1",
        ),
        (&[("ALL_PROXY", "http://all:1")], "all:1"),
        (
            &[
                ("all_proxy", "http://all-lower:1"),
                ("ALL_PROXY", "http://all:1"),
            ],
            "all-lower:1",
        ),
        (
            &[
                ("ALL_PROXY", "http://all:1"),
                ("HTTPS_PROXY", "http://https:1"),
            ],
            "https:1",
        ),
        // An empty variable counts as unset.
        (
            &[("https_proxy", ""), ("HTTPS_PROXY", "http://upper:1")],
            "upper:1",
        ),
        (
            &[("HTTPS_PROXY", "  "), ("ALL_PROXY", "http://all:1")],
            "all:1",
        ),
    ];
    for (vars, expected) in cases {
        assert_eq!(
            proxy_for(&env(vars), TOKEN_URL).as_deref(),
            Some(*expected),
            "{vars:?}"
        );
    }
}

#[test]
fn without_a_proxy_variable_everything_is_direct() {
    for vars in [
        &[][..],
        &[
            ("HTTP_PROXY", "http://plain:1"),
            ("http_proxy", "http://plain:1"),
        ],
        &[("NO_PROXY", "example.com")],
        &[("HTTPS_PROXY", "")],
    ] {
        assert_eq!(proxy_for(&env(vars), TOKEN_URL), None, "{vars:?}");
    }
}

#[test]
fn plain_http_never_goes_through_a_proxy() {
    let everything = env(&[
        ("https_proxy", "http://p:1"),
        ("HTTPS_PROXY", "http://p:1"),
        ("all_proxy", "http://p:1"),
        ("ALL_PROXY", "http://p:1"),
        ("http_proxy", "http://p:1"),
        ("HTTP_PROXY", "http://p:1"),
    ]);
    let explicit = ProxyPolicy::via(Proxy::parse("http://p:1").unwrap());
    for policy in [&everything, &explicit] {
        assert_eq!(proxy_for(policy, LOOPBACK_URL), None, "{policy:?}");
        assert_eq!(proxy_for(policy, "http://localhost/oauth/token"), None);
        assert_eq!(proxy_for(policy, "HTTP://[::1]:9/oauth/token"), None);
        // …while https does.
        assert_eq!(proxy_for(policy, TOKEN_URL).as_deref(), Some("p:1"));
        assert_eq!(
            proxy_for(policy, "HTTPS://127.0.0.1:9/").as_deref(),
            Some("p:1")
        );
    }
    // Even an unusable proxy in the environment is no error for plain http.
    let broken = env(&[("HTTPS_PROXY", "socks5://p:1")]);
    assert_eq!(proxy_for(&broken, LOOPBACK_URL), None);
}

#[test]
fn no_proxy_sends_matching_https_hosts_direct() {
    let policy = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        (
            "NO_PROXY",
            "internal.example, 127.0.0.1, 10.0.0.0/8, [::1], test.example:8443",
        ),
    ]);
    let direct = [
        "https://zuora.internal.example/oauth/token",
        "https://127.0.0.1:4443/oauth/token",
        "https://10.1.2.3/oauth/token",
        "https://[::1]:4443/oauth/token",
        "https://test.example:8443/oauth/token",
    ];
    for url in direct {
        assert_eq!(proxy_for(&policy, url), None, "{url}");
    }
    let proxied = [
        TOKEN_URL,
        "https://127.0.0.2/oauth/token",
        "https://11.1.2.3/oauth/token",
        // The port of a no_proxy entry is the only one it covers (443 by default).
        "https://test.example/oauth/token",
    ];
    for url in proxied {
        assert_eq!(proxy_for(&policy, url).as_deref(), Some("p:1"), "{url}");
    }
}

#[test]
fn lower_case_no_proxy_wins_and_star_means_everything() {
    let policy = env(&[
        ("HTTPS_PROXY", "http://p:1"),
        ("NO_PROXY", "rest.zuora.com"),
        ("no_proxy", "other.example"),
    ]);
    assert_eq!(proxy_for(&policy, TOKEN_URL).as_deref(), Some("p:1"));
    assert_eq!(proxy_for(&policy, "https://other.example/"), None);

    let star = env(&[("HTTPS_PROXY", "http://p:1"), ("no_proxy", "*")]);
    assert_eq!(proxy_for(&star, TOKEN_URL), None);
}

#[test]
fn an_explicit_policy_overrides_the_environment() {
    // Neither reads the environment; the tunnel through an explicit proxy ignores no_proxy.
    assert_eq!(proxy_for(&ProxyPolicy::none(), TOKEN_URL), None);
    let via = ProxyPolicy::via("explicit.example:3128".parse().unwrap());
    assert_eq!(
        proxy_for(&via, TOKEN_URL).as_deref(),
        Some("explicit.example:3128")
    );
    assert_eq!(
        proxy_for(&via, "https://127.0.0.1/oauth/token").as_deref(),
        Some("explicit.example:3128")
    );
}

#[test]
fn proxy_urls_take_the_usual_forms() {
    let cases = [
        ("http://proxy.example:3128", "proxy.example", 3128),
        ("HTTP://proxy.example:3128/", "proxy.example", 3128),
        ("proxy.example:3128", "proxy.example", 3128),
        ("http://proxy.example", "proxy.example", 80),
        ("http://10.0.0.1:8080/ignored/path", "10.0.0.1", 8080),
        ("http://[::1]:3128", "[::1]", 3128),
        ("  http://u:p@proxy.example:1  ", "proxy.example", 1),
    ];
    for (url, host, port) in cases {
        let proxy = Proxy::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!((proxy.host(), proxy.port()), (host, port), "{url}");
        assert_eq!(proxy.uri().to_string(), format!("http://{host}:{port}/"));
    }
}

#[test]
fn unusable_proxy_urls_are_refused_without_repeating_them() {
    let cases = [
        (
            "socks5://user:hunter2@proxy:1080",
            "scheme `socks5` is not supported",
        ),
        (
            "https://user:hunter2@proxy:443",
            "scheme `https` is not supported",
        ),
        ("http://user:hunter2@", "names no host"),
        (
            "http://user:hunter2@proxy:port",
            "host or port is not valid",
        ),
        (
            "http://user:hunter2@proxy:99999",
            "host or port is not valid",
        ),
        ("http://user:hunter2@proxy:", "host or port is not valid"),
        (
            "http://user:hunter2%ff@proxy:1",
            "not valid percent-encoded UTF-8",
        ),
    ];
    for (url, reason) in cases {
        let error = Proxy::parse(url)
            .err()
            .unwrap_or_else(|| panic!("{url} accepted"));
        let text = error.to_string();
        assert!(text.contains(reason), "{url}: {text}");
        assert!(!text.contains("hunter2") && !format!("{error:?}").contains("hunter2"));
        assert_eq!(error.variable(), None);
    }
}

#[test]
fn an_unusable_environment_proxy_fails_https_requests_naming_the_variable() {
    let policy = env(&[
        ("ALL_PROXY", "socks5://user:hunter2@proxy.example:1080"),
        ("NO_PROXY", "internal.example"),
    ]);
    let error = policy.route(&TOKEN_URL.parse().unwrap()).unwrap_err();
    assert_eq!(error.variable(), Some("ALL_PROXY"));
    let text = error.to_string();
    assert!(
        text.contains("ALL_PROXY") && text.contains("socks5"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("proxy.example"),
        "{text}"
    );
    // Hosts the environment sends direct stay reachable.
    assert_eq!(proxy_for(&policy, "https://zuora.internal.example/"), None);
    assert!(!format!("{policy:?}").contains("hunter2"));
}

#[test]
fn credentials_are_decoded_for_basic_auth_and_never_shown() {
    let proxy = Proxy::parse("http://alice%40corp:s%3Acr%2Fet%25@proxy.example:3128").unwrap();
    assert_eq!(proxy.username(), Some("alice@corp"));
    assert_eq!(proxy.password(), Some("s:cr/et%"));
    let auth = proxy.basic_auth().unwrap();
    // base64("alice@corp:s:cr/et%")
    assert_eq!(auth.to_str().unwrap(), "Basic YWxpY2VAY29ycDpzOmNyL2V0JQ==");
    assert!(auth.is_sensitive());

    let policy = ProxyPolicy::via(proxy.clone());
    let env_policy = env(&[(
        "HTTPS_PROXY",
        "http://alice%40corp:s%3Acr%2Fet%25@proxy.example:3128",
    )]);
    let shown = [
        proxy.to_string(),
        format!("{proxy:?}"),
        format!("{policy:?}"),
        format!("{env_policy:?}"),
        format!("{auth:?}"),
    ];
    for text in &shown {
        for secret in [
            "s:cr/et%",
            "s%3Acr%2Fet%25",
            "YWxpY2VAY29ycDpzOmNyL2V0JQ",
            "alice",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    assert_eq!(proxy.to_string(), "http://proxy.example:3128");
    assert!(format!("{proxy:?}").contains("<redacted>"));

    // A user name alone is sent with an empty password, as curl does.
    let user_only = Proxy::parse("http://bob@proxy.example:1").unwrap();
    assert_eq!(user_only.password(), Some(""));
    assert_eq!(
        user_only.basic_auth().unwrap().to_str().unwrap(),
        "Basic Ym9iOg=="
    );
    assert!(
        Proxy::parse("http://proxy.example:1")
            .unwrap()
            .basic_auth()
            .is_none()
    );
}
