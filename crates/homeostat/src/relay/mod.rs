//! hs-relay: a small HTTP server that speaks the Sentry SDK protocol (envelope and store
//! endpoints), our canonical JSON and Alertmanager webhooks, and turns what it accepts
//! into homeostat events without a GitHub token ever reaching a client.
//!
//! The path of an event: [`server`] (auth, origin, size, decompression) → [`envelope`]
//! (pure parsing) → [`ingest`] (scrub, fingerprint: pure) → [`limits`] (per project, client
//! and fingerprint; local or Redis) → [`spool`] (append-only, fsync'd before the answer)
//! → [`forward`] (repository_dispatch batches within GitHub's limits, or the issue flow
//! in-process). [`metrics`] counts per release for the canary.

pub use crate::settings::relay as config;
pub mod envelope;
pub mod forward;
pub mod ingest;
pub mod limits;
pub mod metrics;
pub mod process;
pub mod server;
pub mod spool;

pub use config::{ForwardMode, ProjectConfig, RelayConfig};

/// Why a request was refused; each maps to the status code the SDKs understand.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("rate limited ({scope}): retry after {retry_after}s")]
    RateLimited { retry_after: u64, scope: &'static str },
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Unavailable(String),
}

impl RelayError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Timeout(_) => 408,
            Self::TooLarge(_) => 413,
            Self::Unsupported(_) => 415,
            Self::RateLimited { .. } => 429,
            Self::Unavailable(_) => 503,
        }
    }
}

/// Serves until SIGTERM or Ctrl-C, then drains: stops accepting, forwards what it can in
/// a few seconds, and leaves the rest in the spool for the next start.
///
/// The server runs on a multi-threaded runtime; the forwarder on its own thread and
/// runtime, where its forge is built (a forge's client lives in the runtime that drives it).
pub fn serve_blocking(
    listen: std::net::SocketAddr,
    config: crate::settings::Config,
    direct: bool,
    choice: crate::app::ForgeChoice,
    env: &crate::gha::Env,
) -> crate::Result<()> {
    let mut relay = config.relay.clone().unwrap_or_default();
    relay.apply_env(|name| env.get(name).map(str::to_string))?;
    if direct {
        relay.forward.mode = ForwardMode::Direct;
    }
    if relay.projects.is_empty() {
        return Err(crate::Error::input(
            config.at("relay.projects"),
            "relay.projects is empty: add one {id, public_key} per DSN (or set HOMEOSTAT_RELAY_PROJECT)",
        ));
    }
    let failed = |what: &str, e: std::io::Error| crate::Error::Failed(format!("{what}: {e}"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| failed("runtime", e))?;
    let state = runtime.block_on(server::State::open(&config, relay.clone()))?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<crate::Result<()>>();
    let (spool, metrics, forward_config, env) =
        (state.spool.clone(), state.metrics.clone(), relay.forward.clone(), env.clone());
    let forward_stop = stop_rx.clone();
    let forwarder = std::thread::Builder::new()
        .name("relay-forward".into())
        .spawn(move || {
            let ctx = match crate::app::Context::new(env, config) {
                Ok(ctx) => ctx,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            let target = match ctx.block_on(async { forward::open_target(&ctx, &relay, &choice) }) {
                Ok(t) => t,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            let _ = ready_tx.send(Ok(()));
            ctx.block_on(forward::forward_loop(spool, metrics, target, forward_config, forward_stop));
        })
        .map_err(|e| failed("forwarder thread", e))?;
    ready_rx.recv().map_err(|_| crate::Error::Failed("the forwarder did not start".into()))??;
    let served = runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|e| failed(&format!("listen on {listen}"), e))?;
        let local = listener.local_addr().map_err(|e| failed("listen", e))?;
        // On stdout so a supervisor (or a test on port 0) learns the address.
        println!("hs-relay listening on http://{local}");
        tracing::info!("listening on http://{local}");
        let serving = tokio::spawn(server::serve(listener, state, stop_rx));
        shutdown_signal().await;
        tracing::info!("stopping: no new connections; forwarding what the spool holds");
        let _ = stop_tx.send(true);
        let _ = serving.await;
        Ok::<_, crate::Error>(stop_tx)
    });
    let stop_tx = served?;
    let _ = forwarder.join();
    drop(stop_tx);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
