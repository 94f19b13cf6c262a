//! Load for `benches/scaleout.sh`: creates the posts and results streams, publishes posts, and
//! waits for their results.
//!
//! ```text
//! jetstream_load setup URL                 # streams POSTS (posts) and RESULTS (results, results.>)
//! jetstream_load publish URL FILE.jsonl N  # N messages, cycling through the file's lines
//! jetstream_load wait URL N                # until RESULTS holds N; prints seconds and messages/s
//! ```

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};

async fn setup(js: &jetstream::Context) -> Result<(), async_nats::Error> {
    for (name, subjects) in [
        ("POSTS", vec!["posts".to_string()]),
        ("RESULTS", vec!["results".into(), "results.>".into()]),
    ] {
        let _ = js.delete_stream(name).await;
        js.create_stream(stream::Config {
            name: name.into(),
            subjects,
            duplicate_window: Duration::from_secs(600),
            ..Default::default()
        })
        .await?;
    }
    Ok(())
}

async fn publish(js: &jetstream::Context, file: &str, n: usize) -> Result<(), async_nats::Error> {
    let lines: Vec<String> = std::fs::read_to_string(file)?
        .lines()
        .map(String::from)
        .collect();
    let mut acks = Vec::new();
    for i in 0..n {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("load-{i}").as_str());
        let body = lines[i % lines.len()].clone().into_bytes();
        acks.push(
            js.publish_with_headers("posts", headers, body.into())
                .await?,
        );
        if acks.len() >= 1000 {
            for a in acks.drain(..) {
                a.await?;
            }
        }
    }
    for a in acks {
        a.await?;
    }
    Ok(())
}

async fn wait(js: &jetstream::Context, n: u64) -> Result<(), async_nats::Error> {
    let start = Instant::now();
    let mut results = js.get_stream("RESULTS").await?;
    while results.info().await?.state.messages < n {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{seconds:.2} s, {:.1} messages/s", n as f64 / seconds);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), async_nats::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: jetstream_load setup URL | publish URL FILE N | wait URL N";
    let (command, url) = match (args.first(), args.get(1)) {
        (Some(c), Some(u)) => (c.as_str(), u.as_str()),
        _ => return Err(usage.into()),
    };
    let js = jetstream::new(async_nats::connect(url).await?);
    match (command, &args[2..]) {
        ("setup", []) => setup(&js).await,
        ("publish", [file, n]) => publish(&js, file, n.parse()?).await,
        ("wait", [n]) => wait(&js, n.parse()?).await,
        _ => Err(usage.into()),
    }
}
