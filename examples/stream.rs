//! Streaming with the library: posts go in through a channel as they arrive, predictions come
//! back in input order, scored in micro-batches.
//!
//! Run: `cargo run --release --example stream`

use std::sync::Arc;
use std::time::Duration;

use patrol::run::stream::{Stream, StreamOptions};
use patrol::{Classifier, ClassifierOptions};

fn main() -> patrol::Result<()> {
    let classifier = Arc::new(Classifier::embedded(ClassifierOptions::default())?);
    let options = StreamOptions {
        max_batch: 16,
        max_wait: Duration::from_millis(10),
        ..Default::default()
    };
    // The tag (here a post number) comes back with each prediction; the error type is unused.
    let mut stream: Stream<usize, ()> = Stream::new(classifier, options);
    let sender = stream.sender();
    stream.close();
    let producer = std::thread::spawn(move || {
        let posts = [
            "簡単な荷物の受け取りで日給5万、詳細はDMで",
            "今日のアイスおいしい",
            "都内手押し🥦 在庫あり",
            "課題が殺しに来てる",
        ];
        for (i, text) in posts.iter().cycle().take(40).enumerate() {
            sender.send(Ok((i, (*text).into()))).expect("stream open");
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    for (i, p) in stream.receiver().iter().flatten() {
        println!("{i:>3} {:?}", p.labels);
    }
    producer.join().expect("producer");
    stream.finish()
}
