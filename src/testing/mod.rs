//! Tools for tests, fuzzing and benchmarks, not part of the library's API: the fuzzing
//! harnesses, the untrained placeholder model, the faulty-dump generator, a Hub cache reader,
//! and handles on the engine's stages for timing them one by one.

pub mod fuzzing;
mod gen;
mod placeholder;

use std::path::{Path, PathBuf};

pub use gen::{write_dump, DumpStats};
pub use placeholder::{char_vocab, write_placeholder};

use crate::engine::Classifier;
use crate::error::Result;
use crate::model::Batch;
pub use crate::text::SegmentScratch;

/// Fetches `spec` from (or, offline, only from) the Hub cache at `cache_dir`; returns the
/// snapshot directory.
pub fn hub_fetch_from(cache_dir: &Path, spec: &str, offline: bool) -> Result<PathBuf> {
    crate::model::fetch_from(cache_dir, spec, offline)
}

/// The stages of a loaded classifier, one at a time, for benchmarks.
pub struct Stages<'a> {
    classifier: &'a Classifier,
}

impl<'a> Stages<'a> {
    /// The stages of `classifier`.
    pub fn new(classifier: &'a Classifier) -> Self {
        Self { classifier }
    }

    /// Normalises one post.
    pub fn normalize(&self, text: &str) -> String {
        self.classifier.preparer().normalizer().normalize_str(text)
    }

    /// Prepares one post on this thread: normalise, segment, tokenize; returns its ids.
    pub fn prepare(&self, text: &str, scratch: &mut SegmentScratch) -> Result<Vec<u32>> {
        let p = self.classifier.preparer().prepare(text, false, scratch)?;
        Ok(p.tokens.ids)
    }

    /// Prepares posts in parallel; returns their ids.
    pub fn prepare_all<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Result<Vec<Vec<u32>>> {
        let prepared = self.classifier.preparer().prepare_all(texts, false)?;
        Ok(prepared.into_iter().map(|p| p.tokens.ids).collect())
    }

    /// Scores `seqs` as one batch with the model alone (no batching policy).
    pub fn score_batch(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.classifier.model_scores(&Batch::new(seqs))
    }
}

/// The Lindera words of `text`, for benchmarks of segmentation alone.
pub fn segment(text: &str, scratch: &mut SegmentScratch) -> Result<usize> {
    use std::sync::OnceLock;
    static SEGMENTER: OnceLock<crate::text::Segmenter> = OnceLock::new();
    let seg = match SEGMENTER.get() {
        Some(s) => s,
        None => {
            let s = crate::text::Segmenter::ipadic()?;
            SEGMENTER.get_or_init(|| s)
        }
    };
    let mut out = Vec::new();
    seg.words_into(text, scratch, &mut out)?;
    Ok(out.len())
}

/// The CPU model and the SIMD features this process may use, for benchmark reports.
pub fn cpu_description() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name").unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let kernel_flags = field("flags").unwrap_or_default();
    let mut flags: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! detect {
            ($($f:tt),*) => {
                $(if std::arch::is_x86_feature_detected!($f) { flags.push($f); })*
            };
        }
        detect!(
            "avx2",
            "fma",
            "f16c",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni",
            "avx512bf16",
            "avxvnni"
        );
        // AMX detection is not stable in std; the kernel's list says whether tiles are usable.
        for amx in ["amx_int8", "amx_bf16"] {
            if kernel_flags.split_whitespace().any(|f| f == amx) {
                flags.push(amx);
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            flags.push("neon");
        }
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            flags.push("dotprod");
        }
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "cpu: {model}; {threads} threads; features: {}",
        flags.join(" ")
    )
}
