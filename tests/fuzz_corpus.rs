//! Replays the committed fuzz corpora (minimised from `cargo fuzz` runs) through the same
//! harnesses the fuzz targets drive.

fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let dir = std::path::Path::new("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        harness(&std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

#[test]
fn the_pipeline_corpus_replays() {
    assert!(replay("pipeline", patrol::testing::fuzzing::pipeline) > 10);
}

#[test]
fn the_readers_corpus_replays() {
    assert!(replay("readers", patrol::testing::fuzzing::readers) > 10);
}

#[test]
fn the_delimited_corpus_replays() {
    assert!(replay("delimited", patrol::testing::fuzzing::delimited) > 10);
}

#[test]
fn the_checkpoint_corpus_replays() {
    assert!(replay("checkpoint", patrol::testing::fuzzing::checkpoint) > 10);
}
