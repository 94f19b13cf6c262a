//! Builds the IPADIC dictionary cache that `lindera-ipadic`'s build script reads from
//! `LINDERA_BUILD_DICTIONARY_CACHE_DIR`, so `embed-ipadic` needs no download.
//!
//! Usage: `ipadic-cache SRC_DIR OUT_DIR` where `SRC_DIR` holds IPADIC's CSV and `.def` files in UTF-8.

use std::path::PathBuf;

use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::metadata::Metadata;

/// The `metadata.json` shipped in `lindera-ipadic` 6.2.0; the cache is used only when they match.
const METADATA: &[u8] = include_bytes!("../ipadic-metadata.json");

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [src, out] = args.as_slice() else {
        eprintln!("usage: ipadic-cache SRC_DIR OUT_DIR");
        std::process::exit(2);
    };
    let result = Metadata::load(METADATA)
        .and_then(|metadata| DictionaryBuilder::new(metadata).build_dictionary(src, out));
    if let Err(err) = result {
        eprintln!("ipadic-cache: {err}");
        std::process::exit(1);
    }
}
