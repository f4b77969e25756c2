//! One table of cases, every front door: the decisive cases of the suite (tokens, binding, the
//! hand-written SDK-signed requests of `sdk_signing`, the rejection's shape, monitor mode,
//! bodies), written once as data in [`cases`], and run by [`runner`] over real HTTP on loopback
//! against each front door's server, so that a difference between front doors is a failing
//! test.
//!
//! The doors that run it:
//! - here, in process: the axum layer ([`axum`]) and the actix-web middleware ([`actix`]),
//!   every case, each answer as the table writes it;
//! - `approov-verifier/tests/front_doors.rs`, which includes `runner` and `cases` from here
//!   and starts the real binary, one process per case: its reverse proxy, every case; forward
//!   auth on `/check` (the test playing the gateway) with the body forwarded, every case;
//!   forward auth without the body (nginx `auth_request`, Caddy `forward_auth`), every case
//!   but the nine whose verdict needs the body. Its differences by design (the token header
//!   never reaches the upstream; a refusal's and a monitored request's reason are read from
//!   its `/metrics`) and the cases that cannot apply are written there once, each with its
//!   reason.
//!
//! The replay cases (replay protection on, a request sent a second time) run here with the
//! store in memory; `tests/replay_redis.rs` and `approov-verifier/tests/front_doors.rs` run
//! them again against every door with the store in a real `redis-server`
//! ([`run_replay_cases_in_redis`](runner::run_replay_cases_in_redis)), where each door awaits
//! the store's answer (`Verdict::Record`).
//!
//! A front door is a [`FrontDoor`](runner::FrontDoor): it serves the test app (every path
//! echoes the body it received and says in headers what else it received, see
//! `sdk_support::handler_headers`) behind its own adapter for a given configuration, and puts
//! the rejection's reason in `x-test-approov-reason`.

pub mod cases;
pub mod runner;

#[cfg(feature = "actix")]
pub mod actix;
pub mod axum;

use runner::{a_trickling_signed_body_is_refused_at_its_deadline, run_table};

#[tokio::test]
async fn a_signed_body_trickling_past_its_deadline_is_refused_by_the_axum_layer() {
    a_trickling_signed_body_is_refused_at_its_deadline::<axum::Axum>().await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn a_signed_body_trickling_past_its_deadline_is_refused_by_the_actix_middleware() {
    a_trickling_signed_body_is_refused_at_its_deadline::<actix::Actix>().await;
}

#[tokio::test]
async fn every_case_of_the_table_is_answered_as_written_through_the_axum_layer() {
    run_table::<axum::Axum>().await;
}

#[cfg(feature = "actix")]
#[tokio::test]
async fn every_case_of_the_table_is_answered_as_written_through_the_actix_middleware() {
    run_table::<actix::Actix>().await;
}
