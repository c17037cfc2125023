//! Where the crawler may connect. Crawled pages are hostile: a link or redirect to
//! `http://10.0.0.5/admin` must not make the crawler probe the bureau's intranet. Loopback,
//! private, link-local, multicast and other special ranges are refused unless a source
//! lists them in `allowed_networks` — checked for IP literals in URLs (links and every
//! redirect) and for every address a host name resolves to.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

#[derive(Debug, Clone, Default)]
pub struct AddressGuard {
    allowed: Arc<Vec<IpNet>>,
}

/// Ranges that are not the public internet.
fn is_special(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10 carrier NAT
                || v4.octets()[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_special(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

impl AddressGuard {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        AddressGuard {
            allowed: Arc::new(allowed),
        }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        !is_special(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks a URL before any connection: scheme, and the host when it is an address.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("refused {url}: only http and https are fetched"));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(format!("refused {url}: no host")),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(format!(
                "refused {url}: {ip} is a loopback, private or special address (a source may allow it with allowed_networks)"
            ))
        }
    }
}

/// Resolves host names and drops the addresses the guard refuses, so a public name that
/// points into the intranet is refused too.
impl Resolve for AddressGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|a| guard.permits(a.ip()))
                .collect();
            if permitted.is_empty() && !resolved.is_empty() {
                return Err(format!(
                    "refused {host}: it resolves only to loopback, private or special addresses ({})",
                    resolved.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
                )
                .into());
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_ranges_are_refused_unless_allowed() {
        let strict = AddressGuard::default();
        for url in [
            "http://10.0.0.5/admin",
            "http://127.0.0.1:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://192.168.1.1/",
            "http://224.0.0.1/",
            "http://[::ffff:10.1.2.3]/",
        ] {
            let err = strict.check_url(&Url::parse(url).unwrap()).unwrap_err();
            assert!(err.contains("refused"), "{url}: {err}");
        }
        assert!(strict
            .check_url(&Url::parse("http://8.8.8.8/").unwrap())
            .is_ok());
        assert!(strict
            .check_url(&Url::parse("https://news.example.cn/a").unwrap())
            .is_ok());
        assert!(strict
            .check_url(&Url::parse("file:///etc/passwd").unwrap())
            .is_err());

        let loopback = AddressGuard::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(loopback
            .check_url(&Url::parse("http://127.0.0.1:8731/").unwrap())
            .is_ok());
        assert!(loopback
            .check_url(&Url::parse("http://10.0.0.5/").unwrap())
            .is_err());
    }
}
