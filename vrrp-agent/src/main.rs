//! The vrrp-agent command line: `check` validates a configuration (more subcommands join
//! [`Command`] as they are built: `run`, `status`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vrrp_agent::config::Config;

/// eBPF/XDP-accelerated VRRP agent (RFC 5798 / RFC 3768), configured in YAML.
#[derive(Debug, Parser)]
#[command(name = "vrrp-agent", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a configuration file and print the effective configuration (defaults filled
    /// in) on stdout, warnings on stderr. Exit 0 if valid, 1 with every error otherwise.
    Check {
        /// The YAML configuration file.
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config: PathBuf,
        /// Print the effective configuration as JSON instead of YAML.
        #[arg(long)]
        json: bool,
    },
}

fn check(path: &std::path::Path, json: bool) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            for w in config.warnings() {
                eprintln!("warning: {w}");
            }
            if json {
                println!("{}", config.to_json());
            } else {
                print!("{}", config.to_yaml());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in e.lines() {
                eprintln!("error: {line}");
            }
            eprintln!(
                "{}: {} error(s); the configuration is not valid",
                path.display(),
                e.errors.len()
            );
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config, json } => check(&config, json),
    }
}
