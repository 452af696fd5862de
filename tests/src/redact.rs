//! What the recordings hide: client secrets wherever a request carries them, and credentials
//! in headers. The server validates the real request; only the copy it records is redacted.

use serde_json::Value;

/// What replaces a secret in a recording: `[redacted]` (in a raw form body or query string,
/// its percent-encoded form `%5Bredacted%5D`, which parses back to `[redacted]`).
pub const REDACTED: &str = "[redacted]";
const REDACTED_FORM: &str = "%5Bredacted%5D";

/// Form and JSON field names whose values are secrets.
const SECRET_FIELDS: [&str; 2] = ["client_secret", "apisecretaccesskey"];
/// Headers whose values are secrets (kept: their names).
const SECRET_HEADERS: [&str; 2] = ["apisecretaccesskey", "cookie"];

fn is_secret_field(name: &str) -> bool {
    SECRET_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Decodes one `application/x-www-form-urlencoded` name (`+` is a space, `%XX` a byte).
fn form_decode(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => {
                match std::str::from_utf8(&raw[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=1&client_secret=s3cr%2Bt` → `a=1&client_secret=%5Bredacted%5D`: every other byte kept.
pub(crate) fn form_text(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, pair) in raw.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        let name = pair.split(|&b| b == b'=').next().unwrap_or_default();
        if is_secret_field(&form_decode(name)) {
            out.extend_from_slice(name);
            out.push(b'=');
            out.extend_from_slice(REDACTED_FORM.as_bytes());
        } else {
            out.extend_from_slice(pair);
        }
    }
    out
}

/// A request body with its secrets redacted: as a form, and also as JSON when it is JSON
/// (a client that sends its credentials the wrong way must not leak them either).
pub(crate) fn body(raw: &[u8]) -> Vec<u8> {
    if let Ok(mut json) = serde_json::from_slice::<Value>(raw)
        && json_value(&mut json)
    {
        return json.to_string().into_bytes();
    }
    form_text(raw)
}

/// Redacts secret fields anywhere in `value`; says whether it changed anything.
fn json_value(value: &mut Value) -> bool {
    match value {
        Value::Object(map) => {
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                if is_secret_field(k) {
                    *v = Value::String(REDACTED.into());
                    changed = true;
                } else {
                    changed |= json_value(v);
                }
            }
            changed
        }
        Value::Array(items) => items.iter_mut().fold(false, |c, v| json_value(v) | c),
        _ => false,
    }
}

/// A path with its query string's secrets redacted.
pub(crate) fn path(path_and_query: &str) -> String {
    match path_and_query.split_once('?') {
        Some((path, query)) => format!(
            "{path}?{}",
            String::from_utf8_lossy(&form_text(query.as_bytes()))
        ),
        None => path_and_query.to_owned(),
    }
}

/// A parsed form with the secrets' values replaced.
pub(crate) fn form(form: &[(String, String)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(k, v)| {
            let v = if is_secret_field(k) { REDACTED } else { v };
            (k.clone(), v.to_owned())
        })
        .collect()
}

/// A header's value as recorded. `authorization` keeps its scheme and, in place of the
/// credentials, `fingerprint` (or [`REDACTED`]).
pub(crate) fn header(name: &str, value: &str, fingerprint: Option<&str>) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        let scheme = value.trim().split(' ').next().unwrap_or_default();
        format!("{scheme} {}", fingerprint.unwrap_or(REDACTED))
            .trim()
            .to_owned()
    } else if SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
        REDACTED.to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_everything_but_the_secret() {
        let raw = b"client_id=abc&client_secret=s3cr%2Bt%3D&grant_type=client_credentials";
        assert_eq!(
            form_text(raw),
            b"client_id=abc&client_secret=%5Bredacted%5D&grant_type=client_credentials"
        );
        // An encoded name, a repeated field, an empty value, no value, stray separators.
        assert_eq!(
            form_text(b"client%5Fsecret=a&&client_secret&client_secret=&x=client_secret"),
            b"client%5Fsecret=%5Bredacted%5D&&client_secret=%5Bredacted%5D&client_secret=%5Bredacted%5D&x=client_secret"
        );
        let parsed: Vec<(String, String)> = serde_urlencoded::from_bytes(&form_text(raw)).unwrap();
        assert_eq!(parsed[1], ("client_secret".into(), REDACTED.into()));
        assert_eq!(form_decode(b"a+b%2"), "a b%2");
        assert_eq!(form_decode(b"%"), "%");
    }

    #[test]
    fn json_bodies_query_strings_and_headers() {
        let json = br#"{"client_id":"a","nested":[{"client_secret":"s"}],"CLIENT_SECRET":"t"}"#;
        let out = String::from_utf8(body(json)).unwrap();
        assert!(!out.contains(r#""s""#) && !out.contains(r#""t""#), "{out}");
        assert!(out.contains(r#""client_id":"a""#), "{out}");
        // JSON without secrets is kept byte for byte.
        assert_eq!(body(br#"{ "name" : "x" }"#), br#"{ "name" : "x" }"#);
        assert_eq!(
            path("/oauth/token?client_secret=abc&x=1"),
            "/oauth/token?client_secret=%5Bredacted%5D&x=1"
        );
        assert_eq!(path("/v1/accounts"), "/v1/accounts");
        assert_eq!(
            header("Authorization", "Basic Zm9vOmJhcg==", None),
            "Basic [redacted]"
        );
        assert_eq!(
            header("authorization", "Bearer abc", Some("[token 2]")),
            "Bearer [token 2]"
        );
        assert_eq!(header("apiSecretAccessKey", "s", None), REDACTED);
        assert_eq!(header("accept", "*/*", None), "*/*");
    }
}
