//! `ingressroute graph`: the delegation graph of the given manifests, with the Services,
//! Secrets and TLSCertificateDelegations the IngressRoutes reference, as DOT, Mermaid,
//! JSON or SVG.
//!
//! ```text
//!  Loaded manifests ──check::feed──▶ Pipeline::build ──▶ Dag ─┐
//!                                         Store::objects ─────┴▶ ObjectGraph (ingressroute-pipeline)
//!                                                                  │ --focus ns/name
//!                                                                  ▼
//!                                                     GraphFormat::render ──▶ stdout
//! ```
//!
//! The drawing is `ingressroute_pipeline::graph`'s, the same the controller serves at
//! `/debug/dag`. [`graph`] is pure; [`run`] does the I/O.
//!
//! Exit codes: 0 when the graph was printed (whatever the statuses in it); 2 when some
//! input cannot be read or parsed, or `--focus` names no object of the graph (nothing is
//! printed).

use std::io::{self, Read, Write};

use ingressroute_dag::{Config, ObjectRef};
use ingressroute_envoy::EnvoyConfig;
use ingressroute_pipeline::Pipeline;
use ingressroute_pipeline::graph::{GraphFormat, NotInGraph, ObjectGraph};

use crate::check::{self, InputArgs, Outcome};
use crate::load::Loaded;
use crate::output::{self, Severity};

/// The arguments of `ingressroute graph`.
#[derive(Debug, Clone, clap::Args)]
pub struct GraphArgs {
    /// What to read, and the DAG settings.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Dot)]
    pub output: Format,

    /// Draw only the part of the graph around this object (`namespace/name`, or `name`
    /// in `default`): what it references, directly or not, and what references it.
    #[arg(long, value_name = "NS/NAME", value_parser = parse_object)]
    pub focus: Option<ObjectRef>,
}

/// `namespace/name`, or `name` in the `default` namespace.
fn parse_object(text: &str) -> Result<ObjectRef, String> {
    let (namespace, name) = text.split_once('/').unwrap_or((ObjectRef::DEFAULT_NAMESPACE, text));
    if namespace.is_empty() || name.is_empty() || name.contains('/') {
        return Err(format!("expected NAMESPACE/NAME or NAME, got {text:?}"));
    }
    Ok(ObjectRef::new(namespace, name))
}

/// How `graph` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[non_exhaustive]
pub enum Format {
    /// Graphviz DOT (`dot -Tpng`).
    #[default]
    Dot,
    /// A Mermaid flowchart (GitHub renders it in Markdown).
    Mermaid,
    /// `{"nodes": [...], "edges": [...]}`.
    Json,
    /// An SVG picture, laid out without Graphviz.
    Svg,
}

impl From<Format> for GraphFormat {
    fn from(format: Format) -> Self {
        match format {
            Format::Dot => Self::Dot,
            Format::Mermaid => Self::Mermaid,
            Format::Json => Self::Json,
            Format::Svg => Self::Svg,
        }
    }
}

/// Why `graph` could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Standard output or standard error could not be written.
    #[error("cannot write the result")]
    Write(#[source] io::Error),
}

/// The graph of loaded manifests, built as `check` builds them (with `config`), limited
/// to the part around `focus` if given.
///
/// # Errors
///
/// [`NotInGraph`] when `focus` names no object of the graph.
pub fn graph(loaded: &Loaded, config: &Config, focus: Option<&ObjectRef>) -> Result<ObjectGraph, NotInGraph> {
    let mut pipeline = Pipeline::new(config.clone(), EnvoyConfig::default());
    check::feed(&mut pipeline, loaded);
    let dag = pipeline.build();
    let graph = ObjectGraph::new(pipeline.store().objects(), &dag);
    match focus {
        Some(object) => graph.focus(object),
        None => Ok(graph),
    }
}

/// Runs `ingressroute graph`: loads `args.input.paths` (reading `stdin` for `-`), prints
/// the graph on `stdout`, and input problems on `stderr` (`error:` lines, as `check`'s).
///
/// # Errors
///
/// [`Error::Write`] when `stdout` or `stderr` cannot be written. Problems with the input
/// are not errors: they are reported on `stderr` and give [`Outcome::InputError`].
pub fn run(
    args: &GraphArgs,
    stdin: impl Read,
    stdout: &mut impl Write,
    stderr: &mut impl Write,
) -> Result<Outcome, Error> {
    let Some(loaded) = check::load_or_refuse(&args.input.paths, stdin, stderr, "no graph").map_err(Error::Write)?
    else {
        return Ok(Outcome::InputError);
    };
    let graph = match graph(&loaded, &args.input.config(), args.focus.as_ref()) {
        Ok(graph) => graph,
        Err(error) => {
            writeln!(stderr, "{}", output::stderr_line(Severity::Error, &error)).map_err(Error::Write)?;
            return Ok(Outcome::InputError);
        }
    };
    let text = GraphFormat::from(args.output).render(&graph);
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::Write)?;
    Ok(Outcome::Valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_is_namespace_slash_name_or_a_name_in_default() {
        assert_eq!(parse_object("apps/web"), Ok(ObjectRef::new("apps", "web")));
        assert_eq!(parse_object("web"), Ok(ObjectRef::new("default", "web")));
        for bad in ["", "/web", "apps/", "a/b/c"] {
            assert!(parse_object(bad).is_err(), "{bad:?}");
        }
    }
}
