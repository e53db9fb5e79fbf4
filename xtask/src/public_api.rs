//! `cargo xtask public-api [--check]`: the public API of each library crate, one item a
//! line, committed under `public-api/<crate>.txt`, so that a change to it shows in review
//! and CI fails on one nobody regenerated.
//!
//! ```text
//!  cargo doc --workspace --no-deps --all-features      rustdoc JSON (target/doc/<crate>.json)
//!    RUSTDOC = a wrapper that sets RUSTC_BOOTSTRAP=1 ──▶ public_api::Builder (items, sorted)
//!    RUSTDOCFLAGS = -Z unstable-options                   │
//!                   --output-format json                  ▼
//!                                           public-api/<crate>.txt   (written, or --check: compared,
//!                                                                     the lines gone and added printed)
//! ```
//!
//! Why a snapshot and not `cargo semver-checks`: our crates are at 0.1.0 with no release
//! to compare against, and they change on purpose every week; semver-checks would compare
//! with a git revision and fail every deliberate break until a version bump, while a
//! snapshot lets the break land with its diff in the same commit. It also costs less here
//! (2 cores): CI would install semver-checks from source on every run (a large dependency
//! tree; not measured) and it checks the baseline revision's dependencies in a target
//! directory of its own, where this reuses what the `docs` step checked and adds only
//! rustdoc's JSON of our crates (about a minute cold, ten seconds warm, measured here).
//!
//! Why the wrapper: rustdoc JSON is unstable, so the stable toolchain needs
//! `RUSTC_BOOTSTRAP=1`; set for cargo as a whole it changes every dependency's fingerprint
//! and rebuilds them all (twice: once more for the next ordinary build), set for rustdoc
//! alone it rebuilds nothing. `--workspace` keeps the features of every dependency as the
//! other steps resolve them (documenting only the libraries would resolve them anew and
//! check a second copy of the dependency tree).
//!
//! The listing is the `public-api` crate's (signatures as rustdoc sees them, auto trait
//! impls included: losing `Send` is a break; blanket impls omitted: they follow from the
//! rest). Its version must read the JSON format this toolchain writes: a toolchain update
//! that changes [`rustdoc_types::FORMAT_VERSION`] fails here with a message saying so,
//! and `public-api` and `rustdoc-types` are bumped together in `xtask/Cargo.toml`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The library crates whose public API is kept, as `crate` names.
pub(crate) const LIBRARIES: [&str; 5] = [
    "ingressroute-api",
    "ingressroute-dag",
    "ingressroute-envoy",
    "ingressroute-xds",
    "ingressroute-pipeline",
];

/// Where the listings go, relative to the workspace root.
const DIR: &str = "public-api";

/// The command that rewrites the listings.
const FIX: &str = "cargo xtask public-api";

/// Writes the listings, or with `check` compares them with the committed ones and fails,
/// printing what differs.
pub(crate) fn run(root: &Path, check: bool) -> anyhow::Result<()> {
    let target = crate::target_dir(root);
    rustdoc_json(root, &target)?;
    let mut stale = Vec::new();
    for krate in LIBRARIES {
        let listing = listing(&target.join("doc").join(format!("{}.json", krate.replace('-', "_"))))?;
        let path = format!("{DIR}/{krate}.txt");
        let full = root.join(&path);
        if !check {
            std::fs::create_dir_all(root.join(DIR)).with_context(|| format!("cannot create {DIR}"))?;
            std::fs::write(&full, &listing).with_context(|| format!("cannot write {path}"))?;
            println!("wrote {path}");
            continue;
        }
        let committed = match std::fs::read_to_string(&full) {
            Ok(committed) => committed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {path}")),
        };
        if committed == listing {
            println!("{path} up to date");
        } else {
            print!(
                "{path} differs from the public API:\n{}",
                difference(&committed, &listing)
            );
            stale.push(path);
        }
    }
    if !stale.is_empty() {
        bail!(
            "the public API changed ({}); if that is intended, run `{FIX}` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}

/// Builds the rustdoc JSON of every workspace crate into `<target>/doc/`.
fn rustdoc_json(root: &Path, target: &Path) -> anyhow::Result<()> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(root)
        .output()
        .with_context(|| format!("cannot run {rustc}"))?;
    if !output.status.success() {
        bail!("{rustc} --print sysroot failed ({})", output.status);
    }
    let rustdoc = PathBuf::from(String::from_utf8(output.stdout)?.trim()).join("bin/rustdoc");
    let wrapper = target.join("xtask/rustdoc-json");
    std::fs::create_dir_all(target.join("xtask")).context("cannot create the xtask target directory")?;
    let script = format!("#!/bin/sh\nRUSTC_BOOTSTRAP=1 exec '{}' \"$@\"\n", rustdoc.display());
    std::fs::write(&wrapper, script).with_context(|| format!("cannot write {}", wrapper.display()))?;
    let mut permissions = std::fs::metadata(&wrapper)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions)?;

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("==> rustdoc JSON: {cargo} doc --workspace --no-deps --all-features");
    let status = Command::new(&cargo)
        .args(["doc", "--workspace", "--no-deps", "--all-features", "--quiet"])
        .env("RUSTDOC", &wrapper)
        // Warnings are the `docs` step's business, which runs rustdoc as users do.
        .env("RUSTDOCFLAGS", "-Z unstable-options --output-format json -A warnings")
        .current_dir(root)
        .status()
        .with_context(|| format!("cannot run {cargo}"))?;
    if !status.success() {
        bail!("cargo doc (rustdoc JSON) failed ({status})");
    }
    Ok(())
}

/// The public items of one crate's rustdoc JSON, one a line.
fn listing(json: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(json).with_context(|| format!("cannot read {}", json.display()))?;
    let format_version = serde_json::from_str::<serde_json::Value>(&text)?
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .with_context(|| format!("{} has no format_version", json.display()))?;
    if format_version != u64::from(rustdoc_types::FORMAT_VERSION) {
        bail!(
            "{} is rustdoc JSON format {format_version}, but xtask reads format {}: after a toolchain \
             update, bump `public-api` and `rustdoc-types` in xtask/Cargo.toml to versions that read it",
            json.display(),
            rustdoc_types::FORMAT_VERSION
        );
    }
    let api = public_api::Builder::from_rustdoc_json(json)
        .omit_blanket_impls(true)
        .build()
        .with_context(|| format!("cannot read the public API from {}", json.display()))?;
    let mut out = format!("# Generated by `{FIX}` from rustdoc JSON. Do not edit.\n");
    for item in api.items() {
        writeln!(out, "{item}")?;
    }
    Ok(out)
}

/// The lines of `old` that `new` lacks (`-`) and those it adds (`+`), each in its file's
/// order. The listings are sorted, so this is their whole difference.
fn difference(old: &str, new: &str) -> String {
    let (old_lines, new_lines): (HashSet<&str>, HashSet<&str>) = (old.lines().collect(), new.lines().collect());
    let mut out = String::new();
    for line in old.lines().filter(|line| !new_lines.contains(line)) {
        let _ = writeln!(out, "- {line}");
    }
    for line in new.lines().filter(|line| !old_lines.contains(line)) {
        let _ = writeln!(out, "+ {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_difference_names_the_lines_gone_and_added() {
        let old = "# header\npub fn a()\npub fn b()\n";
        let new = "# header\npub fn a()\npub fn b(x: u8)\npub fn c()\n";
        assert_eq!(difference(old, new), "- pub fn b()\n+ pub fn b(x: u8)\n+ pub fn c()\n");
        assert_eq!(difference(old, old), "");
    }
}
