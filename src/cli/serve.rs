//! `patrol serve`: the HTTP service, on loopback unless told otherwise, until SIGTERM or SIGINT.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::Context;
use patrol::serve::{ServeOptions, Server};

use super::{Exit, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Address to bind. Anything but loopback exposes the service to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind; 0 picks a free one (printed on stderr).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Require `Authorization: Bearer <key>` on every route but /health.
    #[arg(long, env = "PATROL_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Most texts in one micro-batch, across requests.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest a text waits for its micro-batch to fill, in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub max_wait_ms: u64,
    /// Micro-batches scored at the same time (default: one per core, or `--threads`).
    #[arg(long)]
    pub in_flight: Option<usize>,
    /// Classify requests admitted at once; one more is answered 429.
    #[arg(long, default_value_t = 512)]
    pub max_concurrent_requests: usize,
    /// Texts in one request; more is answered 422.
    #[arg(long, default_value_t = 32)]
    pub max_texts_per_request: usize,
    /// Bytes in one request body; more is answered 413.
    #[arg(long, default_value_t = 2 << 20)]
    pub max_body_bytes: usize,
}

fn address(host: &str, port: u16) -> anyhow::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()
        .with_context(|| format!("--host {host}"))?
        .next()
        .with_context(|| format!("--host {host}: no address"))
}

pub fn run(args: ServeArgs) -> anyhow::Result<Exit> {
    let addr = address(&args.host, args.port)?;
    if !addr.ip().is_loopback() && args.api_key.is_none() {
        note!("patrol: warning: serving on {addr} without an API key");
    }
    let classifier = args.model.load_shared(args.model.options())?;
    let mut options = ServeOptions {
        api_key: args.api_key,
        max_batch: args.max_batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        max_concurrent_requests: args.max_concurrent_requests,
        max_texts_per_request: args.max_texts_per_request,
        max_body_bytes: args.max_body_bytes,
        ..Default::default()
    };
    if let Some(n) = args.in_flight.or(args.model.threads) {
        options.in_flight = n;
    }
    let name = classifier.name().to_string();
    let server = Server::start(classifier, options)?;
    let runtime = super::io_runtime()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let bound = listener.local_addr()?;
        note!("patrol: serving {name} on http://{bound}");
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let signal = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            note!("patrol: shutting down: answering the requests in hand");
        };
        server.run(listener, signal).await?;
        note!("patrol: stopped");
        anyhow::Ok(Exit::Ok)
    })
}
