//! `deployer`: see `deployer --help`; the command line lives in `chalice_deployer::cli`.

fn main() -> std::process::ExitCode {
    chalice_deployer::cli::main()
}
