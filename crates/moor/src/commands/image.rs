//! `moor image set` and `moor promote`: the CI step that writes new image references into the
//! manifests in Git, as one commit, pushed with retries when the branch moves meanwhile.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Result, bail};
use moor_git::redact_url;
use moor_image::{
    Author, DEFAULT_PROMOTE_MESSAGE, DEFAULT_SET_MESSAGE, Edits, ImageError, ImageRef, ImageUpdate,
    PushOptions, PushOutcome, collect_images, commit_and_push, plan_dir, unified_diff,
};

use crate::cli::image::{CommitArgs, ImageArgs, ImageCommand, PromoteArgs, SetArgs};

pub async fn run(args: ImageArgs) -> Result<u8> {
    match args.command {
        ImageCommand::Set(a) => set(a).await,
    }
}

fn push_options(args: &CommitArgs, message: String, vars: &[(&str, &str)]) -> PushOptions {
    PushOptions {
        branch: args.branch.clone(),
        credentials: args.git.credentials(),
        author: Author {
            name: args.author_name.clone(),
            email: args.author_email.clone(),
        },
        message_template: message,
        vars: vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        max_attempts: args.attempts.max(1),
        dry_run: args.dry_run,
        ..PushOptions::new(args.repo.clone())
    }
}

/// `NS:POLICY=REF` arguments.
fn parse_policies(args: &[String]) -> Result<BTreeMap<String, ImageRef>> {
    let mut policies = BTreeMap::new();
    for arg in args {
        let Some((policy, reference)) = arg.split_once('=') else {
            bail!("invalid --policy {arg:?}: expected NS:POLICY=REF");
        };
        if policy.trim().is_empty() {
            bail!("invalid --policy {arg:?}: the policy is empty");
        }
        policies.insert(policy.trim().to_string(), ImageRef::parse(reference)?);
    }
    Ok(policies)
}

async fn set(args: SetArgs) -> Result<u8> {
    // Bad input fails before anything is cloned.
    let images = args
        .images
        .iter()
        .map(|a| ImageUpdate::parse(a))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, u) in images.iter().enumerate() {
        if images[..i].iter().any(|v| v.name == u.name) {
            bail!("image {} is given twice", u.name);
        }
    }
    let policies = parse_policies(&args.policies)?;
    if images.is_empty() && policies.is_empty() {
        bail!("nothing to set: give one or more NAME=NEWREF (or --policy NS:POLICY=REF)");
    }
    let edits = Edits { images, policies };
    let path = args.path.clone();
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| DEFAULT_SET_MESSAGE.to_string());
    let opts = push_options(&args.commit, message, &[("path", &path)]);
    let out = commit_and_push(&opts, |root| {
        let plan = plan_dir(root, &path, &edits)?;
        let missing = plan.unmatched(&edits);
        if !missing.is_empty() {
            return Err(ImageError::NotUsed {
                names: missing,
                path: path.clone(),
                root_kustomization: plan.root_kustomization.is_some(),
            });
        }
        Ok(plan.files)
    })
    .await?;
    report(&opts, &out, &format!("{path} already has these images"))
}

pub async fn promote(args: PromoteArgs) -> Result<u8> {
    for name in &args.names {
        ImageRef::parse_name(name)?;
    }
    let (from, to) = (args.from.clone(), args.to.clone());
    if from.trim_end_matches('/') == to.trim_end_matches('/') {
        bail!("--from and --to are the same path ({from})");
    }
    let message = args
        .message
        .clone()
        .unwrap_or_else(|| DEFAULT_PROMOTE_MESSAGE.to_string());
    let opts = push_options(
        &args.commit,
        message,
        &[("path", &to), ("from", &from), ("to", &to)],
    );
    let names = args.names.clone();
    let out = commit_and_push(&opts, |root| {
        let edits = Edits::images(collect_images(root, &from, &names)?);
        // --to must exist and parse before anything else is said about it.
        let plan = plan_dir(root, &to, &edits)?;
        let missing = plan.unmatched(&edits);
        if !missing.is_empty() {
            return Err(ImageError::NotUsed {
                names: missing,
                path: to.clone(),
                root_kustomization: plan.root_kustomization.is_some(),
            });
        }
        Ok(plan.files)
    })
    .await?;
    report(
        &opts,
        &out,
        &format!("{to} already has the images of {from}"),
    )
}

/// What happened, on stdout: the changes and the commit, the diff of a dry run, or that there
/// was nothing to do.
fn report(opts: &PushOptions, out: &PushOutcome, unchanged: &str) -> Result<u8> {
    let url = redact_url(&opts.repo_url);
    let mut stdout = std::io::stdout().lock();
    if out.files.is_empty() {
        writeln!(
            stdout,
            "nothing to change: {unchanged} (branch {} of {url}); no commit",
            out.branch
        )?;
        return Ok(0);
    }
    if opts.dry_run {
        let color = super::use_color(crate::cli::Color::Auto);
        for f in &out.files {
            let diff = unified_diff(f);
            let diff = if color {
                moor_diff::colorize(&diff)
            } else {
                diff
            };
            write!(stdout, "{diff}")?;
        }
        writeln!(
            stdout,
            "dry run: nothing committed or pushed (branch {} of {url} at {})",
            out.branch,
            short(&out.base)
        )?;
        return Ok(0);
    }
    for c in out.changes() {
        writeln!(
            stdout,
            "{}:{}: {}: {} -> {}",
            c.file.display(),
            c.line,
            c.image,
            c.old.as_deref().unwrap_or("(none)"),
            c.new
        )?;
    }
    let commit = out.commit.as_deref().unwrap_or_default();
    writeln!(
        stdout,
        "pushed {} to branch {} of {url}",
        short(commit),
        out.branch
    )?;
    if out.attempts > 1 {
        writeln!(
            stdout,
            "the branch moved meanwhile: the edit was re-applied on its new head ({} attempts)",
            out.attempts
        )?;
    }
    Ok(0)
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
