//! The outbound policy, in one place: where a resource's plugin may connect.
//!
//! A grant is scheme + host + port (the scheme's default port when the URL
//! names none). It comes from the resource's URL config fields (the value the
//! resource gives, or the plugin's default), unless the resource pins its
//! egress (`egress = ["https://api.zoom.us", "https://*.zoom.us"]`): then
//! only the pinned entries are reachable. A `*.` host matches any host below
//! that domain (not the domain itself), on the entry's port only. Plain http
//! is allowed to loopback alone, so credentials never cross a network in
//! clear. Redirects are checked hop by hop against the same list.

use std::fmt;

use serde::Serialize;

/// Where an egress entry came from, shown by `test` and `actions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A URL config field the resource file sets.
    Resource,
    /// A URL config field's default, declared by the plugin.
    PluginDefault,
    /// The resource's `egress` list, which replaces all the others.
    Pinned,
}

/// One granted destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub scheme: String,
    /// A host name or IP, or `*.domain`.
    pub host: String,
    pub port: u16,
    pub origin: Origin,
    /// The config field it came from, when it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// A destination the policy checks: what a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// The resource's egress list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

impl Policy {
    pub fn add(&mut self, rule: Rule) {
        if !self
            .rules
            .iter()
            .any(|r| r.scheme == rule.scheme && r.host == rule.host && r.port == rule.port)
        {
            self.rules.push(rule);
        }
    }

    /// Whether `url` may be reached; the destination it names, or why not.
    /// The messages name scheme, host and port, never a path or query
    /// (they may carry secrets).
    pub fn check(&self, url: &str) -> Result<Destination, String> {
        self.check_url(&parse(url)?)
    }

    /// [`Policy::check`] of a URL parsed already.
    pub fn check_url(&self, url: &url::Url) -> Result<Destination, String> {
        let destination = destination_of(url)?;
        if self.rules.iter().any(|rule| rule.allows(&destination)) {
            Ok(destination)
        } else {
            let granted: Vec<String> = self.rules.iter().map(Rule::to_string).collect();
            Err(format!(
                "{destination} is not among the destinations this resource allows ({})",
                if granted.is_empty() {
                    "none".to_owned()
                } else {
                    granted.join(", ")
                }
            ))
        }
    }
}

impl Rule {
    /// A rule from a URL or pattern (`https://*.zoom.us`, `http://127.0.0.1:8080/`).
    pub fn parse(text: &str, origin: Origin, field: Option<&str>) -> Result<Self, String> {
        let (scheme, host, port) = match text.split_once("://") {
            Some((scheme, rest)) if rest.starts_with("*.") => {
                let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
                let (host, port) = match authority.rsplit_once(':') {
                    Some((host, port)) => (
                        host,
                        Some(port.parse::<u16>().map_err(|_| "bad port".to_owned())?),
                    ),
                    None => (authority, None),
                };
                let domain = &host[2..];
                if domain.is_empty() || domain.contains('*') || !domain.contains('.') {
                    return Err(
                        "a wildcard must name a domain with a dot, e.g. https://*.zoom.us".into(),
                    );
                }
                // The domain part must be a valid host of its own.
                let check = destination(&format!("{scheme}://{domain}/"))?;
                let port = port.unwrap_or(check.port);
                (check.scheme, format!("*.{}", check.host), port)
            }
            _ => {
                let d = destination(text)?;
                (d.scheme, d.host, d.port)
            }
        };
        Ok(Rule {
            scheme,
            host,
            port,
            origin,
            field: field.map(str::to_owned),
        })
    }

    fn allows(&self, d: &Destination) -> bool {
        if self.scheme != d.scheme || self.port != d.port {
            return false;
        }
        match self.host.strip_prefix("*.") {
            Some(domain) => d
                .host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => self.host == d.host,
        }
    }
}

/// What a URL names: http(s) with a host; plain http only to loopback. The
/// messages never quote the value: a secret pasted into the wrong field must
/// not be printed.
pub fn destination(text: &str) -> Result<Destination, String> {
    destination_of(&parse(text)?)
}

/// A URL, or why not in words that never quote it.
pub fn parse(text: &str) -> Result<url::Url, String> {
    url::Url::parse(text)
        .map_err(|e| format!("not a URL ({e}); expected e.g. https://api.zoom.us/"))
}

fn destination_of(url: &url::Url) -> Result<Destination, String> {
    let host = url
        .host_str()
        .ok_or("the URL has no host; expected e.g. https://api.zoom.us/")?
        .to_ascii_lowercase();
    let scheme = url.scheme().to_owned();
    match scheme.as_str() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "plain http to {host}, a host that is not loopback; use https"
            ));
        }
        other => return Err(format!("scheme `{other}` is not http(s)")),
    }
    let port = url
        .port_or_known_default()
        .ok_or("the URL has no port and its scheme has no default")?;
    Ok(Destination { scheme, host, port })
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &[&str]) -> Policy {
        let mut p = Policy::default();
        for r in rules {
            p.add(Rule::parse(r, Origin::Pinned, None).unwrap());
        }
        p
    }

    #[test]
    fn ports_are_part_of_the_grant() {
        let p = policy(&["http://127.0.0.1:8080/", "https://api.zoom.us/"]);
        assert!(p.check("http://127.0.0.1:8080/v2/users").is_ok());
        assert!(p.check("http://127.0.0.1:8081/").is_err());
        assert!(p.check("http://127.0.0.1/").is_err());
        assert!(p.check("https://api.zoom.us:443/x").is_ok());
        assert!(p.check("https://api.zoom.us:8443/x").is_err());
        assert!(p.check("http://api.zoom.us/").is_err());
    }

    #[test]
    fn wildcards_match_hosts_below_the_domain_on_one_port() {
        let p = policy(&["https://*.zoom.us"]);
        assert!(p.check("https://ssrweb.zoom.us/rec/1").is_ok());
        assert!(p.check("https://a.b.zoom.us/").is_ok());
        assert!(p.check("https://zoom.us/").is_err());
        assert!(p.check("https://evilzoom.us/").is_err());
        assert!(p.check("https://x.zoom.us.evil.com/").is_err());
        assert!(p.check("https://x.zoom.us:8443/").is_err());
        assert!(Rule::parse("https://*.us", Origin::Pinned, None).is_err());
        assert!(Rule::parse("https://*.", Origin::Pinned, None).is_err());
    }

    #[test]
    fn messages_never_quote_a_path() {
        let p = policy(&["https://api.zoom.us/"]);
        let err = p
            .check("https://other.example/SECRET?x=SECRET")
            .unwrap_err();
        assert!(!err.contains("SECRET"), "{err}");
        assert!(err.contains("https://other.example:443"), "{err}");
    }

    #[test]
    fn urls() {
        assert_eq!(destination("https://api.zoom.us/").unwrap().port, 443);
        assert_eq!(
            destination("http://127.0.0.1:9/").unwrap().host,
            "127.0.0.1"
        );
        assert!(
            destination("http://api.zoom.us/")
                .unwrap_err()
                .contains("plain http")
        );
        assert!(destination("ftp://x/").is_err());
        assert!(destination("not a url").is_err());
    }
}
