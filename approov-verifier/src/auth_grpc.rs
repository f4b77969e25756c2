//! Envoy's gRPC ext_authz door: `envoy.service.auth.v3.Authorization/Check`. The original
//! request comes in the `CheckRequest`'s attributes (method, path, host, scheme, headers, and
//! the body when Envoy's `with_request_body` is on); the answer is an `OkHttpResponse` that sets
//! the claim headers and removes the token header upstream, or a `DeniedHttpResponse`: `401`,
//! `content-type: application/json`, body `{}`.

use std::collections::HashMap;
use std::sync::Arc;

use envoy_types::ext_authz::v3::pb::{
    Authorization, CheckRequest, CheckResponse, DeniedHttpResponse, HeaderAppendAction,
    HeaderValue, HeaderValueOption, HttpResponse, HttpStatus, HttpStatusCode, OkHttpResponse,
};
use envoy_types::pb::google::rpc;
use http::HeaderName;
use tonic::{Request, Response, Status};
use tower_approov::{ApproovRequest, BodyRead, HeaderSource, JsonRejection, RequestBody, Verdict};

use crate::Shared;
use crate::answer::{Answer, answer};

/// The Envoy authorization service.
#[derive(Debug, Clone)]
pub(crate) struct EnvoyAuthorization {
    pub(crate) shared: Arc<Shared>,
}

/// The original request's headers as Envoy sends them: with `encode_raw_headers: true` a list
/// of raw values, duplicates kept apart (the form this door is tested with); else a map whose
/// duplicate values Envoy joined with `,` and whose non-UTF-8 bytes it replaced.
enum EnvoyHeaders<'a> {
    Raw(&'a [HeaderValue]),
    Map(&'a HashMap<String, String>),
}

impl HeaderSource for EnvoyHeaders<'_> {
    fn header_values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> {
        let (raw, map) = match self {
            Self::Raw(list) => (*list, None),
            Self::Map(map) => (&[][..], map.get(name.as_str())),
        };
        let raw = raw
            .iter()
            .filter(move |h| h.key.eq_ignore_ascii_case(name.as_str()))
            .map(|h| {
                if h.raw_value.is_empty() {
                    h.value.as_bytes()
                } else {
                    h.raw_value.as_slice()
                }
            });
        raw.chain(map.map(String::as_bytes))
    }
}

/// Set by Envoy when it sent only the first `max_request_bytes` of the body.
const PARTIAL_BODY: HeaderName = HeaderName::from_static("x-envoy-auth-partial-body");

#[tonic::async_trait]
impl Authorization for EnvoyAuthorization {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let check = request.into_inner();
        let Some(http) = check
            .attributes
            .as_ref()
            .and_then(|a| a.request.as_ref())
            .and_then(|r| r.http.as_ref())
        else {
            tracing::warn!("Envoy check request without its HTTP attributes: refused");
            return Err(Status::invalid_argument("no HTTP request attributes"));
        };
        let headers = match &http.header_map {
            Some(map) if !map.headers.is_empty() => EnvoyHeaders::Raw(&map.headers),
            _ => EnvoyHeaders::Map(&http.headers),
        };
        let partial = headers
            .header_values(&PARTIAL_BODY)
            .next()
            .is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        let body: &[u8] = if http.raw_body.is_empty() {
            http.body.as_bytes()
        } else {
            &http.raw_body
        };
        let body = match (body.is_empty(), http.size) {
            // Cut at `max_request_bytes`: never checked as a whole (see below).
            _ if partial => RequestBody::Unread,
            (false, _) => RequestBody::Read(body),
            (true, 0) => RequestBody::Empty,
            // A body Envoy did not send (`with_request_body` is off), or of unknown size.
            (true, _) => RequestBody::Unavailable,
        };
        let mut approov = ApproovRequest::new(&http.method, &http.path, &headers).with_body(body);
        if !http.host.is_empty() {
            approov = approov.with_authority(&http.host);
        }
        if !http.scheme.is_empty() {
            approov = approov.with_scheme(&http.scheme);
        }
        let verdict = match self.shared.config.check(&approov) {
            Verdict::ReadBody(check) => check.finish(BodyRead::TooLarge),
            verdict => verdict,
        };
        // Replay protection with Redis: the store's answer.
        let verdict = match verdict {
            Verdict::Record(check) => check.record().await,
            verdict => verdict,
        };
        let answer = answer(
            verdict,
            &self.shared.settings.claim_headers,
            &self.shared.token_header,
        );
        Ok(Response::new(check_response(answer)))
    }
}

/// A header for Envoy's answer. Envoy reads `value` in an answer's headers, whatever
/// `encode_raw_headers` says (that setting is for the headers it sends): with `raw_value` alone
/// it would set the header empty. Every value here is text (a claim that is not is left out).
fn header(key: &str, value: &http::HeaderValue) -> HeaderValue {
    HeaderValue {
        key: key.to_owned(),
        value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
        raw_value: Vec::new(),
    }
}

fn check_response(answer: Answer) -> CheckResponse {
    match answer {
        Answer::Allow(upstream) => CheckResponse {
            status: Some(rpc::Status {
                code: tonic::Code::Ok as i32,
                ..Default::default()
            }),
            http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
                headers: upstream
                    .set
                    .iter()
                    .map(|(name, value)| HeaderValueOption {
                        header: Some(header(name.as_str(), value)),
                        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
                        ..Default::default()
                    })
                    .collect(),
                headers_to_remove: upstream
                    .remove
                    .iter()
                    .map(|name| name.as_str().to_owned())
                    .collect(),
                ..Default::default()
            })),
            ..Default::default()
        },
        Answer::Deny(_) => CheckResponse {
            status: Some(rpc::Status {
                code: tonic::Code::Unauthenticated as i32,
                ..Default::default()
            }),
            http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
                status: Some(HttpStatus {
                    code: HttpStatusCode::Unauthorized as i32,
                }),
                headers: vec![HeaderValueOption {
                    header: Some(header(
                        "content-type",
                        &http::HeaderValue::from_static(JsonRejection::CONTENT_TYPE),
                    )),
                    append_action: HeaderAppendAction::OverwriteIfExistsOrAdd as i32,
                    ..Default::default()
                }],
                body: JsonRejection::BODY.to_owned(),
            })),
            ..Default::default()
        },
    }
}
