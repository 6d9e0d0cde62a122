//! Which tool builds the bootstrap for a target: plain `cargo build` when this machine can link it,
//! else `cargo zigbuild` (zig as the cross linker), or `cross build` (Docker) when asked.
//!
//! What is installed is asked through [`Probes`], so the choice is tested without the tools.

use std::fmt;
use std::process::{Command, Stdio};
use std::str::FromStr;

/// How to install cargo-zigbuild (both packages are on PyPI / crates.io).
pub const INSTALL_ZIGBUILD: &str = "pip install ziglang && cargo install cargo-zigbuild";

/// The tool that runs the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Builder {
    /// `cargo build`: the host's linker.
    #[default]
    Cargo,
    /// `cargo zigbuild`: zig links any Linux target (and glibc-versioned ones, `*-gnu.2.17`).
    Zigbuild,
    /// `cross build`: the build runs in a Docker image for the target.
    Cross,
}

impl Builder {
    /// The name `--builder` takes.
    pub fn name(self) -> &'static str {
        match self {
            Builder::Cargo => "cargo",
            Builder::Zigbuild => "zigbuild",
            Builder::Cross => "cross",
        }
    }
}

impl fmt::Display for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Builder {
    type Err = String;

    fn from_str(s: &str) -> Result<Builder, String> {
        match s {
            "cargo" => Ok(Builder::Cargo),
            "zigbuild" => Ok(Builder::Zigbuild),
            "cross" => Ok(Builder::Cross),
            other => Err(format!(
                "unknown builder `{other}`: cargo, zigbuild or cross"
            )),
        }
    }
}

/// Why no builder can build for a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuilderError {
    #[error(
        "cannot build for {target} on this {host} machine with plain cargo, and cargo-zigbuild is not \
         installed: {}, or pass --builder cross (Docker), or a prebuilt binary with --bootstrap FILE",
        install_hint(target, host, *target_missing)
    )]
    NoBuilder {
        target: String,
        host: String,
        /// rustup says the target's standard library is not installed.
        target_missing: bool,
    },
    #[error(
        "--builder zigbuild: cargo-zigbuild is not installed (`cargo zigbuild --version` failed): \
         install it with `{INSTALL_ZIGBUILD}`"
    )]
    ZigbuildMissing,
    #[error(
        "the Rust standard library for `{target}` is not installed (cargo zigbuild links with zig, but \
         the standard library comes from rustup): run `rustup target add {target}`"
    )]
    StdMissing { target: String },
}

/// What to install: the musl target when plain cargo would then link it, else cargo-zigbuild (and
/// the target's standard library when rustup says it is missing).
fn install_hint(target: &str, host: &str, missing: bool) -> String {
    let zigbuild = format!("install cargo-zigbuild (`{INSTALL_ZIGBUILD}`)");
    let add = format!("`rustup target add {}`", base_triple(target));
    if missing && cargo_links(target, Some(host), None) {
        format!("run {add} (plain cargo then builds it), or {zigbuild}")
    } else if missing {
        format!("{zigbuild} and run {add}")
    } else {
        zigbuild
    }
}

/// What is installed on this machine.
pub trait Probes {
    /// The host's target triple (`rustc -vV`), if known.
    fn host(&self) -> Option<String>;
    /// Whether rustup has the standard library for `target`; `None` without rustup.
    fn target_installed(&self, target: &str) -> Option<bool>;
    /// Whether `cargo zigbuild --version` succeeds.
    fn zigbuild(&self) -> bool;
}

/// The real probes: `rustc -vV`, `rustup target list --installed`, `cargo zigbuild --version`.
#[derive(Debug, Default)]
pub struct SystemProbes;

impl Probes for SystemProbes {
    fn host(&self) -> Option<String> {
        let out = Command::new("rustc").arg("-vV").output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .map(|h| h.trim().to_owned())
    }

    fn target_installed(&self, target: &str) -> Option<bool> {
        let out = Command::new("rustup")
            .args(["target", "list", "--installed"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == target),
        )
    }

    fn zigbuild(&self) -> bool {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        Command::new(cargo)
            .args(["zigbuild", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// `x86_64-unknown-linux-gnu` of `x86_64-unknown-linux-gnu.2.17` (zigbuild's glibc-versioned form).
pub fn base_triple(target: &str) -> &str {
    match target.split_once('.') {
        Some((base, _)) => base,
        None => target,
    }
}

/// Whether plain cargo on `host` links `target`: the host's own triple, or a musl target of the
/// host's architecture on Linux whose standard library is installed (or, without rustup, maybe:
/// then cargo is tried).
fn cargo_links(target: &str, host: Option<&str>, installed: Option<bool>) -> bool {
    let Some(host) = host else {
        return true;
    };
    if target == host {
        return true;
    }
    let arch = |t: &str| t.split('-').next().unwrap_or_default().to_owned();
    target.ends_with("-unknown-linux-musl")
        && host.contains("-linux-")
        && arch(target) == arch(host)
        && installed != Some(false)
}

/// The builder for `target`: the one `requested`, else plain cargo when this machine links the
/// target, else `cargo zigbuild` when installed; an error saying what to install otherwise.
pub fn choose(
    requested: Option<Builder>,
    target: &str,
    probes: &dyn Probes,
) -> Result<Builder, BuilderError> {
    let zigbuild = |probes: &dyn Probes| {
        let base = base_triple(target);
        if probes.target_installed(base) == Some(false) {
            return Err(BuilderError::StdMissing {
                target: base.to_owned(),
            });
        }
        Ok(Builder::Zigbuild)
    };
    match requested {
        Some(Builder::Zigbuild) if !probes.zigbuild() => Err(BuilderError::ZigbuildMissing),
        Some(Builder::Zigbuild) => zigbuild(probes),
        Some(other) => Ok(other),
        None => {
            let host = probes.host();
            let versioned = base_triple(target) != target;
            let installed = probes.target_installed(target);
            if !versioned && cargo_links(target, host.as_deref(), installed) {
                Ok(Builder::Cargo)
            } else if probes.zigbuild() {
                zigbuild(probes)
            } else {
                Err(BuilderError::NoBuilder {
                    target: target.to_owned(),
                    host: host.unwrap_or_else(|| "unknown".to_owned()),
                    target_missing: probes.target_installed(base_triple(target)) == Some(false),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A machine with the given host, installed targets (`None`: no rustup) and zigbuild.
    struct Fake {
        host: &'static str,
        installed: Option<&'static [&'static str]>,
        zigbuild: bool,
    }

    impl Probes for Fake {
        fn host(&self) -> Option<String> {
            Some(self.host.to_owned())
        }
        fn target_installed(&self, target: &str) -> Option<bool> {
            self.installed.map(|list| list.contains(&target))
        }
        fn zigbuild(&self) -> bool {
            self.zigbuild
        }
    }

    const LINUX: &str = "x86_64-unknown-linux-gnu";
    const X86_MUSL: &str = "x86_64-unknown-linux-musl";
    const ARM_MUSL: &str = "aarch64-unknown-linux-musl";

    fn linux(installed: &'static [&'static str], zigbuild: bool) -> Fake {
        Fake {
            host: LINUX,
            installed: Some(installed),
            zigbuild,
        }
    }

    #[test]
    fn plain_cargo_when_the_host_links_the_target() {
        let m = linux(&[LINUX, X86_MUSL], false);
        assert_eq!(choose(None, X86_MUSL, &m), Ok(Builder::Cargo));
        assert_eq!(choose(None, LINUX, &m), Ok(Builder::Cargo));
        // Without rustup: try cargo.
        let no_rustup = Fake {
            host: LINUX,
            installed: None,
            zigbuild: false,
        };
        assert_eq!(choose(None, X86_MUSL, &no_rustup), Ok(Builder::Cargo));
    }

    #[test]
    fn zigbuild_for_another_architecture_or_a_missing_musl_target() {
        let m = linux(&[LINUX, X86_MUSL, ARM_MUSL], true);
        assert_eq!(choose(None, ARM_MUSL, &m), Ok(Builder::Zigbuild));
        assert_eq!(choose(None, X86_MUSL, &m), Ok(Builder::Cargo));
        assert_eq!(
            choose(None, "x86_64-unknown-linux-gnu.2.17", &m),
            Ok(Builder::Zigbuild)
        );
        // A Mac builds Linux targets with zigbuild, even its own architecture's.
        let mac = Fake {
            host: "aarch64-apple-darwin",
            installed: Some(&["aarch64-apple-darwin", ARM_MUSL]),
            zigbuild: true,
        };
        assert_eq!(choose(None, ARM_MUSL, &mac), Ok(Builder::Zigbuild));
        // zigbuild still needs rustup's standard library.
        let m = linux(&[LINUX], true);
        assert_eq!(
            choose(None, ARM_MUSL, &m),
            Err(BuilderError::StdMissing {
                target: ARM_MUSL.into()
            })
        );
        assert_eq!(
            choose(None, "x86_64-unknown-linux-gnu.2.17", &m),
            Ok(Builder::Zigbuild)
        );
    }

    #[test]
    fn without_zigbuild_the_error_says_what_to_install() {
        let m = linux(&[LINUX], false);
        let err = choose(None, ARM_MUSL, &m).unwrap_err().to_string();
        assert!(err.contains(INSTALL_ZIGBUILD), "{err}");
        assert!(
            err.contains("rustup target add aarch64-unknown-linux-musl"),
            "{err}"
        );
        assert!(
            err.contains("on this x86_64-unknown-linux-gnu machine"),
            "{err}"
        );
        assert!(err.contains("--builder cross"), "{err}");
        let err = choose(None, X86_MUSL, &m).unwrap_err().to_string();
        assert!(
            err.contains(
                "installed: run `rustup target add x86_64-unknown-linux-musl` (plain cargo then \
                 builds it), or install cargo-zigbuild"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_requested_builder_is_used_or_its_absence_named() {
        let none = linux(&[LINUX], false);
        assert_eq!(
            choose(Some(Builder::Cargo), ARM_MUSL, &none),
            Ok(Builder::Cargo)
        );
        assert_eq!(
            choose(Some(Builder::Cross), ARM_MUSL, &none),
            Ok(Builder::Cross)
        );
        let err = choose(Some(Builder::Zigbuild), ARM_MUSL, &none).unwrap_err();
        assert_eq!(err, BuilderError::ZigbuildMissing);
        assert!(err.to_string().contains(INSTALL_ZIGBUILD));
        let zig = linux(&[LINUX, X86_MUSL, ARM_MUSL], true);
        assert_eq!(
            choose(Some(Builder::Zigbuild), X86_MUSL, &zig),
            Ok(Builder::Zigbuild)
        );
        assert_eq!("cross".parse(), Ok(Builder::Cross));
        assert!("docker".parse::<Builder>().is_err());
    }
}
