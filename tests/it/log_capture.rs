//! Logs captured on the test's own thread, by a scoped `tracing` subscriber at `trace`.
//!
//! The tests that read logs run their server on a current-thread runtime, so whatever it logs
//! goes to the thread's default subscriber. Captures are taken one at a time across the whole
//! binary: `tracing` recomputes its global level filter and callsite interest each time a
//! subscriber is registered, and two registrations racing on two threads can leave the filter
//! below what a live subscriber asks for, which loses events and makes a test flaky.

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Everything a `fmt` subscriber writes.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Keeps the capture on until dropped: the subscriber first, then the turn.
pub(crate) struct Guard {
    _subscriber: tracing::subscriber::DefaultGuard,
    _turn: MutexGuard<'static, ()>,
}

/// Captures this thread's logs, `trace` and above, until the guard drops.
pub(crate) fn capture() -> (Captured, Guard) {
    // A test that failed while capturing leaves the lock poisoned; the next one may go on.
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = Guard {
        _subscriber: tracing::subscriber::set_default(subscriber),
        _turn: turn,
    };
    (captured, guard)
}
