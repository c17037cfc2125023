//! Where the system may connect. Crawled pages are hostile: a link or redirect to
//! `http://10.0.0.5/admin` must not make the crawler probe the bureau's intranet, and a
//! rule's webhook must not make the notifier post into it. Loopback, private,
//! link-local, multicast and other special ranges are refused unless the configuration
//! lists them (a source's `allowed_networks`, `[alerts] allowed_networks`) — checked for
//! IP literals in URLs (links, webhooks and every redirect) and for every address a host
//! name resolves to.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use url::{Host, Url};

#[derive(Debug, Clone)]
pub struct AddressGuard {
    allowed: Arc<Vec<IpNet>>,
    /// The setting that allows more, named in refusals.
    setting: &'static str,
}

impl Default for AddressGuard {
    fn default() -> Self {
        AddressGuard::new(Vec::new())
    }
}

/// Ranges that are not the public internet (IANA's special-purpose registries, as
/// `is_global` would judge): a connection there reaches the machine itself, the
/// bureau's own networks, or a translator into them.
const SPECIAL_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network": 0.x.y.z reaches the local host on Linux
    "10.0.0.0/8",      // private
    "100.64.0.0/10",   // carrier-grade NAT
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local (cloud metadata at 169.254.169.254)
    "172.16.0.0/12",   // private
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation
    "192.88.99.0/24",  // 6to4 relay anycast
    "192.168.0.0/16",  // private
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation
    "203.0.113.0/24",  // documentation
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, and the broadcast address
];

const SPECIAL_V6: &[&str] = &[
    "::/96",          // unspecified, loopback and the IPv4-compatible `::a.b.c.d`
    "64:ff9b::/96",   // NAT64: reaches the IPv4 address inside it
    "64:ff9b:1::/48", // local-use NAT64
    "100::/64",       // discard
    "2001::/23",      // IETF protocol assignments (Teredo, benchmarking, ORCHID)
    "2001:db8::/32",  // documentation
    "2002::/16",      // 6to4: reaches the IPv4 address inside it
    "3fff::/20",      // documentation
    "fc00::/7",       // unique local
    "fe80::/10",      // link-local
    "fec0::/10",      // site-local (deprecated, still routed by some stacks)
    "ff00::/8",       // multicast
];

fn special_ranges() -> &'static [IpNet] {
    static RANGES: std::sync::OnceLock<Vec<IpNet>> = std::sync::OnceLock::new();
    RANGES.get_or_init(|| {
        SPECIAL_V4
            .iter()
            .chain(SPECIAL_V6)
            .map(|net| net.parse().expect("the special ranges are valid networks"))
            .collect()
    })
}

fn is_special(ip: IpAddr) -> bool {
    if let IpAddr::V6(v6) = ip {
        // `::ffff:a.b.c.d` is the IPv4 address itself.
        if let Some(v4) = v6.to_ipv4_mapped() {
            return is_special(IpAddr::V4(v4));
        }
    }
    special_ranges().iter().any(|net| net.contains(&ip))
}

impl AddressGuard {
    /// A guard allowing these networks besides the public internet; its refusals say a
    /// source may allow more with `allowed_networks`.
    pub fn new(allowed: Vec<IpNet>) -> Self {
        AddressGuard {
            allowed: Arc::new(allowed),
            setting: "a source's allowed_networks",
        }
    }

    /// The same guard, its refusals naming `setting` as the way to allow more.
    pub fn allowed_by(self, setting: &'static str) -> Self {
        AddressGuard { setting, ..self }
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
                "refused {url}: {ip} is a loopback, private or special address (allow it with {})",
                self.setting
            ))
        }
    }
}

/// Reads a configuration's list of networks (`"127.0.0.0/8"`, or one address), the
/// error naming the setting and the entry that is wrong.
pub fn parse_networks(list: &[String], setting: &str) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|net| {
            net.parse::<IpNet>()
                .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{setting}: {net:?} is not a network like \"127.0.0.0/8\""))
        })
        .collect()
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
                    "refused {host}: it resolves only to loopback, private or special addresses ({}; allow them with {})",
                    resolved.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", "),
                    guard.setting
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
            // The gaps an attacker found: each reaches the host or an inner network.
            "http://0.1.2.3/",
            "http://198.18.0.1/",
            "http://192.0.0.170/",
            "http://[64:ff9b::a00:5]/",
            "http://[2002:a00:5::]/",
            "http://[::10.0.0.5]/",
            "http://[::127.0.0.1]/",
            "http://[fec0::1]/",
            "http://[2001:db8::1]/",
            "http://255.255.255.255/",
        ] {
            let err = strict.check_url(&Url::parse(url).unwrap()).unwrap_err();
            assert!(err.contains("refused"), "{url}: {err}");
        }
        for public in [
            "http://8.8.8.8/",
            "http://1.1.1.1/",
            "http://[2400:3200::1]/",
            "http://[::ffff:8.8.8.8]/",
            "http://198.20.0.1/",
        ] {
            assert!(
                strict.check_url(&Url::parse(public).unwrap()).is_ok(),
                "{public}"
            );
        }
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
