//! `moor`: render, diff and sync Kubernetes manifests from Git into a cluster.

mod app;
mod cli;
mod commands;
mod install;
mod kubeconfig;
mod namespace;
mod output;
mod project;
mod source;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose, cli.log_format);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Each cause once, even from libraries that repeat their cause in their message.
            eprintln!("error: {}", moor_types::error_chain(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8, format: cli::LogFormat) {
    // kube's client logs every 5xx answer as an error; moor reports it itself, naming the object.
    let default = match verbose {
        0 => "warn,kube_client::client::builder=off",
        1 => "info,kube=warn,kube_client::client::builder=off",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("MOOR_LOG").unwrap_or_else(|_| default.into());
    // Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).
    let ansi = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        cli::LogFormat::Json => fmt.json().init(),
        cli::LogFormat::Text => fmt.init(),
    }
}
