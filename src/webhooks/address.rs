//! Where a webhook may go: an `https` URL whose host resolves only to public
//! addresses, so that a tenant cannot make the service call into its own
//! network (server-side request forgery). An operator setting allows
//! private and loopback addresses, and plain `http`, for development and
//! tests. The addresses are checked at registration and again before every
//! delivery, which then connects to the checked address (no second lookup
//! an attacker's DNS could answer differently).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not an absolute http(s) URL with a host.
    #[error("{0}")]
    Malformed(String),
    /// The host could not be resolved.
    #[error("cannot resolve {host}: {reason}")]
    Unresolved {
        /// The host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The host resolves to a private, loopback or otherwise internal address.
    #[error(
        "{host} resolves to {address}, a private or internal address; \
         the operator setting webhook_allow_private_networks allows those"
    )]
    Private {
        /// The host.
        host: String,
        /// The address.
        address: IpAddr,
    },
}

/// A checked destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The URL as registered.
    pub uri: http::Uri,
    /// Whether TLS is used.
    pub https: bool,
    /// The host name (for TLS and the Host header).
    pub host: String,
    /// The checked address to connect to.
    pub address: SocketAddr,
}

/// The URL's syntax: absolute, http(s) (http only with `allow_private`),
/// a host, no credentials; at most 2,048 bytes.
pub fn parse(
    url: &str,
    allow_private: bool,
) -> Result<(http::Uri, bool, String, u16), AddressError> {
    if url.len() > 2_048 {
        return Err(AddressError::Malformed("longer than 2048 bytes".into()));
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|error| AddressError::Malformed(format!("not a URL: {error}")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") if allow_private => false,
        Some("http") => {
            return Err(AddressError::Malformed(
                "use https (plain http only where webhook_allow_private_networks is set)".into(),
            ));
        }
        _ => return Err(AddressError::Malformed("use an https:// URL".into())),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| AddressError::Malformed("no host".into()))?;
    if authority.as_str().contains('@') {
        return Err(AddressError::Malformed(
            "credentials in the URL are not accepted; the signature authenticates".into(),
        ));
    }
    let host = authority.host().trim_matches(['[', ']']).to_string();
    if host.is_empty() {
        return Err(AddressError::Malformed("no host".into()));
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    Ok((uri, https, host, port))
}

/// Parses and resolves `url`, refusing internal addresses unless allowed.
pub async fn resolve(url: &str, allow_private: bool) -> Result<Destination, AddressError> {
    let (uri, https, host, port) = parse(url, allow_private)?;
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|error| AddressError::Unresolved {
            host: host.clone(),
            reason: error.to_string(),
        })?
        .collect();
    let first = *addresses.first().ok_or_else(|| AddressError::Unresolved {
        host: host.clone(),
        reason: "no addresses".into(),
    })?;
    if !allow_private && let Some(internal) = addresses.iter().find(|a| is_internal(a.ip())) {
        return Err(AddressError::Private {
            host,
            address: internal.ip(),
        });
    }
    Ok(Destination {
        uri,
        https,
        host,
        address: first,
    })
}

/// Loopback, private, link-local, shared (CGNAT), unspecified, multicast,
/// broadcast, documentation and other reserved ranges.
pub fn is_internal(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_documentation()
        || a == 0
        // 100.64.0.0/10, shared address space (carrier-grade NAT).
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15, benchmarking; 240.0.0.0/4, reserved.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240
}

fn is_internal_v6(address: Ipv6Addr) -> bool {
    let first = address.segments()[0];
    address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // 2001:db8::/32 documentation.
        || (first == 0x2001 && address.segments()[1] == 0x0db8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_recognised() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(internal.parse().unwrap()), "{internal}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_must_be_https_without_credentials() {
        assert!(parse("https://hooks.example.com/callscore", false).is_ok());
        assert!(parse("http://hooks.example.com/", false).is_err());
        assert!(parse("http://127.0.0.1:8080/", true).is_ok());
        assert!(parse("ftp://example.com/", true).is_err());
        assert!(parse("https://user:pw@example.com/", false).is_err());
        assert!(parse("/relative", false).is_err());
        let (_, https, host, port) = parse("https://[2606:4700::1111]/x", false).unwrap();
        assert_eq!((https, host.as_str(), port), (true, "2606:4700::1111", 443));
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let refused = resolve("https://127.0.0.1:9/", false).await.unwrap_err();
        assert!(matches!(refused, AddressError::Private { .. }), "{refused}");
        let allowed = resolve("http://127.0.0.1:9/", true).await.unwrap();
        assert_eq!(allowed.address, "127.0.0.1:9".parse().unwrap());
    }
}
