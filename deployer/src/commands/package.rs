//! `deployer package`: the stage as a CloudFormation or SAM template, with the bootstrap zips it names.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::CommandError;
use crate::project::bootstrap_arg::Bootstraps;
use crate::project::builder::Builder;
use crate::project::code::{self, CodeSource};
use crate::project::plan::{Stage, load_stage, project_dir};
use crate::template::{self, Format, guide};

/// What `deployer package` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOptions {
    pub app: PathBuf,
    pub stage: String,
    pub format: Format,
    /// Where to write; by default `.chalice-rs/package/<stage>/` beside the app file.
    pub out: Option<PathBuf>,
    /// Prebuilt bootstraps instead of a release build.
    pub bootstrap: Option<Bootstraps>,
    /// The build target instead of `<arch>-unknown-linux-musl`.
    pub target: Option<String>,
    /// The build tool (`None`: chosen as `deploy` chooses it).
    pub builder: Option<Builder>,
}

/// The default output directory: `.chalice-rs/package/<stage>/` beside the app file.
pub fn default_out_dir(app: &Path, stage: &str) -> PathBuf {
    project_dir(app).join(".chalice-rs/package").join(stage)
}

/// Builds (or reads) the bootstrap as `deploy` does, writes the template and the zips, and prints what
/// to run next to `out`.
pub fn run(opts: &PackageOptions, out: &mut dyn Write) -> Result<(), CommandError> {
    let Stage { plan, manifest } = load_stage(&opts.app, &opts.stage)?;
    let source = match &opts.bootstrap {
        Some(bootstraps) => CodeSource::Prebuilt {
            bootstraps: bootstraps.clone(),
            serves: manifest,
        },
        None => CodeSource::Build {
            project_dir: project_dir(&opts.app),
            target: opts.target.clone(),
            builder: opts.builder,
        },
    };
    let shipped = code::package(&plan, &source)?;
    // As `deploy`: the plan the build of the shipped code wrote, so functions and binary match.
    let plan = shipped.plan.clone().unwrap_or(plan);
    let rendered = template::render(&plan, opts.format, &shipped.code)?;
    let dir = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out_dir(&opts.app, &plan.stage));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(opts.format.file_name()), &rendered.text)?;
    for c in &rendered.code {
        let zip = shipped.zips.get(&c.key).ok_or_else(|| {
            CommandError::Usage(format!("no zip was built for {}", c.architecture))
        })?;
        std::fs::write(dir.join(&c.file_name), zip)?;
    }
    let files: Vec<&str> = rendered.code.iter().map(|c| c.file_name.as_str()).collect();
    writeln!(
        out,
        "Wrote {} and {} to {} (app `{}`, stage `{}`).\n",
        opts.format.file_name(),
        files.join(", "),
        dir.display(),
        plan.app,
        plan.stage
    )?;
    let stack = guide::stack_name(&plan.app, &plan.stage);
    out.write_all(guide::instructions(&rendered, &dir, &stack).as_bytes())?;
    Ok(())
}
