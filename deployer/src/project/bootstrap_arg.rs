//! The `--bootstrap` argument of every command that takes one (`plan`, `deploy`, `invoke`, `local`):
//! `FILE` (one binary, for a single-architecture app), or `ARCH=FILE[,ARCH=FILE]` (one per
//! architecture), repeatable.
//!
//! A value is `ARCH=FILE` when what precedes its first `=` is a plain word (letters, digits, `_`,
//! `-`); a file whose name looks like that is passed as `./x=y`.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chalice_codegen::model::Architecture;

/// Why `--bootstrap` values cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapArgError {
    #[error("--bootstrap: unknown architecture `{name}`; Lambda's are `x86_64` and `arm64`")]
    UnknownArchitecture { name: String },
    #[error(
        "--bootstrap {value}: `{piece}` is not ARCH=FILE (e.g. arm64=target/lambda/bootstrap/bootstrap)"
    )]
    NotArchFile { value: String, piece: String },
    #[error("--bootstrap: no file given{}", if value.is_empty() { String::new() } else { format!(" in `{value}`") })]
    NoFile { value: String },
    #[error("--bootstrap names two files for {architecture}")]
    Duplicate { architecture: &'static str },
    #[error(
        "--bootstrap FILE ships one binary for every architecture: give either one FILE, or \
         ARCH=FILE for each architecture (--bootstrap x86_64=FILE,arm64=FILE)"
    )]
    Mixed,
}

/// One `--bootstrap` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapArg {
    /// `FILE`.
    File(PathBuf),
    /// `ARCH=FILE[,ARCH=FILE...]`.
    PerArchitecture(Vec<(Architecture, PathBuf)>),
}

/// An architecture's name on the command line: Lambda's (`x86_64`, `arm64`), or `aarch64`.
fn architecture(name: &str) -> Option<Architecture> {
    match name {
        "x86_64" => Some(Architecture::X86_64),
        "arm64" | "aarch64" => Some(Architecture::Arm64),
        _ => None,
    }
}

/// Whether `prefix` (before a `=`) reads as an architecture's name rather than part of a path.
fn is_word(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FromStr for BootstrapArg {
    type Err = BootstrapArgError;

    fn from_str(value: &str) -> Result<BootstrapArg, BootstrapArgError> {
        let per_arch = value.split_once('=').is_some_and(|(arch, _)| is_word(arch));
        if !per_arch {
            if value.is_empty() {
                return Err(BootstrapArgError::NoFile {
                    value: String::new(),
                });
            }
            return Ok(BootstrapArg::File(PathBuf::from(value)));
        }
        let mut files = Vec::new();
        for piece in value.split(',') {
            let Some((name, file)) = piece.split_once('=') else {
                return Err(BootstrapArgError::NotArchFile {
                    value: value.to_owned(),
                    piece: piece.to_owned(),
                });
            };
            let arch =
                architecture(name).ok_or_else(|| BootstrapArgError::UnknownArchitecture {
                    name: name.to_owned(),
                })?;
            if file.is_empty() {
                return Err(BootstrapArgError::NoFile {
                    value: value.to_owned(),
                });
            }
            files.push((arch, PathBuf::from(file)));
        }
        Ok(BootstrapArg::PerArchitecture(files))
    }
}

/// Every `--bootstrap` given, combined: the prebuilt binaries a command uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstraps {
    /// One binary for every architecture (checked against each function's).
    One(PathBuf),
    /// A binary per architecture.
    PerArchitecture(Vec<(Architecture, PathBuf)>),
}

impl Bootstraps {
    /// Combines the values of a repeated `--bootstrap`; `None` when there are none.
    pub fn combine(args: Vec<BootstrapArg>) -> Result<Option<Bootstraps>, BootstrapArgError> {
        let mut one = None;
        let mut per_arch: Vec<(Architecture, PathBuf)> = Vec::new();
        for arg in args {
            match arg {
                BootstrapArg::File(path) => {
                    if one.replace(path).is_some() {
                        return Err(BootstrapArgError::Mixed);
                    }
                }
                BootstrapArg::PerArchitecture(files) => {
                    for (arch, path) in files {
                        if per_arch.iter().any(|(a, _)| *a == arch) {
                            return Err(BootstrapArgError::Duplicate {
                                architecture: arch.as_str(),
                            });
                        }
                        per_arch.push((arch, path));
                    }
                }
            }
        }
        match (one, per_arch.is_empty()) {
            (Some(_), false) => Err(BootstrapArgError::Mixed),
            (Some(path), true) => Ok(Some(Bootstraps::One(path))),
            (None, false) => Ok(Some(Bootstraps::PerArchitecture(per_arch))),
            (None, true) => Ok(None),
        }
    }

    /// The file for `architecture`, if one was given.
    pub fn for_architecture(&self, architecture: Architecture) -> Option<&Path> {
        match self {
            Bootstraps::One(path) => Some(path),
            Bootstraps::PerArchitecture(files) => files
                .iter()
                .find(|(a, _)| *a == architecture)
                .map(|(_, p)| p.as_path()),
        }
    }

    /// Whether a single file was given for every architecture.
    pub fn is_one(&self) -> bool {
        matches!(self, Bootstraps::One(_))
    }

    /// The architectures given files, in the order given (none for [`Bootstraps::One`]).
    pub fn architectures(&self) -> Vec<Architecture> {
        match self {
            Bootstraps::One(_) => Vec::new(),
            Bootstraps::PerArchitecture(files) => files.iter().map(|(a, _)| *a).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<BootstrapArg, BootstrapArgError> {
        v.parse()
    }

    fn combine(values: &[&str]) -> Result<Option<Bootstraps>, BootstrapArgError> {
        let args = values
            .iter()
            .map(|v| parse(v))
            .collect::<Result<Vec<_>, _>>()?;
        Bootstraps::combine(args)
    }

    #[test]
    fn a_plain_file() {
        for v in [
            "bootstrap",
            "target/lambda/bootstrap/bootstrap.zip",
            "./x86_64=odd",
            "/abs/path=with/equals",
            "a,b",
        ] {
            assert_eq!(parse(v), Ok(BootstrapArg::File(PathBuf::from(v))), "{v}");
        }
        assert_eq!(
            combine(&["bootstrap"]),
            Ok(Some(Bootstraps::One("bootstrap".into())))
        );
        assert_eq!(combine(&[]), Ok(None));
    }

    #[test]
    fn files_per_architecture_in_one_value_or_several() {
        let both = Some(Bootstraps::PerArchitecture(vec![
            (Architecture::Arm64, "a/bootstrap".into()),
            (Architecture::X86_64, "x/bootstrap.zip".into()),
        ]));
        assert_eq!(
            combine(&["arm64=a/bootstrap,x86_64=x/bootstrap.zip"]),
            Ok(both.clone())
        );
        assert_eq!(
            combine(&["arm64=a/bootstrap", "x86_64=x/bootstrap.zip"]),
            Ok(both)
        );
        assert_eq!(
            combine(&["aarch64=a"]),
            Ok(Some(Bootstraps::PerArchitecture(vec![(
                Architecture::Arm64,
                "a".into()
            )])))
        );
        let b = combine(&["x86_64=x"]).unwrap().unwrap();
        assert_eq!(
            b.for_architecture(Architecture::X86_64),
            Some(Path::new("x"))
        );
        assert_eq!(b.for_architecture(Architecture::Arm64), None);
        let one = Bootstraps::One("b".into());
        assert_eq!(
            one.for_architecture(Architecture::Arm64),
            Some(Path::new("b"))
        );
    }

    #[test]
    fn what_is_refused() {
        assert_eq!(
            parse("x86=bootstrap"),
            Err(BootstrapArgError::UnknownArchitecture { name: "x86".into() })
        );
        assert_eq!(
            parse("arm64=a,b"),
            Err(BootstrapArgError::NotArchFile {
                value: "arm64=a,b".into(),
                piece: "b".into()
            })
        );
        assert!(matches!(
            parse("arm64="),
            Err(BootstrapArgError::NoFile { .. })
        ));
        assert!(matches!(parse(""), Err(BootstrapArgError::NoFile { .. })));
        assert_eq!(
            combine(&["arm64=a", "aarch64=b"]),
            Err(BootstrapArgError::Duplicate {
                architecture: "arm64"
            })
        );
        assert_eq!(combine(&["a", "arm64=b"]), Err(BootstrapArgError::Mixed));
        assert_eq!(combine(&["a", "b"]), Err(BootstrapArgError::Mixed));
        let err = parse("x86=bootstrap").unwrap_err().to_string();
        assert!(err.contains("`x86_64` and `arm64`"), "{err}");
    }
}
