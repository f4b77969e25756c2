//! [`Mode`] and [`ModeHandle`]: whether a failed check refuses the request or only reports it,
//! and the switch that changes it at run time.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether failed checks are enforced or only reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Failed checks answer 401. The default.
    #[default]
    Enforce,
    /// Failed checks are logged at `warn` and the request goes on, without claims. This is how
    /// Approov is rolled out: watch the logs, then switch to [`Mode::Enforce`].
    Monitor,
}

/// A handle that switches a running layer between [`Mode::Enforce`] and [`Mode::Monitor`].
///
/// Get one from [`ApproovLayer::mode_handle`](crate::ApproovLayer::mode_handle) or
/// [`ApproovConfig::mode_handle`](crate::ApproovConfig::mode_handle). Clones share the same
/// switch, one atomic byte.
///
/// What a change guarantees: a check reads the mode once, when it concludes that a request
/// failed, so a check already past that point finishes in the mode it read. A check that
/// fails after [`set`](Self::set) returned reads the new mode as soon as the store is visible
/// to its thread: the store is a release and the read an acquire, so a thread that has seen
/// anything the switching thread did after `set` (a response, a log line) sees the new mode
/// too; other threads see it in a finite time, in practice at once. A signed body's digest
/// check reads the mode again when the body has arrived.
#[derive(Clone)]
pub struct ModeHandle(Arc<AtomicU8>);

impl ModeHandle {
    pub(crate) fn new(mode: Mode) -> Self {
        Self(Arc::new(AtomicU8::new(mode as u8)))
    }

    /// The mode in force.
    #[must_use]
    pub fn get(&self) -> Mode {
        if self.0.load(Ordering::Acquire) == Mode::Monitor as u8 {
            Mode::Monitor
        } else {
            Mode::Enforce
        }
    }

    /// Switches the mode, for every service made by the layer.
    pub fn set(&self, mode: Mode) {
        let before = self.get();
        self.0.store(mode as u8, Ordering::Release);
        if before != mode {
            tracing::warn!(from = ?before, to = ?mode, "Approov enforcement mode changed");
        }
    }
}

impl fmt::Debug for ModeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ModeHandle").field(&self.get()).finish()
    }
}
