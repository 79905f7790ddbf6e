//! Fetching on a peer's word. A peer (a provider, an identity issuer, an
//! authorization server) names URLs in its answers; each is followed only
//! if it is on the origin the owner chose for that peer, over `https`
//! unless that origin is on loopback. Redirects are never followed, and
//! every answer is read with a size cap.

use reqwest::Url;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Why a URL a peer gave is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{0:?} is not an absolute http(s) URL")]
    NotHttp(String),
    #[error("{0:?} is not https (only loopback addresses may use plain http)")]
    Insecure(String),
    #[error("{url:?} is not on {origin}")]
    OtherOrigin { url: String, origin: String },
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("unreachable: {0}")]
    Unreachable(String),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("unreadable answer: {0}")]
    Unreadable(String),
}

/// An HTTP client that never follows redirects: a redirect would let an
/// answer steer the next request anywhere.
///
/// It trusts the public web's certificate authorities, and also those in
/// the PEM file named by `SSL_CERT_FILE`, as OpenSSL-based tools do: a
/// private CA in front of a wallet (a reverse proxy's own, a company's).
pub fn client(timeout: Duration) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .redirect(reqwest::redirect::Policy::none());
    for root in extra_roots() {
        builder = builder.add_root_certificate(root.clone());
    }
    builder.build().expect("HTTP client builds")
}

/// The certificates of `SSL_CERT_FILE`, read once. A file that cannot be
/// read or parsed adds nothing, and says so in the log.
fn extra_roots() -> &'static [reqwest::Certificate] {
    static ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| {
        let Some(path) = std::env::var_os("SSL_CERT_FILE") else { return Vec::new() };
        match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string())) {
            Ok(roots) => roots,
            Err(e) => {
                tracing::warn!(file = %std::path::Path::new(&path).display(), error = e, "SSL_CERT_FILE adds no certificate authority");
                Vec::new()
            }
        }
    })
}

/// Whether a URL's host is loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(crate::inbound::is_loopback_name)
}

/// Parses a URL the owner (or a registry) names for a peer: http(s),
/// absolute, and `https` unless it is on loopback.
pub fn secure_url(text: &str) -> Result<Url, UrlError> {
    let url = Url::parse(text).map_err(|_| UrlError::NotHttp(text.into()))?;
    match url.scheme() {
        "https" if url.host_str().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(UrlError::Insecure(text.into())),
        _ => Err(UrlError::NotHttp(text.into())),
    }
}

/// The well-known URL of a document about `identifier` (RFC 8615, as RFC
/// 8414 and OpenID4VCI use it): `/.well-known/{name}` goes between the
/// host and the identifier's path, so a path under someone's host never
/// speaks for the host, nor the host for the path.
pub fn well_known(identifier: &str, name: &str) -> Result<Url, UrlError> {
    let mut url = secure_url(identifier)?;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&format!("/.well-known/{name}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Parses a URL a peer gave and requires it on `origin` (same scheme,
/// host and port).
pub fn on_origin(text: &str, origin: &Url) -> Result<Url, UrlError> {
    let url = secure_url(text)?;
    if url.origin() != origin.origin() {
        return Err(UrlError::OtherOrigin { url: text.into(), origin: origin.origin().ascii_serialization() });
    }
    Ok(url)
}

/// Reads a response body, refusing it once it passes `max` bytes (and at
/// once when it says it is longer).
pub async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(FetchError::TooLarge(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| FetchError::Unreachable(e.to_string()))? {
        if body.len() + chunk.len() > max {
            return Err(FetchError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A JSON answer read with a size cap.
pub async fn json_capped<T: DeserializeOwned>(response: reqwest::Response, max: usize) -> Result<T, FetchError> {
    let body = read_capped(response, max).await?;
    serde_json::from_slice(&body).map_err(|e| FetchError::Unreadable(e.to_string()))
}

/// Sends a request and reads its JSON answer with a cap, whatever its
/// status: the caller decides what an error status means.
pub async fn send_json<T: DeserializeOwned>(request: reqwest::RequestBuilder, max: usize) -> Result<(reqwest::StatusCode, T), FetchError> {
    let response = request.send().await.map_err(|e| FetchError::Unreachable(e.to_string()))?;
    let status = response.status();
    Ok((status, json_capped(response, max).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_a_peer_gives_stay_on_its_origin_and_off_plain_http() {
        let origin = Url::parse("https://provider.example").unwrap();
        assert!(on_origin("https://provider.example/token", &origin).is_ok());
        for (bad, why) in [
            ("https://provider.example:8443/token", "port"),
            ("http://provider.example/token", "scheme"),
            ("https://evil.example/token", "host"),
            ("https://provider.example.evil.example/", "suffix"),
            ("file:///etc/passwd", "scheme"),
            ("/token", "relative"),
        ] {
            assert!(on_origin(bad, &origin).is_err(), "{why}: {bad}");
        }
        let local = Url::parse("http://127.0.0.1:8101").unwrap();
        assert!(on_origin("http://127.0.0.1:8101/nonce", &local).is_ok());
        assert!(on_origin("http://127.0.0.1:9/admin", &local).is_err(), "another loopback port is another origin");
        assert_eq!(secure_url("http://192.168.1.1/"), Err(UrlError::Insecure("http://192.168.1.1/".into())));
        assert!(secure_url("http://localhost:8080").is_ok());
        assert!(secure_url("https://pensions.example").is_ok());
    }

    #[test]
    fn well_known_documents_go_between_host_and_path() {
        let at = |id: &str, name: &str| well_known(id, name).unwrap().to_string();
        assert_eq!(at("https://issuer.example", "openid-credential-issuer"), "https://issuer.example/.well-known/openid-credential-issuer");
        assert_eq!(at("https://issuer.example/tenant", "jwt-vc-issuer"), "https://issuer.example/.well-known/jwt-vc-issuer/tenant");
        assert_eq!(at("http://127.0.0.1:4000/", "oauth-authorization-server"), "http://127.0.0.1:4000/.well-known/oauth-authorization-server");
        assert!(well_known("http://issuer.example", "x").is_err());
    }
}
