//! Refuses a scan whose outputs would destroy its inputs or each other: an output, error or
//! checkpoint path that is the same file as an input (same device and inode, through symlinks
//! too), or as another output.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file's identity on its device, when it exists.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The absolute path of a file that may not exist yet: its directory resolved, its name kept.
fn resolved(path: &Path) -> PathBuf {
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::canonicalize(dir)
        .map(|d| d.join(&name))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Checks `outputs` (each with its role, e.g. `--output`) against `inputs` (`-` is stdin) and
/// against each other, before anything is opened for writing.
pub fn check_paths(inputs: &[String], outputs: &[(&str, &Path)]) -> Result<()> {
    let files: Vec<(&str, (u64, u64))> = inputs
        .iter()
        .filter(|p| *p != "-")
        .filter_map(|p| identity(Path::new(p)).map(|id| (p.as_str(), id)))
        .collect();
    for (role, path) in outputs {
        if let Some(id) = identity(path) {
            if let Some((input, _)) = files.iter().find(|(_, i)| *i == id) {
                return Err(Error::Invalid(format!(
                    "{role} {} is the input {input}: writing it would destroy the input",
                    path.display()
                )));
            }
        }
    }
    for (i, (role_a, a)) in outputs.iter().enumerate() {
        for (role_b, b) in &outputs[i + 1..] {
            let same = match (identity(a), identity(b)) {
                (Some(x), Some(y)) => x == y,
                _ => resolved(a) == resolved(b),
            };
            if same {
                return Err(Error::Invalid(format!(
                    "{role_a} {} and {role_b} {} are the same file",
                    a.display(),
                    b.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_that_is_an_input_or_another_output_is_refused() {
        let dir = std::env::temp_dir().join(format!("patrol-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.jsonl");
        std::fs::write(&input, "{}\n").unwrap();
        let link = dir.join("link.jsonl");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&input, &link).unwrap();
        let inputs = vec![input.display().to_string()];
        let out = dir.join("out.jsonl");
        assert!(check_paths(&inputs, &[("--output", &input)]).is_err());
        assert!(check_paths(&inputs, &[("--errors", &link)]).is_err());
        assert!(check_paths(&inputs, &[("--output", &out), ("--errors", &out)]).is_err());
        let relative = dir.join(".").join("out.jsonl");
        assert!(check_paths(&inputs, &[("--output", &out), ("--checkpoint", &relative)]).is_err());
        assert!(check_paths(&inputs, &[("--output", &out), ("--errors", &dir.join("e"))]).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
