//! The vrrp-agent command line: `check` validates a configuration, `run` is the daemon,
//! `status` asks a running daemon through its control socket.

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
    /// Run the daemon in the foreground: elections, VIPs, the XDP data plane. SIGHUP reloads
    /// the file (a bad one is refused and the running configuration stays); SIGTERM/SIGINT
    /// send priority-0 adverts, remove the VIPs, detach XDP and exit 0.
    Run {
        /// The YAML configuration file.
        #[arg(short = 'c', long = "config", value_name = "FILE")]
        config: PathBuf,
    },
    /// Show every instance's state, priorities, Master, last transition and counters.
    Status {
        /// Print the JSON document instead of the table.
        #[arg(long)]
        json: bool,
        /// The daemon's control socket.
        #[arg(short = 's', long = "socket", value_name = "PATH", default_value = vrrp_agent::control::DEFAULT_SOCKET)]
        socket: PathBuf,
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

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    // One thread: the daemon is one event loop; scripts run as child processes.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn run(path: &std::path::Path) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let res = runtime()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(vrrp_agent::daemon::run(path)));
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("vrrp-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn status(socket: &std::path::Path, json: bool) -> ExitCode {
    let res = runtime()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(vrrp_agent::control::query(socket, "status")));
    let text = match res {
        Ok(t) => t,
        Err(e) => {
            eprintln!("vrrp-agent status: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        print!("{text}");
        return ExitCode::SUCCESS;
    }
    match serde_json::from_str::<vrrp_agent::daemon::status::Status>(&text) {
        Ok(s) => {
            print!("{}", s.render());
            ExitCode::SUCCESS
        }
        Err(_) => {
            eprintln!("vrrp-agent status: {}", text.trim());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config, json } => check(&config, json),
        Command::Run { config } => run(&config),
        Command::Status { json, socket } => status(&socket, json),
    }
}
