//! `ingressroute diff OLD NEW`: what changes for Envoy, and in the IngressRoute statuses,
//! when the manifests of NEW replace those of OLD.
//!
//! ```text
//!  OLD ──load──▶ check::feed ──▶ Pipeline (build, translate_all) ──▶ Side ─┐
//!  NEW ──load──▶ check::feed ──▶ Pipeline (build, translate_all) ──▶ Side ─┴▶ compare
//!                                                                              │
//!                          Changes by section (statuses, virtual hosts, listeners,
//!                          clusters, secrets), each with its Effect ──▶ text | json
//! ```
//!
//! Both sides are translated exactly as `render` translates (the same pipeline calls and
//! the same default Envoy settings), and compared as Envoy resources: a change that
//! Envoy would not see is not a change, and one it would see always is, whatever the
//! manifests look like. Secrets are compared in full but shown by name only.
//!
//! Exit codes, as `diff` and `kubectl diff`: 0 no change, 1 changes, 2 when some input
//! cannot be read or parsed. With `--fail-on invalid`: 1 only when NEW makes an
//! IngressRoute invalid or orphaned (that was not, or did not exist), else 0.

mod compare;
mod output;

use std::io::{self, Read, Write};
use std::path::PathBuf;

use ingressroute_dag::{Config, CurrentStatus};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_envoy::json::{self, JsonError, Secrets};
use ingressroute_pipeline::Pipeline;

pub use compare::{Change, ChangeKind, Effect, Field, Section, Side, compare};
pub use output::{json as to_json, text as to_text};

use crate::check::{self, Outcome};
use crate::load::Loaded;

/// The arguments of `ingressroute diff`.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// Namespaces in which root IngressRoutes may be defined, comma-separated (default:
    /// any namespace); the same for both sides.
    #[arg(long, value_name = "NS1,NS2")]
    pub root_namespaces: Option<String>,

    /// The ingress class served, for both sides.
    #[arg(long, value_name = "NAME", default_value = ingressroute_api::DEFAULT_INGRESS_CLASS)]
    pub ingress_class: String,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,

    /// Exit 1 only for this kind of change (`invalid`: NEW makes an IngressRoute invalid
    /// or orphaned), 0 otherwise; the changes are printed all the same.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,

    /// The manifests as they are: a file or a directory (`-` for standard input).
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// The manifests as they will be: a file or a directory (`-` for standard input).
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
}

/// How `diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// A readable view grouped by virtual host.
    #[default]
    Text,
    /// `{"changes": [...], "summary": {...}}`.
    Json,
}

/// What `--fail-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum FailOn {
    /// NEW makes an IngressRoute invalid or orphaned.
    Invalid,
}

/// Why `diff` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resource could not be converted to JSON (a bug: every type we produce is known).
    #[error("cannot convert the resources to JSON")]
    Json(#[source] JsonError),
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// One side of a diff: the loaded manifests built and translated as `render` does them
/// (with `config` and the default Envoy settings), private keys kept for comparison.
///
/// # Errors
///
/// [`Error::Json`] if a resource cannot be converted, which would be a bug.
pub fn side(loaded: &Loaded, config: &Config) -> Result<Side, Error> {
    let mut pipeline = Pipeline::new(config.clone(), EnvoyConfig::default());
    check::feed(&mut pipeline, loaded);
    let _ = pipeline.build();
    let resources = pipeline.translate_all().unwrap_or_default();
    Ok(Side {
        resources: json::typed_resources(&resources, Secrets::Shown).map_err(Error::Json)?,
        statuses: pipeline.statuses(),
    })
}

/// Whether a change makes an IngressRoute invalid or orphaned: its status in NEW is not
/// `valid`, and was something else (or nothing) in OLD.
#[must_use]
pub fn makes_invalid(change: &Change) -> bool {
    change.effect == Effect::Status
        && change.kind != ChangeKind::Removed
        && change
            .fields
            .iter()
            .find(|f| f.path == "currentStatus")
            .and_then(|f| f.new.as_ref())
            .and_then(|v| v.as_str())
            .is_some_and(|s| s != CurrentStatus::Valid.as_str())
}

/// Runs `ingressroute diff`: loads OLD and NEW (standard input may be one of them),
/// prints the changes on `stdout` and input problems on `stderr`.
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written. Problems with the input
/// are reported on `stderr` and give [`Outcome::InputError`], with nothing on `stdout`.
pub fn run(
    args: &DiffArgs,
    mut stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    let stdin_text = if [&args.old, &args.new]
        .iter()
        .any(|p| p.as_os_str() == crate::load::STDIN)
    {
        let mut text = Vec::new();
        // An unreadable standard input is reported by the loader as any input error.
        let _ = stdin.read_to_end(&mut text);
        text
    } else {
        Vec::new()
    };
    let old =
        check::load_reporting(std::slice::from_ref(&args.old), stdin_text.as_slice(), stderr).map_err(Error::Write)?;
    let new =
        check::load_reporting(std::slice::from_ref(&args.new), stdin_text.as_slice(), stderr).map_err(Error::Write)?;
    if old.has_errors() || new.has_errors() {
        check::refuse(stderr, "no diff").map_err(Error::Write)?;
        return Ok(Outcome::InputError);
    }
    let config = check::config(args.root_namespaces.as_deref(), &args.ingress_class);
    let changes = compare(&side(&old, &config)?, &side(&new, &config)?);
    let text = match args.output {
        Format::Text => to_text(&changes),
        Format::Json => to_json(&changes),
    };
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    let fails = match args.fail_on {
        Some(FailOn::Invalid) => changes.iter().any(makes_invalid),
        None => !changes.is_empty(),
    };
    Ok(if fails { Outcome::Invalid } else { Outcome::Valid })
}

#[cfg(test)]
mod tests;
