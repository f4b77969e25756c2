//! The tower front door: [`ApproovLayer`](crate::ApproovLayer) makes
//! [`ApproovService`](crate::ApproovService), which hands each request to the check and
//! carries out its verdict; [`ResponseFuture`](crate::ResponseFuture) reads a signed body when
//! the verdict asks for it; [`ApproovBody`](crate::ApproovBody) is the body the inner service
//! gets; the rejection response is built in `response`.
//!
//! Nothing here decides: every rule is in [`check`](crate::check).

pub(crate) mod body;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod response;
pub(crate) mod service;
