//! The subcommands, each a straight line: load the source, then render, diff or sync.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use kube::{Client, Config};
use moor_apply::{Engine, ObjectResult, SyncOptions};
use moor_types::{ApplyOrder, Change, SyncOption};

use crate::cli::{
    ClusterArgs, Color, Command, ControllerArgs, DiffArgs, OutputFormat, RenderArgs, SyncArgs,
};
use crate::namespace::{self, Missing};
use crate::{output, source};

use crate::app;
mod image;

/// Runs a command; the value is the process exit code.
pub async fn run(cli: crate::cli::Cli) -> Result<u8> {
    match cli.command {
        Command::Render(a) => render(a).await,
        Command::Diff(a) => diff(a).await,
        Command::Sync(a) => sync(a).await,
        Command::App(a) => app::run(a).await,
        Command::Project(a) => crate::project::run(a).await,
        Command::Controller(a) => controller(a).await,
        Command::Ui(a) => crate::ui::server::run_local(a).await,
        Command::Image(a) => image::run(a).await,
        Command::Promote(a) => image::promote(a).await,
        Command::Install(a) => crate::install::install(a).await,
        Command::Uninstall(a) => crate::install::uninstall(a).await,
        Command::Version(a) => crate::install::version(a).await,
        Command::Completion(a) => completion(a),
        Command::Man(a) => man(a),
    }
}

async fn render(args: RenderArgs) -> Result<u8> {
    let loaded = source::load(&args.source, None).await?;
    let mut manifests = loaded.manifests;
    if !args.substitute.is_empty() {
        let vars: std::collections::BTreeMap<String, String> =
            args.substitute.iter().cloned().collect();
        if let Some(bad) = vars.keys().find(|k| !moor_render::valid_var_name(k)) {
            anyhow::bail!(
                "--substitute {bad:?}: a variable name is letters, digits and `_`, not starting with a digit"
            );
        }
        let limit = args.source.render_limits.max_render_bytes as u64;
        manifests = moor_render::substitute(&manifests, &vars, false, limit)?;
    }
    manifests.sort_by(ApplyOrder::cmp_manifests);
    let mut out = std::io::stdout().lock();
    out.write_all(output::yaml_stream(&manifests)?.as_bytes())?;
    Ok(0)
}

async fn diff(args: DiffArgs) -> Result<u8> {
    let (client, namespace) = connect(&args.cluster).await?;
    let mut loaded = source::load(&args.source, Some(&namespace)).await?;
    // With --create-namespace the diff shows the Namespace a sync would create.
    let missing = if args.create_namespace {
        Missing::Pretend
    } else {
        Missing::Refuse
    };
    namespace::prepare(&client, &mut loaded.manifests, &namespace, missing).await?;
    let mut opts = SyncOptions::new(&args.cluster.app, &namespace);
    opts.revision = loaded.revision.clone();
    let diffs = Engine::new(client).diff(loaded.manifests, &opts).await?;
    print_diffs(&diffs, args.color)?;
    Ok(if diffs.is_empty() { 0 } else { 1 })
}

/// Whether to colour stdout: `always`/`never` as asked; `auto` when stdout is a terminal and
/// NO_COLOR (https://no-color.org) is unset or empty.
pub(crate) fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The unified diffs, coloured when asked or when stdout is a terminal (see [`use_color`]).
pub(crate) fn print_diffs(diffs: &[moor_diff::ObjectDiff], color: Color) -> Result<()> {
    let color = use_color(color);
    let mut out = std::io::stdout().lock();
    for d in diffs {
        let text = if color {
            moor_diff::colorize(&d.unified)
        } else {
            d.unified.clone()
        };
        writeln!(out, "{text}")?;
    }
    Ok(())
}

/// The completion script of `args.shell`, from the clap definitions (so always current).
fn completion(args: crate::cli::CompletionArgs) -> Result<u8> {
    use clap::CommandFactory;
    let mut cmd = crate::cli::Cli::command();
    // Into a buffer first: clap_complete panics on a write error, e.g. a closed pipe (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "moor", &mut script);
    match std::io::stdout().write_all(&script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}

/// A man page per command and subcommand (`moor-app-sync.1`), from the clap definitions;
/// `scripts/gen-docs` writes them into docs/man and a test checks they are current.
fn man(args: crate::cli::ManArgs) -> Result<u8> {
    use clap::CommandFactory;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let cmd = crate::cli::Cli::command();
    clap_mangen::generate_to(cmd, &args.dir)
        .with_context(|| format!("cannot write man pages into {}", args.dir.display()))?;
    Ok(0)
}

async fn sync(args: SyncArgs) -> Result<u8> {
    // Refused before any cluster is contacted.
    let (replace, force, app_options) = app_sync_options(&args.sync_options)?;
    let (client, namespace) = connect(&args.cluster).await?;
    let mut loaded = source::load(&args.source, Some(&namespace)).await?;
    let mut opts = SyncOptions::new(&args.cluster.app, &namespace);
    opts.prune = args.prune;
    opts.dry_run = args.dry_run;
    opts.wait = args.wait;
    opts.timeout = args.timeout;
    opts.concurrency = args.concurrency.max(1);
    opts.revision = loaded.revision.clone();
    (opts.replace, opts.force) = (replace, force);
    opts.app_options = app_options;
    let progress_on = args.output == OutputFormat::Table && std::io::stderr().is_terminal();
    let progress = move |r: &ObjectResult| {
        if progress_on && r.change != Change::Unchanged {
            eprintln!("  {} {}", r.change, r.key);
        }
    };
    let missing = match (args.create_namespace, args.dry_run) {
        (false, _) => Missing::Refuse,
        (true, false) => Missing::Create,
        (true, true) => Missing::Pretend,
    };
    // Unknown sync options on objects are ignored, never silently.
    for w in moor_apply::sync_option_warnings(&[], &loaded.manifests) {
        eprintln!("warning: {w}");
    }
    // Before the engine's first write, so a missing namespace is reported once, not per object.
    let created = namespace::prepare(&client, &mut loaded.manifests, &namespace, missing).await?;
    let mut set = Engine::new(client)
        .sync(loaded.manifests, &opts, &progress)
        .await?;
    if let Some(row) = created {
        note_namespace(&mut set, row);
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&set)?)?,
        OutputFormat::Table => out.write_all(output::change_table(&set).as_bytes())?,
    }
    Ok(0)
}

/// `--sync-option`s as (Replace, Force, the options the engine reads per object: Prune, Delete,
/// PruneLast, PrunePropagationPolicy, Validate, SkipDryRunOnMissingResource...); an option
/// `moor sync` does not apply is refused rather than silently ignored.
fn app_sync_options(given: &[String]) -> Result<(bool, bool, Vec<SyncOption>)> {
    let (mut replace, mut force, mut rest) = (false, false, vec![]);
    for s in given {
        match SyncOption::parse(s) {
            SyncOption::Replace(b) => replace = b,
            SyncOption::Force(b) => force = b,
            SyncOption::CreateNamespace(_) => {
                anyhow::bail!("moor sync takes CreateNamespace=true as --create-namespace")
            }
            SyncOption::Unknown(other) => anyhow::bail!(
                "moor sync does not apply the sync option {other}; it takes the options of Argo \
                 CD it knows, e.g. Replace=true, PruneLast=true, PrunePropagationPolicy=orphan \
                 (an object's own options go in its sync-options annotation)"
            ),
            known => rest.push(known),
        }
    }
    Ok((replace, force, rest))
}

/// The namespace row of `--create-namespace`, first (it is created first): the one made outside
/// the engine, in place of the engine's own dry-run row of it.
fn note_namespace(set: &mut moor_apply::ChangeSet, row: ObjectResult) {
    set.objects.retain(|o| o.key != row.key);
    set.objects.insert(0, row);
}

/// A client configured like kubectl: --kubeconfig, else KUBECONFIG, else ~/.kube/config; --context.
pub(crate) async fn connect(args: &ClusterArgs) -> Result<(Client, String)> {
    let config = crate::kubeconfig::load(args.kubeconfig.as_deref(), args.context.clone()).await?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config).context("failed to create the Kubernetes client")?;
    Ok((client, namespace))
}

async fn controller(args: ControllerArgs) -> Result<u8> {
    // Settings first: a refused one fails at once, before any cluster is looked for.
    let min_poll = min_poll_interval(args.min_poll_interval)?;
    moor_controller::check_poll_interval(args.poll_interval, min_poll)?;
    let leader_election =
        (args.leader_elect || args.shards.is_some()).then(|| moor_controller::LeaderElection {
            lease_name: args.leader_election_id.clone(),
            identity: moor_controller::default_identity(),
            lease_duration: args.leader_election_lease_duration,
            renew_deadline: args.leader_election_renew_deadline,
            retry_period: args.leader_election_retry_period,
        });
    if let Some(le) = &leader_election {
        le.check().map_err(anyhow::Error::msg)?;
    }
    let config = match &args.kubeconfig {
        Some(path) => crate::kubeconfig::load(Some(path), args.context.clone()).await?,
        // Like kubectl, then in-cluster with the pod's ServiceAccount.
        None => Config::infer()
            .await
            .context("failed to find cluster credentials")?,
    };
    let cache_root = args.cache_dir.clone().unwrap_or_else(|| {
        moor_git::RepoCache::default_root()
            .parent()
            .map(Into::into)
            .unwrap_or_else(|| "/tmp/moor".into())
    });
    // Bound before the controller starts, so a taken address fails at once.
    let ui = match args.ui_addr {
        Some(addr) => {
            let mode = crate::ui::auth::Mode::Server;
            let ns = args.app_namespace.clone();
            let (bound, serve) = crate::ui::server::start(mode, config.clone(), addr, ns).await?;
            tracing::info!("serving the web UI on http://{bound}/");
            Some(serve)
        }
        None => None,
    };
    let opts = moor_controller::ControllerOptions {
        namespace: args.namespace,
        app_namespace: args.app_namespace,
        poll_interval: args.poll_interval,
        min_poll_interval: min_poll,
        webhook_addr: args.webhook_addr,
        metrics_addr: args.metrics_addr,
        webhook_limits: moor_server::WebhookLimits {
            max_body_bytes: args.webhook_max_body,
            max_in_flight: args.webhook_max_in_flight.into(),
            ..Default::default()
        },
        webhook: moor_server::WebhookConfig {
            github_secret: args.github_secret,
            gitlab_token: args.gitlab_token,
            generic_token: args.webhook_token,
        },
        argocd_compat: args.argocd_compat,
        concurrency: args.concurrency.max(1),
        cache_root,
        cache_gc: moor_controller::GcOptions {
            interval: args
                .cache_gc_interval
                .max(std::time::Duration::from_secs(1)),
            policy: moor_git::GcPolicy {
                min_idle: args.cache_gc_min_idle,
                // Sources skip a fetch within the poll interval: the repo must still be there.
                repo_min_idle: args.cache_gc_min_idle.max(args.poll_interval * 2),
                ..Default::default()
            },
        },
        adopt: !args.no_adopt,
        allowed_exec_commands: args.allow_exec_command,
        strict_projects: args.strict_projects,
        require_impersonation: args.require_impersonation,
        // The same timings rule the shard Leases; they were checked above.
        leader_election: leader_election.filter(|_| args.leader_elect),
        sharding: args.shards.as_ref().map(|_| moor_controller::Sharding {
            group: args.leader_election_id.clone(),
            identity: moor_controller::default_identity(),
            lease_duration: args.leader_election_lease_duration,
            renew_deadline: args.leader_election_renew_deadline,
            retry_period: args.leader_election_retry_period,
            by: match args.shard_by {
                crate::cli::ShardByArg::App => moor_controller::ShardBy::App,
                crate::cli::ShardByArg::Cluster => moor_controller::ShardBy::Cluster,
            },
        }),
        render: moor_controller::RenderPolicy {
            allow_remote_value_files: args.render_limits.allow_remote_value_files,
            allow_remote_bases: args.render_limits.allow_remote_bases,
            timeout: args.render_limits.render_timeout,
            max_bytes: args.render_limits.max_render_bytes as u64,
            max_objects: args.render_limits.max_render_objects,
            cache_bytes: args.render_cache_bytes,
        },
    };
    match ui {
        // Either ending ends the process: a controller without its UI, or the reverse, would
        // look alive while half of it is gone.
        Some(serve) => tokio::select! {
            r = moor_controller::run(config, opts) => r?,
            r = serve => r?,
        },
        None => moor_controller::run(config, opts).await?,
    }
    Ok(0)
}

/// `--min-poll-interval` may lower the floor (tests, demos), but never to a loop.
fn min_poll_interval(d: std::time::Duration) -> Result<std::time::Duration> {
    anyhow::ensure!(
        d >= std::time::Duration::from_secs(1),
        "--min-poll-interval {} is below 1s: the controller would fetch every repository in a loop",
        humantime::format_duration(d)
    );
    Ok(d)
}
