//! Name resolution that refuses link-local addresses (169.254.0.0/16 —
//! where clouds serve instance metadata and credentials — and fe80::/10).
//! A plugin allowed `api.example.com` must not be steered, by a DNS answer,
//! to the metadata service. A resource that really means such an address
//! names it as an IP literal, which needs no resolution.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| !is_link_local(a.ip()))
                .collect();
            if allowed.is_empty() && !addrs.is_empty() {
                return Err(format!(
                    "{host} resolves only to link-local addresses ({}), which plugins may not reach",
                    addrs[0].ip()
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_link_local())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_local_addresses() {
        assert!(is_link_local("169.254.169.254".parse().unwrap()));
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("::ffff:169.254.169.254".parse().unwrap()));
        assert!(!is_link_local("127.0.0.1".parse().unwrap()));
        assert!(!is_link_local("93.184.216.34".parse().unwrap()));
    }
}
