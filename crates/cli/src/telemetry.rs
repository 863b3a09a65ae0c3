//! Logs and the Prometheus endpoint of `terrace node` and `terrace
//! devnet`. Terrace's own events print at the chosen level; the libraries'
//! (consensus, storage, p2p) only when they are errors, so a healthy start
//! is quiet — `RUST_LOG` (the usual `target=level,…` directives) overrides
//! both. Colour only when stderr is a terminal; the same lines, and
//! Terrace's `info` ones even when stderr is quieter, go to `terrace.log`
//! in the data directory, without colour.

use anyhow::{Context as _, Result};
use commonware_runtime::{Metrics as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use std::{io::IsTerminal as _, net::SocketAddr, path::Path, sync::Arc, sync::Mutex};
use tracing_subscriber::{
    EnvFilter, Layer as _, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

/// The log file in a data directory.
pub const LOG_FILE: &str = "terrace.log";

/// The filter of both outputs: `RUST_LOG` when set, else Terrace's crates
/// at `level` and every other target at `error`.
pub fn filter(level: tracing::Level) -> Result<EnvFilter> {
    match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .with_context(|| {
                format!("RUST_LOG={directives:?} is not a list of target=level directives")
            }),
        _ => Ok(EnvFilter::new(format!(
            "error,terrace={}",
            level.as_str().to_ascii_lowercase()
        ))),
    }
}

/// Installs the logger (stderr and `data_dir/terrace.log`) and, with
/// `metrics`, serves `/metrics` there. Fails if the file cannot be opened
/// or the address bound.
pub async fn init(
    context: &cw_tokio::Context,
    level: tracing::Level,
    data_dir: &Path,
    metrics: Option<SocketAddr>,
) -> Result<()> {
    let path = data_dir.join(LOG_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .compact()
        .with_filter(filter(level)?);
    let file = tracing_subscriber::fmt::layer()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_filter(filter(level.max(tracing::Level::INFO))?);
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()
        .context("a logger is already installed")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %data_dir.display(),
        "terrace started"
    );
    if let Some(addr) = metrics {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        context.child("metrics").spawn(move |context| async move {
            let context = Arc::new(context);
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let context = context.clone();
                    async move {
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                "text/plain; version=0.0.4",
                            )],
                            context.encode(),
                        )
                    }
                }),
            );
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("the metrics endpoint stopped: {e}");
            }
        });
    }
    Ok(())
}
