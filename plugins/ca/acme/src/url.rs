//! `https://` URLs as ACME servers hand them out.

use alloc::string::{String, ToString};

use pluginhost_sdk::proto::PluginFailure;

/// The longest URL accepted.
pub const MAX_URL_BYTES: usize = 2048;

/// An `https` URL split for dialling and for the request line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    /// The host as dialled: a DNS name or an IP literal without brackets.
    pub host: String,
    /// The port (443 unless given).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses `https://HOST[:PORT][/PATH]`. Refuses every other scheme (ACME is HTTPS only),
    /// user info, fragments, and bytes outside visible ASCII.
    pub fn parse(url: &str) -> Result<Url, PluginFailure> {
        let bad = |why: &str| PluginFailure::protocol(alloc::format!("URL {url:.128}: {why}"));
        if url.len() > MAX_URL_BYTES {
            return Err(PluginFailure::limit("a URL is longer than 2048 bytes"));
        }
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("not visible ASCII"));
        }
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| bad("not https"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') || path.contains('#') {
            return Err(bad("user info or fragment"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6.find(']').ok_or_else(|| bad("unclosed ["))?;
            let port = &v6[close + 1..];
            let port = match port.strip_prefix(':') {
                Some(p) => Some(p),
                None if port.is_empty() => None,
                None => return Err(bad("junk after ]")),
            };
            (&v6[..close], port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => 443,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port != 0 && !p.starts_with('+') => port,
                _ => return Err(bad("bad port")),
            },
        };
        Ok(Url {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// The `Host` header's value.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            alloc::format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 443 {
            host
        } else {
            alloc::format!("{host}:{}", self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_acme_servers_send() {
        let u = Url::parse("https://acme.test:14000/dir").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("acme.test", 14000, "/dir")
        );
        assert_eq!(u.authority(), "acme.test:14000");
        let u = Url::parse("https://acme-v02.api.letsencrypt.org/directory").unwrap();
        assert_eq!(
            (u.port, u.authority().as_str()),
            (443, "acme-v02.api.letsencrypt.org")
        );
        let u = Url::parse("https://[::1]:8443/a?b=c").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8443, "/a?b=c")
        );
        assert_eq!(u.authority(), "[::1]:8443");
        assert_eq!(Url::parse("https://x.test").unwrap().path, "/");
        for bad in [
            "http://acme.test/dir",
            "https://",
            "https://:443/",
            "https://a.test:0/",
            "https://a.test:99999/",
            "https://a.test:+1/",
            "https://user@a.test/",
            "https://a.test/x#frag",
            "https://a.test/a b",
            "https://[::1/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
