//! `deployer new`: a new app crate, standalone, from the templates of [`crate::project::scaffold`];
//! then the next commands to run.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args};

use super::CommandError;
use crate::project::scaffold::{self, ChaliceSource, NewApp};

/// `deployer new NAME [--dir PATH] [--chalice-path PATH | --chalice-git URL [--rev REV] |
/// --chalice-version VER]`
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("chalice").args(["chalice_path", "chalice_git", "chalice_version"])))]
pub struct NewArgs {
    /// The app's name: the crate's name and `app NAME` in events.chalice (lowercase letters, digits,
    /// `-` and `_`, starting with a letter).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The directory to create the app in (default: ./NAME); it must not exist or be empty.
    #[arg(long, value_name = "PATH")]
    pub dir: Option<PathBuf>,
    /// Depend on the chalice-rs crates of this checkout (the directory holding runtime/ and codegen/).
    #[arg(long, value_name = "PATH")]
    pub chalice_path: Option<PathBuf>,
    /// Depend on the chalice-rs crates of this git repository.
    #[arg(long, value_name = "URL")]
    pub chalice_git: Option<String>,
    /// With --chalice-git: the commit, tag or branch to build (default: the repository's default branch).
    #[arg(long, value_name = "REV", requires = "chalice_git")]
    pub rev: Option<String>,
    /// Depend on this version of the chalice-rs crates from crates.io. Without any of these three, the
    /// app depends on the chalice-rs source this deployer was built from, while it is still there
    /// (`cargo install --path` or `--git`), else on crates.io at this deployer's version.
    #[arg(long, value_name = "VER")]
    pub chalice_version: Option<String>,
}

impl NewArgs {
    /// Where the chalice-rs crates come from.
    fn source(&self) -> ChaliceSource {
        if let Some(path) = &self.chalice_path {
            ChaliceSource::Path(path.clone())
        } else if let Some(url) = &self.chalice_git {
            ChaliceSource::Git {
                url: url.clone(),
                rev: self.rev.clone(),
            }
        } else if let Some(version) = &self.chalice_version {
            ChaliceSource::Version(version.clone())
        } else {
            ChaliceSource::default()
        }
    }
}

/// Creates the app and prints what was made and the next commands.
pub fn run(args: &NewArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    // The name first: its error is the likeliest, and says the most.
    scaffold::check_name(&args.name)?;
    let chalice = scaffold::resolve_source(args.source())?;
    let app = NewApp {
        name: args.name.clone(),
        dir: args
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&args.name)),
        chalice,
    };
    let created = scaffold::create(&app)?;
    let dir = shell_word(&created.dir);
    writeln!(
        out,
        "Created app `{}` in {dir}/ (chalice-rs crates from {}):",
        app.name,
        app.chalice.describe()
    )?;
    let handler = created.handler;
    for file in &created.files {
        let what = match *file {
            "Cargo.toml" => {
                "the crate: its `bootstrap` binary, chalice-runtime, chalice-codegen".into()
            }
            "build.rs" => "generates the `Handlers` trait from events.chalice at build time".into(),
            "events.chalice" => format!("the event sources: one schedule, `{handler}`"),
            "src/main.rs" => "`App`, implementing `Handlers`: one method per binding".into(),
            _ => String::new(),
        };
        writeln!(out, "  {}", format!("{file:<16}{what}").trim_end())?;
    }
    writeln!(out)?;
    writeln!(out, "Next:")?;
    writeln!(out, "  cd {dir}")?;
    writeln!(
        out,
        "  deployer check                         # validate events.chalice"
    )?;
    writeln!(
        out,
        "  deployer invoke {handler} --sample        # build the bootstrap, run `{handler}` on a sample event"
    )?;
    writeln!(
        out,
        "  deployer deploy                        # build for Lambda, show the plan, confirm, apply (AWS credentials)"
    )?;
    Ok(())
}

/// `path` as one shell word (quoted when it needs to be).
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./+:@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_quoted_for_the_shell_when_needed() {
        assert_eq!(shell_word(Path::new("orders")), "orders");
        assert_eq!(shell_word(Path::new("../apps/my-app")), "../apps/my-app");
        assert_eq!(shell_word(Path::new("my apps/o")), "'my apps/o'");
        assert_eq!(shell_word(Path::new("it's")), r"'it'\''s'");
    }
}
