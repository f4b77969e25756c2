//! Logs captured for the tests that read them, through one process-wide subscriber.
//!
//! The tests that read logs run their server on a current-thread runtime, so whatever it logs
//! is logged on the test's own thread: `capture` collects what is logged on the calling thread
//! until its guard drops. `capture_process` collects what every thread logs (the JWKS
//! refresher logs on its own thread).
//!
//! One global subscriber, never a scoped one: `tracing` caches each callsite's interest, and a
//! callsite first reached on another thread while a scoped subscriber is being registered can
//! keep the interest computed without it, which loses that event for good (seen as a flaky
//! "no line logged"). With a single subscriber that is there from the start and interested in
//! everything, there is nothing to race with. A filter keeps it from formatting events nobody
//! captures.

// Each test binary that includes this uses a part of it.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

thread_local! {
    /// The capture of the calling thread, if it has one.
    static THREAD: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Whether every thread's logs go to `PROCESS` too.
static PROCESS_ON: AtomicBool = AtomicBool::new(false);
static PROCESS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Everything logged into one capture.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The captured events (one line each) that contain `needle`: the line an assertion about one
/// event's level or fields must look at, rather than the whole capture.
pub(crate) fn lines_with(logs: &Captured, needle: &str) -> Vec<String> {
    logs.text()
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// The level of one captured event (`TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`): the word
/// after the timestamp, where the subscriber writes it, so that a level's name elsewhere in
/// the line (in a message or a field) is not taken for it.
pub(crate) fn level(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap_or("")
}

/// Where one formatted event goes: the emitting thread's capture and, once on, the process's.
struct Router;

impl Write for Router {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        THREAD.with(|current| {
            if let Some(captured) = &*current.borrow() {
                captured.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        if PROCESS_ON.load(Ordering::SeqCst) {
            PROCESS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct MakeRouter;

impl<'a> MakeWriter<'a> for MakeRouter {
    type Writer = Router;
    fn make_writer(&'a self) -> Router {
        Router
    }
}

fn wanted() -> bool {
    PROCESS_ON.load(Ordering::SeqCst) || THREAD.with(|current| current.borrow().is_some())
}

/// Installs the binary's one subscriber, at `trace` (idempotent).
fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(MakeRouter)
            .with_ansi(false)
            .with_filter(filter_fn(|_| wanted()));
        // `set_global_default`, not `try_init`: no bridge from the `log` crate, whose records
        // (ureq's, rustls's) are not this crate's logs.
        let subscriber = tracing_subscriber::registry()
            .with(layer)
            .with(tracing_subscriber::filter::LevelFilter::TRACE);
        tracing::subscriber::set_global_default(subscriber)
            .expect("the only global subscriber of this test binary");
    });
    // A callsite that registered on another thread while the subscriber was being installed
    // may still hold the interest computed without it: recompute them all.
    tracing::callsite::rebuild_interest_cache();
}

/// Keeps the thread's capture on until dropped.
pub(crate) struct Guard(());

impl Drop for Guard {
    fn drop(&mut self) {
        THREAD.with(|current| current.borrow_mut().take());
    }
}

/// Captures this thread's logs, `trace` and above, until the guard drops.
pub(crate) fn capture() -> (Captured, Guard) {
    install();
    let captured = Captured::default();
    THREAD.with(|current| *current.borrow_mut() = Some(captured.clone()));
    (captured, Guard(()))
}

/// From now on, every thread's logs at `trace` and above are kept for `process_logs`.
pub(crate) fn capture_process() {
    install();
    PROCESS_ON.store(true, Ordering::SeqCst);
}

/// Every event logged by any thread since `capture_process` was first called, as text.
pub(crate) fn process_logs() -> String {
    String::from_utf8_lossy(&PROCESS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}
