//! `patrol consume`: a NATS JetStream worker; run several against one durable consumer to share
//! the load. SIGTERM or SIGINT: finish the messages in hand, ack them, exit.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use patrol::consume::{ConsumeOptions, ConsumeSummary};

use super::{Exit, ModelArgs, ReadArgs};

#[derive(clap::Args, Debug)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The NATS server.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// The JetStream stream (created over --subject if missing).
    #[arg(long, default_value = "POSTS")]
    pub stream: String,
    /// The subject posts arrive on.
    #[arg(long, default_value = "posts")]
    pub subject: String,
    /// The durable pull consumer the workers share (created if missing).
    #[arg(long, default_value = "patrol")]
    pub durable: String,
    /// Where results go; errors go to `<out-subject>.errors`.
    #[arg(long, default_value = "patrol.results")]
    pub out_subject: String,
    /// Most messages per micro-batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Longest a message waits for its micro-batch, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub max_wait_ms: u64,
    /// Messages delivered and not acked, for the consumer (when this worker creates it).
    #[arg(long, default_value_t = 1024)]
    pub max_ack_pending: i64,
    /// Seconds before an unacked message is delivered again (when this worker creates the
    /// consumer).
    #[arg(long, default_value_t = 30)]
    pub ack_wait_s: u64,
    /// Micro-batches scored at the same time (default: one per core, or `--threads`).
    #[arg(long)]
    pub in_flight: Option<usize>,
    /// Add word evidence to results.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: ConsumeArgs) -> anyhow::Result<Exit> {
    let classifier = args
        .model
        .load_shared(args.model.options().with_evidence(args.explain))?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let mut options = ConsumeOptions {
        url: args.nats,
        stream: args.stream,
        subject: args.subject,
        durable: args.durable,
        out_subject: args.out_subject,
        batch: args.batch,
        max_wait: Duration::from_millis(args.max_wait_ms),
        max_ack_pending: args.max_ack_pending,
        ack_wait: Duration::from_secs(args.ack_wait_s),
        read: args.read.options(None),
        ..Default::default()
    };
    if let Some(n) = args.in_flight.or(args.model.threads) {
        options.in_flight = n;
    }
    let runtime = super::io_runtime()?;
    note!(
        "patrol: consuming {} ({} on {}) as {}, results to {}",
        options.subject,
        options.stream,
        options.url,
        options.durable,
        options.out_subject
    );
    let ConsumeSummary { scored, errors } =
        runtime.block_on(patrol::consume::run(classifier, options, stop))?;
    note!("patrol: consume scored {scored}, errors {errors}");
    Ok(Exit::from_errors(errors))
}
