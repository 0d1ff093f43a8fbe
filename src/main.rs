use std::process::ExitCode;

fn main() -> ExitCode {
    rebranch::cli::run(std::env::args_os())
}
