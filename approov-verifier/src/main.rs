//! `approov-verifier`: see the crate docs and `--help`.

use std::process::ExitCode;

use clap::Parser as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tower_approov::ApproovConfigBuilder;
use tracing_subscriber::EnvFilter;

use approov_verifier::settings::{LogFormat, Settings};

/// Histogram buckets of the check's duration, in seconds: a cache hit is well under 10 us, an
/// ES256 verification about 60 us.
const VERIFY_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.025, 0.1,
];

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::parse();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_approov=debug"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.with_ansi(false).init(),
    }

    let recorder = match PrometheusBuilder::new().set_buckets_for_metric(
        Matcher::Full(tower_approov::metrics::VERIFY_SECONDS.to_owned()),
        VERIFY_BUCKETS,
    ) {
        Ok(builder) => builder.build_recorder(),
        Err(error) => return fail(&error),
    };
    let metrics = recorder.handle();
    if let Err(error) = metrics::set_global_recorder(recorder) {
        return fail(&error);
    }
    tower_approov::metrics::describe_metrics();

    // The token never goes upstream, whatever APPROOV_STRIP_TOKEN_HEADER says.
    let config = match ApproovConfigBuilder::from_env() {
        Ok(builder) => builder.with_strip_token_header(true).build_async().await,
        Err(error) => Err(error),
    };
    let config = match config {
        Ok(config) => config,
        Err(error) => return fail(&error),
    };
    match approov_verifier::run(settings, config, metrics, shutdown()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("approov-verifier: {error}");
    ExitCode::from(2)
}

/// SIGTERM (what Kubernetes and systemd send) or Ctrl-C.
async fn shutdown() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
