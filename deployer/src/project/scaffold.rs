//! A new app crate (`deployer new`): its name checked as a crate name and as an `app` name, its
//! files rendered from the templates under `deployer/templates/`, written into a new or empty
//! directory (never over anything).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The version of the chalice-rs crates this deployer was built with: what a new app depends on by
/// default.
pub const CHALICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The new app's one handler (a `schedule` binding).
pub const HANDLER: &str = "hourly";

/// The files of a new app, relative to its directory, in the order they are written and listed.
pub const FILES: [&str; 5] = [
    "Cargo.toml",
    "build.rs",
    "events.chalice",
    "src/main.rs",
    ".gitignore",
];

/// The stage every app has; function names `<app>-<stage>-<handler>` must fit 64 characters in it.
const STAGE: &str = chalice_codegen::model::DEFAULT_STAGE;
/// AWS's limit on function and role names.
const MAX_FUNCTION_NAME: usize = 64;
/// crates.io's limit on crate names.
const MAX_CRATE_NAME: usize = 64;

/// Rust keywords (strict, reserved, 2018 and 2024): cargo refuses them as package names.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Names of Rust's own crates (a package so named would shadow them) and names Windows reserves for
/// devices (the directory could not be created there).
const RESERVED: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "test",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

const CARGO_TOML: &str = include_str!("../../templates/Cargo.toml.tmpl");
const BUILD_RS: &str = include_str!("../../templates/build.rs.tmpl");
const EVENTS_CHALICE: &str = include_str!("../../templates/events.chalice.tmpl");
const MAIN_RS: &str = include_str!("../../templates/main.rs.tmpl");
const GITIGNORE: &str = include_str!("../../templates/gitignore.tmpl");

/// Where the new app gets `chalice-runtime` and `chalice-codegen` from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChaliceSource {
    /// From the registry (crates.io), this version requirement.
    Version(String),
    /// From a chalice-rs checkout (the workspace root holding `runtime/` and `codegen/`).
    Path(PathBuf),
    /// From a git repository of chalice-rs, at a commit, tag or branch (`rev`), else its default
    /// branch.
    Git { url: String, rev: Option<String> },
}

impl Default for ChaliceSource {
    /// The chalice-rs source this deployer was built from (a checkout, or cargo's copy of a git
    /// repository for `cargo install --git`) while it is still there: its crates are the ones this
    /// deployer understands, published or not. Else crates.io, at this deployer's version.
    fn default() -> ChaliceSource {
        match built_from() {
            Some(root) => ChaliceSource::Path(root),
            None => ChaliceSource::Version(CHALICE_VERSION.to_owned()),
        }
    }
}

/// The workspace this deployer was built in, when it still holds `runtime/` and `codegen/` (a
/// deployer from crates.io was built from a packaged crate without them: `None`).
pub fn built_from() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    let has = |dir: &str| root.join(dir).join("Cargo.toml").is_file();
    (has("runtime") && has("codegen"))
        .then(|| root.canonicalize().ok())
        .flatten()
}

impl ChaliceSource {
    /// The dependency's value in `Cargo.toml` for the crate in directory `dir` of a checkout
    /// (`runtime` or `codegen`).
    fn dependency(&self, dir: &str) -> String {
        match self {
            ChaliceSource::Version(version) => toml_string(version),
            ChaliceSource::Path(root) => {
                format!(
                    "{{ path = {} }}",
                    toml_string(&root.join(dir).to_string_lossy())
                )
            }
            ChaliceSource::Git { url, rev: None } => format!("{{ git = {} }}", toml_string(url)),
            ChaliceSource::Git {
                url,
                rev: Some(rev),
            } => format!(
                "{{ git = {}, rev = {} }}",
                toml_string(url),
                toml_string(rev)
            ),
        }
    }

    /// How the dependency is described to the user.
    pub fn describe(&self) -> String {
        match self {
            ChaliceSource::Version(version) => format!("crates.io, version {version}"),
            ChaliceSource::Path(root) => format!("the checkout at {}", root.display()),
            ChaliceSource::Git { url, rev: None } => url.clone(),
            ChaliceSource::Git {
                url,
                rev: Some(rev),
            } => format!("{url} at {rev}"),
        }
    }
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApp {
    /// The crate's name, and the app's (`app NAME` in `events.chalice`).
    pub name: String,
    /// The app's directory: created, or an existing empty one.
    pub dir: PathBuf,
    /// Where the chalice-rs crates come from.
    pub chalice: ChaliceSource,
}

/// What was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// The app's directory, as given.
    pub dir: PathBuf,
    /// The files written, relative to `dir`.
    pub files: Vec<&'static str>,
    /// The app's one handler.
    pub handler: &'static str,
}

/// Why no app was created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name cannot be a crate's or an app's.
    #[error("invalid app name `{name}`: {reason}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
    InvalidName {
        name: String,
        reason: String,
        hint: Option<String>,
    },
    #[error(
        "{} already exists and is not empty: choose another NAME or --dir, or empty it (nothing was written)",
        dir.display()
    )]
    NotEmpty { dir: PathBuf },
    #[error("{} exists and is not a directory (nothing was written)", dir.display())]
    NotADirectory { dir: PathBuf },
    #[error(
        "{} is not a chalice-rs checkout: it has no {missing} (--chalice-path takes the directory holding \
         runtime/ and codegen/)",
        path.display()
    )]
    NotAChaliceCheckout {
        path: PathBuf,
        missing: &'static str,
    },
    #[error("{what} is empty")]
    EmptyValue { what: &'static str },
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The rendered `events.chalice` does not load: a bug in the template or in the name checks.
    #[error("the new app's events.chalice would not be valid:\n{diagnostics}")]
    InvalidAppFile { diagnostics: String },
}

impl ScaffoldError {
    fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ScaffoldError {
        let path = path.to_owned();
        move |source| ScaffoldError::Io {
            action,
            path,
            source,
        }
    }
}

/// Checks `name` as a cargo package name and as an `app` name: ASCII letters, digits, `-` and `_`,
/// starting with a letter, lowercase, not a Rust keyword or a reserved name, short enough that
/// `<name>-dev-<handler>` fits AWS's 64 characters.
pub fn check_name(name: &str) -> Result<(), ScaffoldError> {
    let invalid = |reason: String, hint: Option<String>| ScaffoldError::InvalidName {
        name: name.to_owned(),
        reason,
        hint,
    };
    let suggestion = suggest(name);
    let try_it = |s: &Option<String>| s.as_ref().map(|s| format!("try `{s}`"));
    let Some(first) = name.chars().next() else {
        return Err(invalid(
            "it is empty".to_owned(),
            Some("e.g. `deployer new orders`".to_owned()),
        ));
    };
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(invalid(
            format!(
                "`{c}` is not allowed: app names hold only ASCII letters, digits, `-` and `_` (they are \
                 the crate's name and prefix AWS resource names)"
            ),
            try_it(&suggestion),
        ));
    }
    if !first.is_ascii_alphabetic() {
        return Err(invalid(
            format!(
                "it starts with `{first}`: it must start with a letter (a crate name cannot start with a \
                 digit, an app name not with `-` or `_`)"
            ),
            try_it(&suggestion),
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid(
            "it has uppercase letters: crate names are lowercase by convention (and crates.io treats \
             `Foo` and `foo` as one)"
                .to_owned(),
            try_it(&suggestion),
        ));
    }
    if RUST_KEYWORDS.contains(&name) {
        return Err(invalid(
            "it is a Rust keyword, which cargo refuses as a package name".to_owned(),
            Some(format!("try `{name}-app`")),
        ));
    }
    if RESERVED.contains(&name) {
        return Err(invalid(
            "it is reserved (the name of one of Rust's own crates, or of a Windows device)"
                .to_owned(),
            Some(format!("try `{name}-app`")),
        ));
    }
    let longest = MAX_FUNCTION_NAME - STAGE.len() - HANDLER.len() - 2;
    let limit = longest.min(MAX_CRATE_NAME);
    if name.len() > limit {
        return Err(invalid(
            format!(
                "it is {} characters long: its functions are named `<app>-<stage>-<handler>`, at most \
                 {MAX_FUNCTION_NAME} characters (`{name}-{STAGE}-{HANDLER}` would be {})",
                name.len(),
                name.len() + STAGE.len() + HANDLER.len() + 2
            ),
            Some(format!(
                "choose a name of at most {limit} characters (and leave room for longer stage and \
                 handler names)"
            )),
        ));
    }
    Ok(())
}

/// A valid name close to `name`, when there is an obvious one.
fn suggest(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out
        .trim_start_matches(|c: char| !c.is_ascii_alphabetic())
        .trim_end_matches('-');
    (!out.is_empty() && out != name && check_name(out).is_ok()).then(|| out.to_owned())
}

/// The new app's files, `(path relative to its directory, contents)`, in [`FILES`] order.
pub fn render(app: &NewApp) -> Result<Vec<(&'static str, String)>, ScaffoldError> {
    check_name(&app.name)?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", &app.name)
            .replace("{{app}}", &app.name)
            .replace("{{handler}}", HANDLER)
            .replace("{{chalice_runtime}}", &app.chalice.dependency("runtime"))
            .replace("{{chalice_codegen}}", &app.chalice.dependency("codegen"))
    };
    let files = vec![
        (FILES[0], fill(CARGO_TOML)),
        (FILES[1], fill(BUILD_RS)),
        (FILES[2], fill(EVENTS_CHALICE)),
        (FILES[3], fill(MAIN_RS)),
        (FILES[4], fill(GITIGNORE)),
    ];
    // The name checks mirror codegen's rules; the app file itself is the proof.
    chalice_codegen::load("events.chalice", &files[2].1).map_err(|d| {
        ScaffoldError::InvalidAppFile {
            diagnostics: d.render(false),
        }
    })?;
    Ok(files)
}

/// Checks where the chalice-rs crates come from: a checkout must hold both crates (and is made
/// absolute, as the app lives elsewhere); versions, URLs and revisions must not be empty.
pub fn resolve_source(source: ChaliceSource) -> Result<ChaliceSource, ScaffoldError> {
    match source {
        ChaliceSource::Version(v) if v.trim().is_empty() => Err(ScaffoldError::EmptyValue {
            what: "--chalice-version",
        }),
        ChaliceSource::Git { url, .. } if url.trim().is_empty() => Err(ScaffoldError::EmptyValue {
            what: "--chalice-git",
        }),
        ChaliceSource::Git { rev: Some(rev), .. } if rev.trim().is_empty() => {
            Err(ScaffoldError::EmptyValue { what: "--rev" })
        }
        ChaliceSource::Path(path) => {
            for missing in ["runtime/Cargo.toml", "codegen/Cargo.toml"] {
                if !path.join(missing).is_file() {
                    return Err(ScaffoldError::NotAChaliceCheckout { path, missing });
                }
            }
            let absolute = fs::canonicalize(&path).map_err(ScaffoldError::io("read", &path))?;
            Ok(ChaliceSource::Path(absolute))
        }
        other => Ok(other),
    }
}

/// Creates the app: checks the name and the directory (created, or existing and empty), then writes
/// every file, none over an existing one.
pub fn create(app: &NewApp) -> Result<Created, ScaffoldError> {
    let files = render(app)?;
    let dir = &app.dir;
    match fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => {
            return Err(ScaffoldError::NotADirectory { dir: dir.clone() });
        }
        Ok(_) => {
            let mut entries = fs::read_dir(dir).map_err(ScaffoldError::io("read", dir))?;
            if entries.next().is_some() {
                return Err(ScaffoldError::NotEmpty { dir: dir.clone() });
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(ScaffoldError::io("create", dir))?;
        }
        Err(e) => return Err(ScaffoldError::io("read", dir)(e)),
    }
    for (relative, contents) in &files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(ScaffoldError::io("create", parent))?;
        }
        // `create_new`: never over a file, even one that appeared since the check.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(ScaffoldError::io("create", &path))?;
        file.write_all(contents.as_bytes())
            .map_err(ScaffoldError::io("write", &path))?;
    }
    Ok(Created {
        dir: dir.clone(),
        files: files.iter().map(|(path, _)| *path).collect(),
        handler: HANDLER,
    })
}

/// A TOML basic string holding `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str, dir: &Path) -> NewApp {
        NewApp {
            name: name.to_owned(),
            dir: dir.to_owned(),
            chalice: ChaliceSource::default(),
        }
    }

    fn reason(name: &str) -> String {
        match check_name(name) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("`{name}` should be refused"),
        }
    }

    #[test]
    fn names_that_are_crates_and_apps() {
        for ok in ["orders", "my-app", "my_app", "a1", "x", &"a".repeat(53)] {
            assert!(check_name(ok).is_ok(), "{ok}: {:?}", check_name(ok));
        }
    }

    #[test]
    fn bad_names_say_why_and_suggest() {
        assert!(reason("").contains("it is empty"));
        let e = reason("my app");
        assert!(e.contains("` ` is not allowed"), "{e}");
        assert!(e.contains("try `my-app`"), "{e}");
        let e = reason("1app");
        assert!(e.contains("it starts with `1`"), "{e}");
        assert!(e.contains("try `app`"), "{e}");
        assert!(reason("-x").contains("starts with `-`"));
        assert!(reason("_x").contains("starts with `_`"));
        let e = reason("MyApp");
        assert!(e.contains("uppercase"), "{e}");
        assert!(e.contains("try `myapp`"), "{e}");
        let e = reason("async");
        assert!(e.contains("Rust keyword"), "{e}");
        assert!(e.contains("try `async-app`"), "{e}");
        assert!(reason("std").contains("reserved"));
        assert!(reason("ordérs").contains("`é` is not allowed"));
        let e = reason(&"a".repeat(54));
        assert!(e.contains("at most 64 characters"), "{e}");
        assert!(e.contains("at most 53 characters"), "{e}");
    }

    #[test]
    fn every_valid_name_makes_a_valid_app_file() {
        let dir = Path::new("unused");
        for name in ["orders", "my-app", "my_app", &"a".repeat(53)] {
            let files = render(&app(name, dir)).unwrap();
            let events = &files[2].1;
            assert!(events.contains(&format!("app {name}\n")), "{events}");
            let model = chalice_codegen::load("events.chalice", events)
                .unwrap_or_else(|d| panic!("{}", d.render(false)));
            assert_eq!(model.app, name);
        }
    }

    #[test]
    fn by_default_the_source_this_deployer_was_built_from() {
        // Built in this workspace: its runtime/ and codegen/ are there.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .canonicalize()
            .unwrap();
        assert_eq!(ChaliceSource::default(), ChaliceSource::Path(root));
    }

    #[test]
    fn dependencies_by_version_path_or_git() {
        let dir = Path::new("unused");
        let cargo = |chalice: ChaliceSource| {
            let mut a = app("orders", dir);
            a.chalice = chalice;
            render(&a).unwrap().remove(0).1
        };
        let by_version = cargo(ChaliceSource::Version(CHALICE_VERSION.to_owned()));
        assert!(
            by_version.contains(&format!("chalice-runtime = \"{CHALICE_VERSION}\"\n")),
            "{by_version}"
        );
        assert!(by_version.contains(&format!("chalice-codegen = \"{CHALICE_VERSION}\"\n")));
        assert!(by_version.contains("name = \"orders\""));
        assert!(by_version.contains("[[bin]]\nname = \"bootstrap\""));
        let by_path = cargo(ChaliceSource::Path(PathBuf::from("/src/chalice \"rs\"")));
        assert!(
            by_path.contains(r#"chalice-runtime = { path = "/src/chalice \"rs\"/runtime" }"#),
            "{by_path}"
        );
        assert!(by_path.contains(r#"chalice-codegen = { path = "/src/chalice \"rs\"/codegen" }"#));
        let by_git = cargo(ChaliceSource::Git {
            url: "https://example.com/c.git".to_owned(),
            rev: Some("v0.1.0".to_owned()),
        });
        assert!(
            by_git.contains(
                r#"chalice-runtime = { git = "https://example.com/c.git", rev = "v0.1.0" }"#
            ),
            "{by_git}"
        );
        let no_rev = cargo(ChaliceSource::Git {
            url: "https://example.com/c.git".to_owned(),
            rev: None,
        });
        assert!(no_rev.contains(r#"chalice-codegen = { git = "https://example.com/c.git" }"#));
        for text in [&by_version, &by_path, &by_git, &no_rev] {
            assert!(!text.contains("{{"), "{text}");
        }
    }

    #[test]
    fn a_checkout_must_hold_both_crates() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve_source(ChaliceSource::Path(dir.path().to_owned())).unwrap_err();
        assert!(err.to_string().contains("no runtime/Cargo.toml"), "{err}");
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let ChaliceSource::Path(resolved) = resolve_source(ChaliceSource::Path(root)).unwrap()
        else {
            panic!("not a path");
        };
        assert!(resolved.is_absolute() && resolved.join("runtime").is_dir());
        assert!(matches!(
            resolve_source(ChaliceSource::Version(" ".to_owned())),
            Err(ScaffoldError::EmptyValue { .. })
        ));
    }

    #[test]
    fn never_writes_into_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        let err = create(&app("orders", dir.path())).unwrap_err();
        assert!(matches!(err, ScaffoldError::NotEmpty { .. }), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let file = dir.path().join("keep.txt");
        let err = create(&app("orders", &file)).unwrap_err();
        assert!(matches!(err, ScaffoldError::NotADirectory { .. }), "{err}");
    }

    #[test]
    fn creates_every_file_in_a_new_or_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/orders");
        let created = create(&app("orders", &target)).unwrap();
        assert_eq!(created.files, FILES);
        for file in FILES {
            assert!(target.join(file).is_file(), "{file}");
        }
        let main = std::fs::read_to_string(target.join("src/main.rs")).unwrap();
        assert!(
            main.contains("async fn hourly(&self, event: ScheduleEvent"),
            "{main}"
        );
        assert!(
            main.contains("chalice_runtime::include_handlers!()"),
            "{main}"
        );

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(create(&app("orders", &empty)).is_ok());
    }
}
