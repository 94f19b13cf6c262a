//! The `patrol` command line: a thin layer over the library. Errors reach the user once, with
//! their chain, from here; a closed output pipe is not an error.

/// Writes a line to stderr, ignoring a stderr that cannot be written (`2>/dev/full`): a
/// message that cannot be shown must not turn into a panic.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod cli;

use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code.into(),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            note!("patrol: error: {e:#}");
            cli::Exit::Fatal.into()
        }
    }
}

/// True when any cause in the chain is a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<patrol::Error>()
                .is_some_and(patrol::Error::is_broken_pipe)
    })
}
