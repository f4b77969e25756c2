//! The reverse-proxy door (`APPROOV_VERIFIER_UPSTREAM`): the tower layer checks every request
//! (its body too, when a signature covers `content-digest`), then the request is streamed to
//! the upstream with the claim headers and without the token header. The mode for signed
//! bodies behind gateways that cannot forward a body to an auth service.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::header::{CONNECTION, HeaderName};
use http::{HeaderMap, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_approov::{ApproovClaims, ApproovError, ApproovLayer, Verdict};

use crate::Shared;
use crate::answer::{Answer, answer};

#[derive(Clone)]
struct Proxy {
    shared: Arc<Shared>,
    upstream: Uri,
    client: Client<HttpConnector, Body>,
}

/// Every path, checked by the layer, then proxied.
pub(crate) fn router(shared: Arc<Shared>, upstream: Uri) -> Router {
    let layer = ApproovLayer::new(shared.config.clone());
    let client = Client::builder(TokioExecutor::new()).build_http();
    Router::new()
        .fallback(forward)
        .layer(layer)
        .with_state(Proxy {
            shared,
            upstream,
            client,
        })
}

/// Hop-by-hop headers (RFC 9110 section 7.6.1): they belong to one connection, never
/// forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
];

fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // And the headers `Connection` names.
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    // The layer let the request through: verified (claims), or failed in monitor mode (the
    // error, no claims).
    let verdict = match (
        request.extensions().get::<ApproovClaims>(),
        request.extensions().get::<ApproovError>(),
    ) {
        (Some(claims), _) => Verdict::Accept(claims.clone()),
        (None, Some(error)) => Verdict::Monitor(error.clone()),
        // Never: the layer is in front of this handler. Refused if it ever is not.
        (None, None) => Verdict::Reject(tower_approov::ApproovErrorKind::MissingToken.into()),
    };
    let upstream = match answer(
        verdict,
        &proxy.shared.settings.claim_headers,
        &proxy.shared.token_header,
    ) {
        Answer::Allow(upstream) => upstream,
        Answer::Deny(error) => return crate::auth_http::unauthorized(error),
    };
    let (mut parts, body) = request.into_parts();
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!(
        "{}{target}",
        proxy.upstream.to_string().trim_end_matches('/')
    )
    .parse::<Uri>() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    parts.uri = uri;
    parts.extensions = http::Extensions::new();
    remove_hop_by_hop(&mut parts.headers);
    for name in &upstream.remove {
        parts.headers.remove(name);
    }
    for (name, value) in upstream.set {
        parts.headers.insert(name, value);
    }
    match proxy.client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            remove_hop_by_hop(&mut parts.headers);
            Response::from_parts(parts, Body::new(body))
        }
        Err(error) => {
            tracing::warn!(%error, "the upstream could not be reached");
            StatusCode::BAD_GATEWAY.into_response()
        }
    }
}
