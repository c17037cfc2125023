//! What every request passes before it reaches a route: the Host it names, who it is from
//! (session cookie or API token), whether that role may use the route, and for changes
//! made from a browser, the Origin they come from. Every answer leaves with headers that
//! keep the desk out of other sites' frames and its addresses out of Referer.

use crate::error::{blocking, DeskError};
use crate::{Access, ROUTES};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use yuqing_access::{AccessStore, AlertLinks, Identity};

/// The cookie a login sets.
pub(crate) const SESSION_COOKIE: &str = "yuqing_session";

/// How the desk is protected: who its users are, the key of its 签收 links, and the
/// names it answers to.
pub struct DeskSecurity {
    pub access: Arc<AccessStore>,
    pub links: AlertLinks,
    /// `[desk] public_url`: the address staff and alert links reach the desk at.
    pub public_url: Option<String>,
    /// The address the desk is bound to (with its real port).
    pub listen: SocketAddr,
    /// `[desk] allowed_hosts`: further names the desk answers to (a reverse proxy's).
    pub allowed_hosts: Vec<String>,
}

impl DeskSecurity {
    /// Whether a Host header (or an Origin's authority) names this desk. Names are what
    /// DNS rebinding uses, so a name must be configured; an IP address must be the one
    /// listened on (any, where the desk listens on all of them), with the port.
    pub(crate) fn is_own_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let port = self.listen.port();
        let (name, given_port) = split_port(&host);
        let port_matches = given_port == Some(port) || (given_port.is_none() && port == 80);
        if let Some(public) = self.public_authority() {
            if host == public || (name == public && !public.contains(':')) {
                return true;
            }
        }
        if self
            .allowed_hosts
            .iter()
            .any(|allowed| *allowed == host || *allowed == name)
        {
            return true;
        }
        if !port_matches {
            return false;
        }
        let ip = self.listen.ip();
        if ip.is_loopback() && name == "localhost" {
            return true;
        }
        match name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
        {
            Ok(given) => given == ip || ip.is_unspecified(),
            Err(_) => false,
        }
    }

    /// `host[:port]` of the public URL, as a Host header would carry it.
    fn public_authority(&self) -> Option<String> {
        let public = self.public_url.as_deref()?;
        let rest = public.split_once("://").map_or(public, |(_, rest)| rest);
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?.to_ascii_lowercase();
        Some(
            match authority
                .strip_suffix(":443")
                .or(authority.strip_suffix(":80"))
            {
                Some(bare) => bare.to_string(),
                None => authority,
            },
        )
    }

    /// Cookies carry `Secure` when staff reach the desk over https.
    pub(crate) fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

fn split_port(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        // `[::1]:8730` or `name:8730`, but not the colons inside a bare IPv6 address.
        Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
            (name, port.parse().ok())
        }
        _ => (host, None),
    }
}

/// The value of one cookie of a request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The API token of an `Authorization` header: `Bearer TOKEN`, or Basic auth with the
/// token as the password (any user name), for tools that only speak Basic.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, token)| token.to_string());
    }
    None
}

/// Who the request is from: `Ok(None)` when it carries no credentials, an error when it
/// carries ones that are not (or no longer) valid.
async fn identify(
    access: &Arc<AccessStore>,
    headers: &HeaderMap,
) -> Result<Option<Identity>, DeskError> {
    let now = chrono::Utc::now();
    let token = bearer(headers);
    let session = cookie(headers, SESSION_COOKIE).map(str::to_string);
    if token.is_none() && session.is_none() {
        return Ok(None);
    }
    let access = access.clone();
    let found = blocking("identify", move || match (&token, &session) {
        (Some(token), _) => access.token(token, now),
        (None, Some(session)) => access.session(session, now),
        (None, None) => Ok(None),
    })
    .await?
    .map_err(|error| {
        tracing::error!(%error, "access state");
        DeskError::Internal
    })?;
    match found {
        Some(identity) => Ok(Some(identity)),
        None => Err(DeskError::Unauthorized(
            "the session has ended or the API token is not valid: log in again (POST /api/login) or use a current token".into(),
        )),
    }
}

/// The 401 for a request without credentials: how to get some, and on a desk without
/// users yet, how to make the first.
async fn unauthenticated(access: &Arc<AccessStore>) -> DeskError {
    let access = access.clone();
    let has_users = blocking("users", move || access.has_users())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(true);
    DeskError::Unauthorized(if has_users {
        "log in first (POST /api/login with name and password), or send an API token as `Authorization: Bearer …`".into()
    } else {
        "the desk has no users yet: create the first administrator with `yuqing user add NAME --role admin`, then log in".into()
    })
}

/// Checks the Host, then who the request is from and whether their role may use the
/// route; the identity goes on to the route as a request extension.
pub(crate) async fn check_route(
    State(security): State<Arc<DeskSecurity>>,
    matched: MatchedPath,
    mut request: Request,
    next: Next,
) -> Result<Response, DeskError> {
    let method = request.method().clone();
    let Some(route) = ROUTES
        .iter()
        .find(|r| r.path == matched.as_str() && r.method == method.as_str())
    else {
        return Err(DeskError::MethodNotAllowed(format!(
            "{method} is not a method of {}",
            matched.as_str()
        )));
    };
    let headers = request.headers();
    let identity = identify(&security.access, headers).await?;
    if method != Method::GET && method != Method::HEAD {
        check_origin(&security, headers)?;
    }
    match (route.access, &identity) {
        (Access::Public | Access::AlertLink, _) => {}
        (Access::Role(_), None) => return Err(unauthenticated(&security.access).await),
        (Access::Role(needed), Some(identity)) if identity.role < needed => {
            return Err(DeskError::Forbidden(format!(
                "{} is for {} ({}) and above; {} is {} ({})",
                route.path,
                needed.zh(),
                needed,
                identity.user,
                identity.role.zh(),
                identity.role
            )));
        }
        (Access::Role(_), Some(_)) => {}
    }
    if let Some(identity) = identity {
        request.extensions_mut().insert(identity);
    }
    Ok(next.run(request).await)
}

/// A change a browser sends must come from the desk's own pages: its Origin (or, where
/// a browser sends none, its Referer) must name this desk. Scripts using an API token
/// send neither and cannot be forged by a page (a page cannot set `Authorization` on a
/// request to another site), so they pass.
fn check_origin(security: &DeskSecurity, headers: &HeaderMap) -> Result<(), DeskError> {
    let origin = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    let Some(origin) = origin else {
        return if cookie(headers, SESSION_COOKIE).is_some() && bearer(headers).is_none() {
            Err(DeskError::Forbidden(
                "a change made with a login session must carry the Origin header of the desk's page".into(),
            ))
        } else {
            Ok(())
        };
    };
    let authority = origin
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if authority.is_empty() || !security.is_own_host(authority) {
        return Err(DeskError::Forbidden(format!(
            "a change may only come from the desk's own pages, not from {origin:?}"
        )));
    }
    Ok(())
}

/// Refuses a request whose Host names another site (DNS rebinding), before any route.
pub(crate) async fn check_host(
    State(security): State<Arc<DeskSecurity>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let response = match host {
        Some(host) if security.is_own_host(&host) => next.run(request).await,
        Some(host) => axum::response::IntoResponse::into_response(DeskError::MisdirectedHost(
            format!(
                "this desk does not answer to the host {host:?}; add it to [desk] allowed_hosts or set [desk] public_url"
            ),
        )),
        None => axum::response::IntoResponse::into_response(DeskError::MisdirectedHost(
            "the request names no Host".into(),
        )),
    };
    with_page_headers(response)
}

/// Every answer: no framing by other sites, no sniffing, no Referer leaving with a
/// 签收 link's token. An answer that sets its own policy (the sandboxed snapshot) keeps
/// it.
fn with_page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
        ));
    headers
        .entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn security(listen: &str, public_url: Option<&str>) -> DeskSecurity {
        let dir = tempfile::tempdir().unwrap();
        let access = AccessStore::open(&dir.path().join("s.sqlite"), Default::default()).unwrap();
        DeskSecurity {
            access: Arc::new(access),
            links: AlertLinks::new([0; 32], chrono::Duration::days(1)),
            public_url: public_url.map(str::to_string),
            listen: listen.parse().unwrap(),
            allowed_hosts: vec!["yuqing.internal".into()],
        }
    }

    #[test]
    fn the_desk_answers_to_its_own_names_only() {
        let local = security("127.0.0.1:8730", Some("https://yq.example.gov.cn/"));
        for own in [
            "127.0.0.1:8730",
            "localhost:8730",
            "yq.example.gov.cn",
            "yq.example.gov.cn:443",
            "yuqing.internal",
            "yuqing.internal:8730",
        ] {
            assert!(local.is_own_host(own), "{own}");
        }
        for other in [
            "evil.example",
            "evil.example:8730",
            "127.0.0.1:9999",
            "10.0.0.5:8730",
            "localhost.evil.example:8730",
            "yq.example.gov.cn.evil.example",
        ] {
            assert!(!local.is_own_host(other), "{other}");
        }
        let everywhere = security("0.0.0.0:8730", None);
        assert!(everywhere.is_own_host("10.0.0.5:8730"));
        assert!(!everywhere.is_own_host("rebound.example:8730"));
        let v6 = security("[::1]:8730", None);
        assert!(v6.is_own_host("[::1]:8730"));
        assert!(v6.is_own_host("localhost:8730"));
        assert!(local.secure_cookies() && !v6.secure_cookies());
    }

    #[test]
    fn credentials_come_from_bearer_basic_or_the_session_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer yqt_1_abc".parse().unwrap());
        assert_eq!(bearer(&headers).as_deref(), Some("yqt_1_abc"));
        let basic = base64::engine::general_purpose::STANDARD.encode("anyone:yqt_2_def");
        headers.insert(
            header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        assert_eq!(bearer(&headers).as_deref(), Some("yqt_2_def"));
        headers.insert(
            header::COOKIE,
            "a=1; yuqing_session=s3cr3t; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s3cr3t"));
    }
}
