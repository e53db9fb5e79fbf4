//! Decision D18: which `ExternalName` targets are refused.
//!
//! An ExternalName Service makes Envoy connect to whatever host the Service names. A
//! tenant who can create Services could otherwise point a route at Envoy's own admin
//! interface on loopback (Contour's CVE-2021-32783). Refused: `localhost` and names under
//! `.localhost`, and IP literals that are loopback, link-local or unspecified, in any of
//! the spellings a C resolver accepts (`127.1`, `0x7f.0.0.1`, `2130706433`, `[::1]`,
//! `::ffff:127.0.0.1`). Names that are not host names at all are refused too, since Envoy
//! cannot resolve them.
//!
//! What this cannot catch: a public DNS name that resolves to a loopback address. The DAG
//! does no I/O, so that is left to network policy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether an `ExternalName` host is refused (decision [D18](https://github.com/ingressroute-rs/ingressroute-rs/blob/main/docs/decisions.md#d18)). With `allow_loopback`, only
/// names that are not host names at all are refused.
#[must_use]
pub fn is_refused_external_name(host: &str, allow_loopback: bool) -> bool {
    let host = host.trim_end_matches('.');
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || "-._:[]%".contains(c)) {
        return true;
    }
    let lower = host.to_ascii_lowercase();
    if allow_loopback {
        return parse_ip_literal(&lower).is_none() && lower.contains([':', '[', ']', '%']);
    }
    if lower == "localhost" || lower.ends_with(".localhost") {
        return true;
    }
    if let Some(ip) = parse_ip_literal(&lower) {
        return is_refused_ip(ip);
    }
    // Not an IP literal: it must be a plain DNS name (no brackets, colons or zones).
    lower.contains([':', '[', ']', '%'])
}

fn is_refused_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_refused_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_refused_v4(v4);
            }
            v6.is_loopback() || v6.is_unspecified() || is_unicast_link_local(v6)
        }
    }
}

fn is_refused_v4(v4: Ipv4Addr) -> bool {
    // 0.0.0.0/8 is "this network": connecting to it reaches the local host on Linux.
    v4.is_loopback() || v4.is_link_local() || v4.octets()[0] == 0
}

fn is_unicast_link_local(v6: Ipv6Addr) -> bool {
    (v6.segments()[0] & 0xffc0) == 0xfe80
}

/// Parses an IP literal the way a C resolver would: IPv6 (optionally bracketed, with an
/// optional zone), or IPv4 in `inet_aton` form (1 to 4 parts, decimal, octal or hex).
fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    let unbracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let without_zone = unbracketed.split('%').next().unwrap_or(unbracketed);
    if let Ok(v6) = without_zone.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    parse_inet_aton(host).map(IpAddr::V4)
}

fn parse_inet_aton(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(parse_c_number(part)?);
    }
    let (last, leading) = values.split_last()?;
    for v in leading {
        if *v > 0xff {
            return None;
        }
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if last_bits < 32 && u64::from(*last) >= (1_u64 << last_bits) {
        return None;
    }
    let mut addr: u32 = 0;
    for (i, v) in leading.iter().enumerate() {
        addr |= v << (24 - 8 * i as u32);
    }
    addr |= last;
    Some(Ipv4Addr::from(addr))
}

fn parse_c_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(octal) = s.strip_prefix('0').filter(|o| !o.is_empty()) {
        (octal, 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        // "0x" alone is 0 for inet_aton.
        return (radix == 16).then_some(0);
    }
    u32::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::is_refused_external_name;

    #[test]
    fn public_names_and_addresses_are_allowed() {
        for host in [
            "httpbin.org",
            "foo.bar.svc.cluster.local",
            "example.com.",
            "10.0.0.1",
            "8.8.8.8",
            "2001:db8::1",
            "my_host.example",
        ] {
            assert!(!is_refused_external_name(host, false), "{host}");
        }
    }

    #[test]
    fn localhost_names_are_refused() {
        for host in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "admin.localhost",
            "a.b.LocalHost.",
        ] {
            assert!(is_refused_external_name(host, false), "{host}");
            assert!(!is_refused_external_name(host, true), "{host}");
        }
    }

    #[test]
    fn loopback_link_local_and_unspecified_literals_are_refused_in_every_spelling() {
        for host in [
            "127.0.0.1",
            "127.1",
            "127.0.1",
            "0x7f.0.0.1",
            "0177.0.0.1",
            "2130706433",
            "0x7f000001",
            "169.254.169.254",
            "0.0.0.0",
            "0",
            "::1",
            "[::1]",
            "::",
            "fe80::1",
            "fe80::1%eth0",
            "::ffff:127.0.0.1",
            "[::ffff:169.254.1.1]",
        ] {
            assert!(is_refused_external_name(host, false), "{host}");
            assert!(!is_refused_external_name(host, true), "{host}");
        }
    }

    #[test]
    fn empty_and_malformed_names_are_refused() {
        for host in ["", ".", "foo bar", "foo/bar", "a\nb", "http://x", "x:80"] {
            assert!(is_refused_external_name(host, false), "{host:?}");
            assert!(is_refused_external_name(host, true), "{host:?}");
        }
    }
}
