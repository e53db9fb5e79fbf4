//! The request `explain` follows: `http://HOST[:PORT]/PATH` or `https://HOST[:PORT]/PATH`,
//! parsed as a client would send it (the `Host` header is the URL's authority) and with
//! the path normalised as Envoy's `normalize_path` does before routing.

use std::fmt;

/// Which listener a request arrives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// Plain HTTP: `ingress_http`.
    Http,
    /// HTTPS: `ingress_https`, the filter chain chosen by SNI (the host).
    Https,
}

/// A parsed request URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// The scheme.
    pub(crate) scheme: Scheme,
    /// The host, lowercased (brackets kept for an IPv6 literal).
    pub(crate) host: String,
    /// The port written in the URL, if any.
    pub(crate) port: Option<u16>,
    /// The path, normalised (dot segments removed), without the query.
    pub(crate) path: String,
    /// The query, without its `?`, if any.
    pub(crate) query: Option<String>,
}

/// Why a URL cannot be explained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The scheme is neither `http` nor `https`.
    #[error("the scheme must be http:// or https://")]
    Scheme,
    /// There is no host.
    #[error("the URL has no host")]
    NoHost,
    /// The host has characters no `Host` header can carry.
    #[error("the host {0:?} is not a valid host name")]
    Host(String),
    /// The URL has user information (`user@`), which no request carries.
    #[error("the URL has user information (`user@`), which is not sent in a request")]
    UserInfo,
    /// The port is not a number from 1 to 65535.
    #[error("the port {0:?} is not a number from 1 to 65535")]
    Port(String),
    /// The path has a space or a control character.
    #[error("the path has a space or a control character; percent-encode it")]
    Path,
}

impl Request {
    /// Parses `url`.
    pub(crate) fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::Scheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(UrlError::Scheme),
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UrlError::UserInfo);
        }
        let (host, port) = split_port(authority)?;
        if host.is_empty() {
            return Err(UrlError::NoHost);
        }
        let valid = |c: char| c.is_ascii_alphanumeric() || "-._~[]:".contains(c);
        if !host.chars().all(valid) || (host.contains(':') && !host.starts_with('[')) {
            return Err(UrlError::Host(host.to_owned()));
        }
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query.to_owned())),
            None => (target, None),
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Path);
        }
        let path = if path.is_empty() { "/" } else { path };
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            path: remove_dot_segments(path),
            query,
        })
    }

    /// The host as Envoy matches server names and scope keys: without the port.
    pub(crate) fn host_without_port(&self) -> String {
        self.host.clone()
    }

    /// The `Host` header a client sends: the host, with the port when one is written.
    pub(crate) fn authority(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }

    /// The path with its query, as in the request line.
    pub(crate) fn path_and_query(&self) -> String {
        match &self.query {
            Some(query) => format!("{}?{query}", self.path),
            None => self.path.clone(),
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}{}", self.authority(), self.path_and_query())
    }
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    // An IPv6 literal's colons are inside its brackets.
    let colon = match authority.rfind(']') {
        Some(close) => authority[close..].find(':').map(|i| close + i),
        None => authority.rfind(':'),
    };
    let Some(colon) = colon else {
        return Ok((authority, None));
    };
    let (host, port) = (&authority[..colon], &authority[colon + 1..]);
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::Port(port.to_owned())),
        Ok(port) => Ok((host, Some(port))),
    }
}

/// RFC 3986 §5.2.4: what Envoy's `normalize_path` does to `.` and `..` segments (it is
/// on for every connection manager we make, see docs/behaviour.md §4.2).
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing = false;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing = i == last,
            ".." => {
                out.pop();
                trailing = i == last;
            }
            s => {
                out.push(s);
                trailing = false;
            }
        }
    }
    let mut normalised = format!("/{}", out.join("/"));
    if trailing && !normalised.ends_with('/') {
        normalised.push('/');
    }
    normalised
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_gives_its_scheme_host_port_path_and_query() {
        let r = Request::parse("HTTP://Foo.Example.com:8080/a/b?x=1#frag").unwrap();
        assert_eq!(r.scheme, Scheme::Http);
        assert_eq!(r.host, "foo.example.com");
        assert_eq!(r.port, Some(8080));
        assert_eq!(r.path, "/a/b");
        assert_eq!(r.query.as_deref(), Some("x=1"));
        assert_eq!(r.authority(), "foo.example.com:8080");
        assert_eq!(r.to_string(), "http://foo.example.com:8080/a/b?x=1");
    }

    #[test]
    fn a_url_without_a_path_asks_for_the_root() {
        let r = Request::parse("https://example.com").unwrap();
        assert_eq!((r.scheme, r.path.as_str(), r.port), (Scheme::Https, "/", None));
        assert_eq!(Request::parse("http://example.com?q").unwrap().path, "/");
    }

    #[test]
    fn dot_segments_are_removed_as_envoy_normalises_paths() {
        for (path, expected) in [
            ("/a/./b", "/a/b"),
            ("/a/../b", "/b"),
            ("/../../x", "/x"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/a//b", "/a//b"),
            ("/", "/"),
        ] {
            assert_eq!(remove_dot_segments(path), expected, "{path}");
        }
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        assert_eq!(Request::parse("ftp://x/"), Err(UrlError::Scheme));
        assert_eq!(Request::parse("example.com/"), Err(UrlError::Scheme));
        assert_eq!(Request::parse("http:///x"), Err(UrlError::NoHost));
        assert_eq!(Request::parse("http://a b/"), Err(UrlError::Host("a b".into())));
        assert_eq!(Request::parse("http://u@x/"), Err(UrlError::UserInfo));
        assert_eq!(Request::parse("http://x:0/"), Err(UrlError::Port("0".into())));
        assert_eq!(Request::parse("http://x:http/"), Err(UrlError::Port("http".into())));
        assert_eq!(Request::parse("http://x/a b"), Err(UrlError::Path));
    }

    #[test]
    fn an_ipv6_literal_keeps_its_colons() {
        let r = Request::parse("http://[::1]:8080/").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("[::1]", Some(8080)));
        assert_eq!(Request::parse("http://[::1]/").unwrap().port, None);
    }
}
