//! Is a URL's host loopback (`localhost`, `127.0.0.0/8`, `[::1]`)? The same answer as
//! `str::parse::<Ipv4Addr>`/`Ipv6Addr` and `is_loopback` (the tests compare both), without
//! the standard library's general IP-address parser (about 2.5 KB of a wasm module): the
//! grammar below is its grammar, read for the one question asked.

/// `localhost` (any case), an IPv4 address in `127.0.0.0/8`, or `[::1]` in any IPv6 spelling.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return ipv6(v6.as_bytes()) == Some([0, 0, 0, 0, 0, 0, 0, 1]);
    }
    host.len() <= 15 && whole(host.as_bytes(), |r| r.ipv4()).is_some_and(|[a, ..]| a == 127)
}

/// `read` applied to the whole of `s`: `None` if it fails or leaves anything.
fn whole<T>(s: &[u8], read: impl FnOnce(&mut Reader<'_>) -> Option<T>) -> Option<T> {
    let mut r = Reader { s, at: 0 };
    read(&mut r).filter(|_| r.at == s.len())
}

/// An IPv6 address, as eight groups.
fn ipv6(s: &[u8]) -> Option<[u16; 8]> {
    whole(s, |r| {
        let mut head = [0; 8];
        let (head_len, head_v4) = r.groups(&mut head);
        if head_len == 8 {
            return Some(head);
        }
        // An embedded IPv4 address only at the end; `::` stands for at least one group.
        if head_v4 || !r.eat(b':') || !r.eat(b':') {
            return None;
        }
        let mut tail = [0; 7];
        let (tail_len, _) = r.groups(&mut tail[..7 - head_len]);
        head[8 - tail_len..].copy_from_slice(&tail[..tail_len]);
        Some(head)
    })
}

/// A cursor over ASCII text; every `read_*` leaves it where it was when it fails.
struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    /// `read` or, if it fails, nothing consumed.
    fn atomically<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let at = self.at;
        let out = read(self);
        if out.is_none() {
            self.at = at;
        }
        out
    }

    /// The byte `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        let next = self.s.get(self.at) == Some(&b);
        self.at += usize::from(next);
        next
    }

    /// `read`, after `sep` unless it is the first item of a list.
    fn item<T>(
        &mut self,
        sep: u8,
        first: bool,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        self.atomically(|r| if first || r.eat(sep) { read(r) } else { None })
    }

    /// A number of at most `max` digits in `radix`; more than one digit may not start with
    /// a zero unless `zeros`.
    fn number(&mut self, radix: u32, max: usize, zeros: bool) -> Option<u32> {
        self.atomically(|r| {
            let leading_zero = r.s.get(r.at) == Some(&b'0');
            let (mut n, mut count) = (0u32, 0);
            while let Some(d) = r.s.get(r.at).and_then(|&b| char::from(b).to_digit(radix)) {
                r.at += 1;
                n = n * radix + d;
                count += 1;
                if count > max {
                    return None;
                }
            }
            (count > 0 && (zeros || !leading_zero || count == 1)).then_some(n)
        })
    }

    /// Four decimal octets separated by dots.
    fn ipv4(&mut self) -> Option<[u8; 4]> {
        self.atomically(|r| {
            let mut octets = [0; 4];
            for (i, octet) in octets.iter_mut().enumerate() {
                let n = r.item(b'.', i == 0, |r| r.number(10, 3, false))?;
                *octet = u8::try_from(n).ok()?;
            }
            Some(octets)
        })
    }

    /// Groups separated by colons, at most `groups.len()`, the last two of which may be an
    /// IPv4 address: how many were read, and whether the last were one.
    fn groups(&mut self, groups: &mut [u16]) -> (usize, bool) {
        let limit = groups.len();
        for i in 0..limit {
            if i + 1 < limit
                && let Some([a, b, c, d]) = self.item(b':', i == 0, Self::ipv4)
            {
                groups[i] = u16::from_be_bytes([a, b]);
                groups[i + 1] = u16::from_be_bytes([c, d]);
                return (i + 2, true);
            }
            match self.item(b':', i == 0, |r| r.number(16, 4, true)) {
                // At most four hex digits: the value fits.
                Some(g) => groups[i] = g as u16,
                None => return (i, false),
            }
        }
        (limit, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// The standard library's answer (what `BaseUrl` asked before).
    fn std_answer(host: &str) -> bool {
        if host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        if let Ok(v4) = host.parse::<Ipv4Addr>() {
            return v4.is_loopback();
        }
        let v6 = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        v6.and_then(|h| h.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback())
    }

    #[test]
    fn spellings_of_loopback_and_near_misses_agree_with_std() {
        let rows = [
            ("localhost", true),
            ("LocalHost", true),
            ("127.0.0.1", true),
            ("127.255.0.42", true),
            ("127.0.0.01", false),
            ("127.0.0.256", false),
            ("127.0.0", false),
            ("127.0.0.1.", false),
            ("0127.0.0.1", false),
            ("127.0.0.1.nip.io", false),
            ("128.0.0.1", false),
            ("[::1]", true),
            ("[0:0:0:0:0:0:0:1]", true),
            ("[0000:0000:0000:0000:0000:0000:0000:0001]", true),
            ("[0::1]", true),
            ("[0:0::0:1]", true),
            ("[::0:1]", true),
            ("[::0.0.0.1]", true),
            ("[0:0:0:0:0:0:0.0.0.1]", true),
            ("[::00001]", false),
            ("[::1:]", false),
            ("[:::1]", false),
            ("[::1::]", false),
            ("[0:0:0:0:0:0:0:0:1]", false),
            ("[0:0:0:0:0:0:0::1]", false),
            ("[0:0:0:0:0:0:0:1::]", false),
            ("[0.0.0.1::]", false),
            ("[::ffff:127.0.0.1]", false),
            ("[::127.0.0.1]", false),
            ("[::]", false),
            ("[::2]", false),
            ("::1", false),
            ("[::1", false),
            ("[[::1]]", false),
            ("", false),
        ];
        for (host, want) in rows {
            assert_eq!(is_loopback(host), want, "{host}");
            assert_eq!(std_answer(host), want, "{host} (std)");
        }
    }

    /// IPv6 text near `::1`: groups that are mostly zero, written with or without leading
    /// zeros, with a `::` in some place, with an IPv4 tail or not.
    fn near_v6() -> impl Strategy<Value = String> {
        let group = prop_oneof![4 => Just(0u16), 2 => Just(1u16), 1 => any::<u16>()];
        (
            prop::collection::vec((group, 0..5usize, any::<bool>()), 1..10),
            prop::option::of((0..10usize, 0..10usize)),
            prop::option::of(any::<[u8; 4]>()),
        )
            .prop_map(|(groups, gap, v4)| {
                let mut parts: Vec<String> = groups
                    .iter()
                    .map(|&(g, pad, upper)| {
                        let s = format!("{g:0width$x}", width = pad + 1);
                        if upper { s.to_uppercase() } else { s }
                    })
                    .collect();
                if let Some([a, b, c, d]) = v4 {
                    parts.push(format!("{a}.{b}.{c}.{d}"));
                }
                let text = match gap {
                    Some((at, len)) if at <= parts.len() => {
                        let end = (at + len).min(parts.len());
                        format!("{}::{}", parts[..at].join(":"), parts[end..].join(":"))
                    }
                    _ => parts.join(":"),
                };
                format!("[{text}]")
            })
    }

    /// IPv4 text: octets that may be too large or carry leading zeros.
    fn near_v4() -> impl Strategy<Value = String> {
        let octet = prop_oneof![
            Just("127".to_owned()),
            (0..300u32).prop_map(|n| n.to_string()),
            (0..300u32).prop_map(|n| format!("0{n}"))
        ];
        prop::collection::vec(octet, 1..6).prop_map(|o| o.join("."))
    }

    proptest! {
        #[test]
        fn generated_ipv6_hosts_agree_with_std(host in near_v6()) {
            prop_assert_eq!(is_loopback(&host), std_answer(&host), "{}", host);
        }

        #[test]
        fn generated_ipv4_hosts_agree_with_std(host in near_v4()) {
            prop_assert_eq!(is_loopback(&host), std_answer(&host), "{}", host);
        }

        #[test]
        fn any_address_text_agrees_with_std(host in "\\[?[0-9a-fA-F:.]{0,44}\\]?") {
            prop_assert_eq!(is_loopback(&host), std_answer(&host), "{}", host);
        }

        /// Every IPv6 address std writes (compressed) and its full eight-group spelling.
        #[test]
        fn every_written_ipv6_address_agrees_with_std(a in prop_oneof![any::<u128>(), 0..4u128]) {
            let ip = Ipv6Addr::from(a);
            let full = ip.segments().map(|g| format!("{g:x}")).join(":");
            for host in [format!("[{ip}]"), format!("[{full}]")] {
                prop_assert_eq!(is_loopback(&host), std_answer(&host), "{}", host);
            }
        }
    }
}
