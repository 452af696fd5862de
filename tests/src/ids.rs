//! Random identifiers: 32-hex tokens and version-4 UUIDs.

use std::fmt::Write;

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// 32 lower-case hex digits, like Zuora's access tokens, `jti`s and user ids.
pub(crate) fn hex32() -> String {
    hex(&random::<16>())
}

/// A random version-4 UUID in its 36-character hyphenated form.
pub(crate) fn uuid() -> String {
    let mut b = random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub(crate) fn random_u32() -> u32 {
    u32::from_le_bytes(random::<4>())
}

/// Whether `s` is a hyphenated UUID (8-4-4-4-12 hex digits).
pub(crate) fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_zuoras_shapes() {
        let t = hex32();
        assert_eq!(t.len(), 32);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(hex32(), t);
        for _ in 0..100 {
            let u = uuid();
            assert!(is_uuid(&u), "{u}");
            assert_eq!(&u[14..15], "4", "version 4: {u}");
            assert!("89ab".contains(&u[19..20]), "RFC 4122 variant: {u}");
        }
        assert!(is_uuid("11e643f4-a3ee-8bad-b061-0025904c756d"));
        assert!(!is_uuid("11e643f4a3ee8badb0610025904c756d"));
        assert!(!is_uuid("11e643f4-a3ee-8bad-b061-0025904c756"));
        assert!(!is_uuid("11e643f4-a3ee-8bad-b061_0025904c756d"));
        assert!(!is_uuid("g1e643f4-a3ee-8bad-b061-0025904c756d"));
    }
}
