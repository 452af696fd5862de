//! Trust roots (feature `tls`): what each choice makes a transport trust, and custom roots
//! checked when they are added rather than at the first handshake.
#![cfg(feature = "tls")]

use base64::Engine as _;
use zuora_oauth_driver::TrustRoots;

/// A real root certificate to add: the first of Mozilla's.
fn some_root() -> Vec<u8> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].to_vec()
}

fn pem(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

#[test]
fn the_default_is_mozillas_roots_only() {
    let certificates = TrustRoots::default().certificates();
    assert_eq!(
        certificates.len(),
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.len()
    );
    assert!(certificates.len() > 100);
    assert!(TrustRoots::empty().certificates().is_empty());
}

#[test]
fn custom_roots_are_added_in_der_or_pem() {
    let root = some_root();
    let der = TrustRoots::empty().with_der(root.clone()).unwrap();
    assert_eq!(der.certificates().len(), 1);
    assert_eq!(der.certificates()[0].as_ref(), root.as_slice());

    // Every certificate of a PEM bundle, other sections skipped.
    let second = webpki_root_certs::TLS_SERVER_ROOT_CERTS[1].to_vec();
    let bundle = format!(
        "{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
        pem(&root),
        pem(&second)
    );
    let from_pem = TrustRoots::webpki().with_pem(&bundle).unwrap();
    let all = from_pem.certificates();
    assert_eq!(
        all.len(),
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 2
    );
    assert_eq!(all[all.len() - 2].as_ref(), root.as_slice());
    assert_eq!(all[all.len() - 1].as_ref(), second.as_slice());
    assert!(format!("{from_pem:?}").contains("custom: 2"));
}

#[test]
fn unusable_custom_roots_are_refused_when_added() {
    let error = TrustRoots::empty()
        .with_der(b"not a certificate".to_vec())
        .unwrap_err();
    assert!(error.to_string().contains("not usable"), "{error}");

    let error = TrustRoots::empty().with_pem("no PEM here").unwrap_err();
    assert!(
        error.to_string().contains("holds no CERTIFICATE"),
        "{error}"
    );

    let truncated = pem(&some_root()[..200]);
    assert!(TrustRoots::empty().with_pem(truncated).is_err());
}

/// Runs the ignored test `name` of this test binary in a child process whose environment
/// has `SSL_CERT_FILE` set to `file` (and no `SSL_CERT_DIR`); panics unless it ran and passed.
fn run_child(name: &str, file: &std::path::Path) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--ignored", "--test-threads=1"])
        .env("SSL_CERT_FILE", file)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_os_store_is_read_as_openssl_would() {
    let dir = std::env::temp_dir().join(format!("zuora-oauth-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("bundle.pem");
    std::fs::write(&bundle, pem(&some_root())).unwrap();
    run_child("os_store_child", &bundle);
    // A store with nothing readable is an error, not a transport that trusts nothing.
    run_child("os_store_child", &dir.join("missing.pem"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
#[ignore = "run by the_os_store_is_read_as_openssl_would in a child process"]
fn os_store_child() {
    let file = std::env::var_os("SSL_CERT_FILE").expect("run by the parent test");
    let loaded = TrustRoots::empty().with_os_store();
    match std::fs::read(&file) {
        Ok(pem) => {
            let expected = TrustRoots::empty().with_pem(pem).unwrap().certificates();
            let loaded = loaded.unwrap();
            assert_eq!(loaded.certificates(), expected);
            assert!(
                format!("{loaded:?}").contains("os_store: 1, custom: 0"),
                "{loaded:?}"
            );
        }
        Err(_) => {
            let error = loaded.expect_err("an error without readable certificates");
            assert!(error.to_string().contains("trust store"), "{error}");
        }
    }
}
