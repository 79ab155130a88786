//! Which addresses and ports a webhook may be delivered to: a guard against server-side request
//! forgery.
//! Webhook URLs are chosen by app owners, so a delivery must never reach the deployment's own
//! network, the instance metadata service or anything else that is not on the public internet.
//! The guard judges resolved addresses (see `post`), so a name that resolves to a private
//! address is refused as surely as the literal address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where deliveries may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destinations {
    /// Public unicast addresses only (on AWS).
    PublicOnly,
    /// Public addresses and loopback (the local API, whose test receivers listen on
    /// 127.0.0.1); private, link-local and metadata addresses are still refused.
    AllowLoopback,
}

/// The ports a webhook URL may name, in words for error messages.
pub const ALLOWED_PORTS: &str = "80, 443 or 1024 and above";

/// Whether a webhook URL may name `port`: the web's own two, or any unprivileged port (where
/// receivers and local test servers listen). The privileged ports below 1024 hold other
/// protocols' services (SSH, SMTP, DNS...), which a POST must not be aimed at. Checked when a
/// URL is saved (`url`) and again at each attempt (`post`), for URLs saved before the rule.
pub fn port_allowed(port: u16) -> bool {
    port == 80 || port == 443 || port >= 1024
}

/// Whether a delivery may connect to `ip`.
pub fn allowed(ip: IpAddr, destinations: Destinations) -> bool {
    match ip {
        IpAddr::V4(ip) => allowed_v4(ip, destinations),
        IpAddr::V6(ip) => allowed_v6(ip, destinations),
    }
}

fn allowed_v4(ip: Ipv4Addr, destinations: Destinations) -> bool {
    if ip.is_loopback() {
        return destinations == Destinations::AllowLoopback;
    }
    let [a, b, c, _] = ip.octets();
    let special = ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, with the metadata address 169.254.169.254
        || ip.is_multicast() // 224/4
        || ip.is_broadcast()
        || ip.is_documentation() // 192.0.2/24, 198.51.100/24, 203.0.113/24
        // Ranges whose std methods are unstable:
        || a == 0 // "this network", 0/8
        || (a == 100 && b & 0xc0 == 64) // shared address space (CGNAT), 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments, 192.0.0/24
        || (a == 198 && b & 0xfe == 18) // benchmarking, 198.18/15
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast, 192.88.99/24 (deprecated)
        || a >= 240; // reserved, 240/4
    !special
}

fn allowed_v6(ip: Ipv6Addr, destinations: Destinations) -> bool {
    if ip.is_loopback() {
        return destinations == Destinations::AllowLoopback;
    }
    // Addresses that carry an IPv4 address reach it (or a translator towards it): judge that.
    if let Some(v4) = embedded_v4(ip) {
        return allowed_v4(v4, destinations);
    }
    let s = ip.segments();
    let special = ip.is_unspecified()
        || ip.is_multicast() // ff00::/8
        || s[0] & 0xfe00 == 0xfc00 // unique local fc00::/7, with AWS's metadata fd00:ec2::254
        || s[0] & 0xffc0 == 0xfe80 // link-local fe80::/10
        || s[0] & 0xffc0 == 0xfec0 // deprecated site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && s[1] & 0xf000 == 0) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32: tunnels to an obfuscated IPv4
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // benchmarking 2001:2::/48
        || s[0] == 0x5f00 // SRv6 segment identifiers 5f00::/16
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only 100::/64
    !special
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`),
/// NAT64 (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::/48`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let from = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = ip.to_ipv4() {
        // ::/96 and ::ffff:0:0/96 (`::` itself gives 0.0.0.0, refused).
        Some(v4)
    } else if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        Some(from(s[6], s[7]))
    } else if s[0] == 0x2002 {
        Some(from(s[1], s[2]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Destinations::{AllowLoopback, PublicOnly};
    use super::*;

    /// (address, allowed with PublicOnly, allowed with AllowLoopback)
    const CASES: &[(&str, bool, bool)] = &[
        // Public IPv4.
        ("8.8.8.8", true, true),
        ("1.1.1.1", true, true),
        ("93.184.216.34", true, true),
        ("52.95.110.1", true, true),
        ("100.63.255.255", true, true),
        ("100.128.0.0", true, true),
        ("172.15.255.255", true, true),
        ("172.32.0.0", true, true),
        ("192.0.1.1", true, true),
        ("192.169.0.1", true, true),
        ("198.17.255.255", true, true),
        ("198.20.0.0", true, true),
        ("223.255.255.255", true, true),
        // Loopback.
        ("127.0.0.1", false, true),
        ("127.255.255.254", false, true),
        // Private.
        ("10.0.0.1", false, false),
        ("10.255.255.255", false, false),
        ("172.16.0.1", false, false),
        ("172.31.255.255", false, false),
        ("192.168.1.1", false, false),
        // Link-local and the instance metadata service.
        ("169.254.0.1", false, false),
        ("169.254.169.254", false, false),
        ("169.254.170.2", false, false),
        // "This network".
        ("0.0.0.0", false, false),
        ("0.1.2.3", false, false),
        // CGNAT.
        ("100.64.0.1", false, false),
        ("100.127.255.255", false, false),
        // IETF protocol assignments.
        ("192.0.0.1", false, false),
        ("192.0.0.255", false, false),
        // Benchmarking.
        ("198.18.0.1", false, false),
        ("198.19.255.255", false, false),
        // Multicast, reserved, broadcast.
        ("224.0.0.1", false, false),
        ("239.255.255.250", false, false),
        ("240.0.0.1", false, false),
        ("255.255.255.254", false, false),
        ("255.255.255.255", false, false),
        // Documentation.
        ("192.0.2.1", false, false),
        ("198.51.100.1", false, false),
        ("203.0.113.1", false, false),
        // Public IPv6.
        ("2001:4860:4860::8888", true, true),
        ("2606:4700:4700::1111", true, true),
        ("2a05:d018::1", true, true),
        // IPv6 loopback and unspecified.
        ("::1", false, true),
        ("::", false, false),
        // Unique local, with AWS's IPv6 metadata address.
        ("fc00::1", false, false),
        ("fd00:ec2::254", false, false),
        ("fdff:ffff::1", false, false),
        // Link-local, site-local.
        ("fe80::1", false, false),
        ("febf::1", false, false),
        ("fec0::1", false, false),
        // Multicast.
        ("ff02::1", false, false),
        ("ff0e::1", false, false),
        // Documentation, discard-only.
        ("2001:db8::1", false, false),
        ("100::1", false, false),
        // IPv4-mapped: judged by the IPv4 address inside.
        ("::ffff:8.8.8.8", true, true),
        ("::ffff:127.0.0.1", false, true),
        ("::ffff:10.0.0.1", false, false),
        ("::ffff:169.254.169.254", false, false),
        ("::ffff:0.0.0.0", false, false),
        // IPv4-compatible.
        ("::8.8.8.8", true, true),
        ("::127.0.0.1", false, true),
        ("::192.168.0.1", false, false),
        ("::169.254.169.254", false, false),
        // NAT64, well-known prefix and local use.
        ("64:ff9b::8.8.8.8", true, true),
        ("64:ff9b::10.0.0.1", false, false),
        ("64:ff9b::169.254.169.254", false, false),
        ("64:ff9b::127.0.0.1", false, true),
        ("64:ff9b:1::8.8.8.8", false, false),
        // 6to4.
        ("2002:808:808::1", true, true),
        ("2002:a00:1::1", false, false),
        ("2002:a9fe:a9fe::1", false, false),
    ];

    #[test]
    fn every_range_is_judged_as_documented() {
        for &(address, public_only, allow_loopback) in CASES {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(
                allowed(ip, PublicOnly),
                public_only,
                "{address} with PublicOnly"
            );
            assert_eq!(
                allowed(ip, AllowLoopback),
                allow_loopback,
                "{address} with AllowLoopback"
            );
        }
    }

    #[test]
    fn allow_loopback_adds_only_loopback() {
        // Everything PublicOnly allows, AllowLoopback allows; what it adds is loopback only.
        for &(address, public_only, allow_loopback) in CASES {
            let ip: IpAddr = address.parse().unwrap();
            assert!(!public_only || allow_loopback, "{address}");
            if allow_loopback && !public_only {
                let loopback = match ip {
                    IpAddr::V4(v4) => v4.is_loopback(),
                    IpAddr::V6(v6) => {
                        v6.is_loopback() || embedded_v4(v6).is_some_and(|v4| v4.is_loopback())
                    }
                };
                assert!(loopback, "{address}");
            }
        }
    }

    #[test]
    fn range_edges() {
        // The first and last addresses of the hand-written ranges, and their neighbours.
        let edges: &[(&str, bool)] = &[
            ("0.255.255.255", false),
            ("1.0.0.0", true),
            ("100.63.255.255", true),
            ("100.64.0.0", false),
            ("100.127.255.255", false),
            ("100.128.0.0", true),
            ("191.255.255.255", true),
            ("192.0.0.0", false),
            ("192.0.0.255", false),
            ("192.0.1.0", true),
            ("198.17.255.255", true),
            ("198.18.0.0", false),
            ("198.19.255.255", false),
            ("198.20.0.0", true),
            ("239.255.255.255", false),
            ("240.0.0.0", false),
            ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("fc00::", false),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fe00::", true),
            ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("fe80::", false),
            ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("64:ff9b::ffff:ffff", false),
            ("64:ff9b:0:0:0:1::", true),
        ];
        for &(address, expected) in edges {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(allowed(ip, PublicOnly), expected, "{address}");
        }
    }

    /// `first` to `last` is refused, also with AllowLoopback; `before` and `after`, just
    /// outside, are allowed.
    fn refuses_only(before: &str, first: &str, last: &str, after: &str) {
        for (address, expected) in [(before, true), (first, false), (last, false), (after, true)] {
            let ip: IpAddr = address.parse().unwrap();
            assert_eq!(allowed(ip, PublicOnly), expected, "{address}");
            assert_eq!(
                allowed(ip, AllowLoopback),
                expected,
                "{address} with AllowLoopback"
            );
        }
    }

    #[test]
    fn the_6to4_relay_anycast_range_is_refused() {
        refuses_only(
            "192.88.98.255",
            "192.88.99.0",
            "192.88.99.255",
            "192.88.100.0",
        );
        // Also inside a 6to4 address.
        assert!(!allowed("2002:c058:6301::1".parse().unwrap(), PublicOnly));
    }

    #[test]
    fn teredo_is_refused() {
        refuses_only(
            "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001::",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:1::",
        );
    }

    #[test]
    fn ipv6_benchmarking_is_refused() {
        refuses_only(
            "2001:1:ffff:ffff:ffff:ffff:ffff:ffff",
            "2001:2::",
            "2001:2:0:ffff:ffff:ffff:ffff:ffff",
            "2001:2:1::",
        );
    }

    #[test]
    fn ipv6_documentation_3fff_is_refused() {
        refuses_only(
            "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff::",
            "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff",
            "3fff:1000::",
        );
    }

    #[test]
    fn srv6_segment_identifiers_are_refused() {
        refuses_only(
            "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "5f00::",
            "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "5f01::",
        );
    }

    #[test]
    fn ports_80_443_and_unprivileged_ones_are_allowed() {
        for port in [80, 443, 1024, 8080, 8443, 65535] {
            assert!(port_allowed(port), "{port}");
        }
        for port in [0, 1, 22, 25, 53, 79, 81, 442, 444, 1023] {
            assert!(!port_allowed(port), "{port}");
        }
    }
}
