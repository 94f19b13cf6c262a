//! Model repositories on the Hugging Face Hub, fetched through `hf-hub` into its standard cache
//! (`$HF_HOME/hub`, else `~/.cache/huggingface/hub`). With `HF_HUB_OFFLINE=1` only the cache is
//! read and nothing touches the network.

use std::path::{Path, PathBuf};

use hf_hub::{Repo, RepoType};

use crate::error::{Error, Result};

/// Looks a file up in the cache or on the Hub; the error says why it is not there.
type Getter = Box<dyn Fn(&str) -> std::result::Result<PathBuf, String>>;

/// Files tried, in order; the first two are required.
const REQUIRED: [&str; 2] = ["config.json", "model.safetensors"];
const OPTIONAL: [&str; 4] = [
    "patrol.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "vocab.txt",
];

/// Splits `org/name[@revision]` into the id and the revision (default `main`).
pub fn parse_repo(spec: &str) -> Result<(String, String)> {
    let (id, revision) = match spec.split_once('@') {
        Some((id, rev)) if !rev.is_empty() => (id, rev),
        Some(_) => return Err(Error::Invalid(format!("empty revision in {spec:?}"))),
        None => (spec, "main"),
    };
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() != 2
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(Error::Invalid(format!(
            "{spec:?} is not a Hub repo id of the form org/name[@revision]"
        )));
    }
    Ok((id.to_string(), revision.to_string()))
}

/// True when `HF_HUB_OFFLINE` asks for cache-only operation.
pub fn offline_from_env() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// Fetches `spec` using the environment's cache location and offline setting; returns the
/// snapshot directory holding the model files.
pub fn fetch(spec: &str) -> Result<PathBuf> {
    let cache = hf_hub::Cache::from_env();
    fetch_from(cache.path(), spec, offline_from_env())
}

/// Fetches `spec` into (or, offline, only from) the cache at `cache_dir`.
pub fn fetch_from(cache_dir: &Path, spec: &str, offline: bool) -> Result<PathBuf> {
    let (id, revision) = parse_repo(spec)?;
    let repo = Repo::with_revision(id.clone(), RepoType::Model, revision.clone());
    let err = |reason: String| Error::Hub {
        repo: spec.to_string(),
        reason,
    };
    let get: Getter = if offline {
        let snapshot = cached_snapshot(cache_dir, &repo, &revision).ok_or_else(|| {
            err(format!(
                "not in the cache at {} and HF_HUB_OFFLINE is set",
                cache_dir.display()
            ))
        })?;
        Box::new(move |f| {
            let path = snapshot.join(f);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("not in the cached snapshot {}", snapshot.display()))
            }
        })
    } else {
        let api = hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(cache_dir.into()))
            .with_progress(false)
            .build()
            .map_err(|e| err(e.to_string()))?;
        let api_repo = api.repo(repo.clone());
        Box::new(move |f| api_repo.get(f).map_err(|e| e.to_string()))
    };
    let mut dir = None;
    for file in REQUIRED {
        match get(file) {
            Ok(path) => dir = path.parent().map(Path::to_path_buf),
            Err(_) if file == "model.safetensors" && get("pytorch_model.bin").is_ok() => {
                return Err(err(
                    "only pytorch_model.bin is published: pickle checkpoints are refused for \
                     safety; convert it to model.safetensors first"
                        .into(),
                ))
            }
            Err(cause) => return Err(err(format!("{file} could not be fetched: {cause}"))),
        }
    }
    let fetched: Vec<&str> = OPTIONAL.into_iter().filter(|f| get(f).is_ok()).collect();
    if !fetched.contains(&"tokenizer.json") && !fetched.contains(&"vocab.txt") {
        return Err(err(
            "neither tokenizer.json nor vocab.txt could be fetched".into()
        ));
    }
    dir.ok_or_else(|| err("no snapshot directory".into()))
}

/// The snapshot folder for `revision` in the cache: `refs/<revision>` names the commit, or the
/// revision is itself a commit hash with a snapshot.
fn cached_snapshot(cache_dir: &Path, repo: &Repo, revision: &str) -> Option<PathBuf> {
    let root = cache_dir.join(repo.folder_name());
    let commit = std::fs::read_to_string(root.join("refs").join(revision))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| revision.to_string());
    let snapshot = root.join("snapshots").join(commit);
    snapshot.is_dir().then_some(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repo_specs() {
        assert_eq!(
            parse_repo("org/name").unwrap(),
            ("org/name".into(), "main".into())
        );
        assert_eq!(
            parse_repo("org/name@v1.0").unwrap(),
            ("org/name".into(), "v1.0".into())
        );
        assert!(parse_repo("name").is_err());
        assert!(parse_repo("org/name@").is_err());
        assert!(parse_repo("../x").is_err());
    }
}
