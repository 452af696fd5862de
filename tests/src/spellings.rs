//! Every way a leak check spells a secret: one helper for the leak scans of every crate's
//! tests (recordings, logs, metrics, error messages).

/// Every spelling of `secret` a leak check looks for: the text as is, form-encoded (either
/// hex case) and JSON-escaped (with `/` escaped or not), and each of those as a list of byte
/// values, as hex (either case) and as base64 (at each of the three alignments a longer text
/// can give it).
///
/// ```
/// let s = zuora_oauth_testkit::spellings("a/b");
/// assert!(s.contains(&"a%2Fb".to_owned()) && s.contains(&"a%2fb".to_owned()));
/// assert!(s.contains(&"97, 47, 98".to_owned()) && s.contains(&"612F62".to_owned()));
/// ```
pub fn spellings(secret: &str) -> Vec<String> {
    let form = |upper: bool| -> String {
        secret
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ if upper => format!("%{b:02X}"),
                _ => format!("%{b:02x}"),
            })
            .collect()
    };
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json.trim_matches('"');
    let texts = [
        secret.to_owned(),
        form(true),
        form(false),
        json.to_owned(),
        // JSON may escape `/` too.
        json.replace('/', "\\/"),
    ];
    let mut all = Vec::new();
    for text in texts {
        let bytes = text.as_bytes();
        let list = |sep: &str| {
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        all.extend([list(", "), list(","), hex.to_uppercase(), hex]);
        all.extend(base64_cores(bytes));
        all.push(text);
    }
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// Fails if `text` holds any spelling of `secret` ([`spellings`]); `what` names the text
/// (never the secret: the message names the spelling found only by its kind of encoding).
#[track_caller]
pub fn assert_no_spelling(what: &str, text: &str, secret: &str) {
    for (i, spelling) in spellings(secret).iter().enumerate() {
        assert!(
            !text.contains(spelling.as_str()),
            "{what} holds a spelling of a secret (spelling #{i} of {})",
            spellings(secret).len()
        );
    }
}

/// The base64 characters that `bytes` always produces inside a longer text, at each of the
/// three alignments it may start at (the characters mixed with its neighbours dropped).
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    (0..3)
        .map(|pad| {
            let mut padded = vec![0u8; pad];
            padded.extend_from_slice(bytes);
            let encoded = base64(&padded);
            let encoded = encoded.trim_end_matches('=');
            // The first characters mix the padding in; the last may mix in what follows.
            let skip = if pad == 0 { 0 } else { (pad * 8).div_ceil(6) };
            let whole = (padded.len() / 3) * 4;
            encoded
                .get(skip..whole.max(skip))
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|core| core.len() >= 8)
        .collect()
}

/// Standard base64 (no dependency for one helper).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_the_standard_one() {
        assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(base64(b"any carnal pleasu"), "YW55IGNhcm5hbCBwbGVhc3U=");
    }

    #[test]
    fn a_secret_inside_base64_of_a_longer_text_is_found_at_any_alignment() {
        let secret = "m0ck+Zu0ra/S3cr3t";
        for prefix in ["", "x", "xy"] {
            let text = base64(format!("{prefix}{secret}; and more").as_bytes());
            assert!(
                spellings(secret).iter().any(|s| text.contains(s.as_str())),
                "prefix {prefix:?}: {text}"
            );
        }
    }

    #[test]
    #[should_panic(expected = "holds a spelling of a secret")]
    fn the_assertion_fails_on_a_form_encoded_secret() {
        assert_no_spelling("a body", "client_secret=a%2Fb&x=1", "a/b");
    }
}
