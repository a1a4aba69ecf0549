//! Thin entry point: parse the command line, run it, exit with a clear line
//! on failure.

use clap::Parser;
use switchboard::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("switchboard: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchboard: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
