//! `no_proxy`: the hosts reached without the proxy.

use std::net::IpAddr;

/// A parsed `no_proxy` list. Entries that cannot be understood are dropped (curl ignores
/// them too); none of them ever adds a proxy.
#[derive(Debug, Clone, Default)]
pub(super) struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// `*`: every host.
    Everything,
    /// A name and every name under it, optionally on one port only.
    Domain { name: String, port: Option<u16> },
    /// An address or a network (`prefix` bits), optionally on one port only.
    Network {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    /// Parses a comma-separated list (spaces around entries are ignored).
    pub(super) fn parse(list: &str) -> Self {
        Self {
            entries: list
                .split(',')
                .filter_map(|entry| Entry::parse(entry.trim()))
                .collect(),
        }
    }

    /// Whether `host` (as in a URI: an IPv6 address in brackets) on `port` is reached
    /// directly.
    pub(super) fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let ip = bare.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| match entry {
            Entry::Everything => true,
            Entry::Domain { name, port: only } => {
                let under = host
                    .strip_suffix(name.as_str())
                    .is_some_and(|head| head.is_empty() || head.ends_with('.'));
                under && only.is_none_or(|only| only == port)
            }
            Entry::Network {
                addr,
                prefix,
                port: only,
            } => {
                ip.is_some_and(|ip| contains(*addr, *prefix, ip))
                    && only.is_none_or(|only| only == port)
            }
        })
    }
}

impl Entry {
    fn parse(entry: &str) -> Option<Self> {
        let entry = entry.to_ascii_lowercase();
        if entry.is_empty() {
            return None;
        }
        if entry == "*" {
            return Some(Self::Everything);
        }
        if let Some((addr, bits)) = entry.split_once('/') {
            let addr = unbracket(addr).parse::<IpAddr>().ok()?;
            let prefix = bits.parse::<u8>().ok().filter(|&b| b <= max_prefix(addr))?;
            return Some(Self::Network {
                addr,
                prefix,
                port: None,
            });
        }
        // A bare IPv6 address has colons of its own: try it whole before looking for a port.
        if let Ok(addr) = unbracket(&entry).parse::<IpAddr>() {
            return Some(Self::address(addr, None));
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (entry.as_str(), None),
        };
        if let Ok(addr) = unbracket(host).parse::<IpAddr>() {
            return Some(Self::address(addr, port));
        }
        let name = host
            .trim_start_matches("*.")
            .trim_start_matches('.')
            .trim_end_matches('.');
        (!name.is_empty() && !name.contains(['*', '/', '[', ']'])).then(|| Self::Domain {
            name: name.to_owned(),
            port,
        })
    }

    fn address(addr: IpAddr, port: Option<u16>) -> Self {
        Self::Network {
            addr,
            prefix: max_prefix(addr),
            port,
        }
    }
}

fn unbracket(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text)
}

fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// Whether `ip` is in the network `addr/prefix` (same address family only).
fn contains(addr: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    let (net, ip, width) = match (addr, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => (u32::from(net).into(), u32::from(ip).into(), 32),
        (IpAddr::V6(net), IpAddr::V6(ip)) => (u128::from(net), u128::from(ip), 128),
        _ => return false,
    };
    let shift = width - u32::from(prefix);
    let mask = u128::MAX.checked_shl(shift).unwrap_or(0);
    let mask = if width == 32 {
        mask & u128::from(u32::MAX)
    } else {
        mask
    };
    net & mask == ip & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(list: &str, host: &str, port: u16) -> bool {
        NoProxy::parse(list).matches(host, port)
    }

    #[test]
    fn names_match_themselves_and_what_is_under_them() {
        for entry in [
            "example.com",
            ".example.com",
            "*.example.com",
            "EXAMPLE.com.",
        ] {
            assert!(direct(entry, "example.com", 443), "{entry}");
            assert!(direct(entry, "rest.Example.COM", 443), "{entry}");
            assert!(direct(entry, "a.b.example.com.", 443), "{entry}");
            assert!(!direct(entry, "badexample.com", 443), "{entry}");
            assert!(!direct(entry, "example.com.evil", 443), "{entry}");
        }
    }

    #[test]
    fn lists_are_comma_separated_with_spaces_allowed() {
        let list = " internal.example , 10.0.0.0/8,,localhost ";
        assert!(direct(list, "zuora.internal.example", 443));
        assert!(direct(list, "10.20.30.40", 443));
        assert!(direct(list, "localhost", 443));
        assert!(!direct(list, "rest.zuora.com", 443));
    }

    #[test]
    fn a_star_matches_everything() {
        assert!(direct("*", "rest.zuora.com", 443));
        assert!(direct("foo, *", "[::1]", 8443));
        // A star inside a name is not a wildcard.
        assert!(!direct("rest.*.com", "rest.zuora.com", 443));
    }

    #[test]
    fn addresses_match_exactly() {
        assert!(direct("127.0.0.1", "127.0.0.1", 443));
        assert!(!direct("127.0.0.1", "127.0.0.2", 443));
        for entry in ["::1", "[::1]"] {
            assert!(direct(entry, "[::1]", 443), "{entry}");
            assert!(!direct(entry, "[::2]", 443), "{entry}");
        }
        // An address never matches a name, nor a name an address.
        assert!(!direct("127.0.0.1", "localhost", 443));
        assert!(!direct("localhost", "127.0.0.1", 443));
    }

    #[test]
    fn networks_match_their_addresses() {
        assert!(direct("10.0.0.0/8", "10.255.1.2", 443));
        assert!(!direct("10.0.0.0/8", "11.0.0.1", 443));
        assert!(direct("192.168.1.0/24", "192.168.1.77", 443));
        assert!(!direct("192.168.1.0/24", "192.168.2.1", 443));
        assert!(direct("0.0.0.0/0", "203.0.113.9", 443));
        assert!(direct("fd00::/8", "[fd12:3456::1]", 443));
        assert!(!direct("fd00::/8", "[fe80::1]", 443));
        assert!(direct("[::1]/128", "[::1]", 443));
        // Families never mix; a prefix too long is no entry at all.
        assert!(!direct("0.0.0.0/0", "[::1]", 443));
        assert!(!direct("10.0.0.0/33", "10.0.0.1", 443));
    }

    #[test]
    fn a_port_restricts_an_entry_to_that_port() {
        assert!(direct("example.com:8443", "api.example.com", 8443));
        assert!(!direct("example.com:8443", "api.example.com", 443));
        assert!(direct("127.0.0.1:443", "127.0.0.1", 443));
        assert!(!direct("127.0.0.1:443", "127.0.0.1", 444));
        assert!(direct("[::1]:443", "[::1]", 443));
        assert!(!direct("[::1]:443", "[::1]", 8443));
        // A port that is not a number makes the entry unusable, not a wider match.
        assert!(!direct("example.com:https", "example.com", 443));
    }

    #[test]
    fn an_empty_list_matches_nothing() {
        for list in ["", " ", ",", " , "] {
            assert!(!direct(list, "example.com", 443), "{list:?}");
        }
    }
}
