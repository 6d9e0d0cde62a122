//! A project directory as the `deployer` sees one: a temporary directory with an app file and,
//! for deploys against moto, a stand-in bootstrap ([`fake_bootstrap`], the only place one is made);
//! the example app of the repository; the plan codegen makes of an app ([`plan_of`]).

use std::path::{Path, PathBuf};

use chalice_codegen::manifest::{self, Manifest};
use chalice_codegen::plan::Plan;

pub use crate::support::bootstrap::workspace;

/// The app file's name.
pub const APP_FILE: &str = "events.chalice";
/// The stage tests deploy and plan.
pub const STAGE: &str = "dev";

/// `e_machine` of x86-64 ELF binaries.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64 ELF binaries.
pub const EM_AARCH64: u16 = 183;

/// The 64-byte header of a 64-bit little-endian Linux ELF executable for `e_machine` (what the
/// deployer reads of a `--bootstrap` to check its architecture).
pub fn elf_header(e_machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // ELFDATA2LSB
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&e_machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[24..32].copy_from_slice(&0x40_1000u64.to_le_bytes()); // e_entry
    h
}

/// The bytes of a stand-in bootstrap for `app_source` (`version` tells versions apart: another
/// version is other code, a new code hash): an x86_64 one, as [`fake_bootstrap_for`] makes them.
pub fn fake_bootstrap(app_source: &str, version: &str) -> Vec<u8> {
    fake_bootstrap_for(app_source, version, EM_X86_64)
}

/// A stand-in bootstrap for `app_source` built for `e_machine`. moto stores function code without
/// running it, so an ELF header (the deployer checks each binary's machine against its functions'
/// architecture) followed by text serves, carrying the handler manifest a real build of
/// `app_source` embeds (the deployer refuses a bootstrap whose manifest does not match the app
/// file). Every test that deploys with `--bootstrap FILE` against moto gets FILE from here.
pub fn fake_bootstrap_for(app_source: &str, version: &str, e_machine: u16) -> Vec<u8> {
    let model = chalice_codegen::load(APP_FILE, app_source)
        .unwrap_or_else(|d| panic!("test app does not load:\n{}", d.render(false)));
    let mut bytes = elf_header(e_machine);
    bytes.extend(
        format!("\n# stand-in bootstrap {version}: moto stores it, never runs it\n# ").into_bytes(),
    );
    bytes.extend(manifest::encode(&Manifest::of(&model)));
    bytes.push(b'\n');
    bytes
}

/// [`fake_bootstrap`] followed by bytes that do not compress, `len` bytes in all (a release bootstrap
/// zips to about 1 MB: the deploy bench uploads as much).
pub fn fake_bootstrap_of_size(app_source: &str, version: &str, len: usize) -> Vec<u8> {
    let mut bytes = fake_bootstrap(app_source, version);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push((x >> 24) as u8);
    }
    bytes
}

/// The plan codegen makes for `source`'s [`STAGE`] (what the deployer is asked to make real).
pub fn plan_of(source: &str) -> Plan {
    try_plan_of(source).unwrap_or_else(|e| panic!("test app does not plan:\n{e}"))
}

/// [`plan_of`], its failure as text.
pub fn try_plan_of(source: &str) -> Result<Plan, String> {
    let model = chalice_codegen::load(APP_FILE, source).map_err(|d| d.render(false))?;
    chalice_codegen::emit_plan::plan(&model, STAGE).map_err(|e| e.to_string())
}

/// The repository's example app file (`events.chalice` at the workspace root).
pub fn example_app() -> PathBuf {
    workspace().join(APP_FILE)
}

/// The example app's source.
pub fn example_source() -> String {
    std::fs::read_to_string(example_app()).expect("read the example app")
}

/// A temporary project directory, removed when dropped.
pub struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A directory with `app_source` as its app file.
    pub fn new(app_source: &str) -> Project {
        let project = Project::empty();
        project.write_app(app_source);
        project
    }

    /// A directory with no file in it.
    pub fn empty() -> Project {
        Project {
            dir: tempfile::tempdir().expect("project dir"),
        }
    }

    /// A directory holding a copy of the example app.
    pub fn example() -> Project {
        Project::new(&example_source())
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` in the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The app file's path.
    pub fn app(&self) -> PathBuf {
        self.join(APP_FILE)
    }

    pub fn app_source(&self) -> String {
        std::fs::read_to_string(self.app()).expect("read app")
    }

    pub fn write_app(&self, source: &str) {
        std::fs::write(self.app(), source).expect("write app");
    }

    /// Writes [`fake_bootstrap`] for the app file as it is now to `name`; its path.
    pub fn write_fake_bootstrap(&self, name: &str, version: &str) -> PathBuf {
        self.write_fake_bootstrap_for(name, version, EM_X86_64)
    }

    /// Writes [`fake_bootstrap_for`] `e_machine` for the app file as it is now to `name`; its path.
    pub fn write_fake_bootstrap_for(&self, name: &str, version: &str, e_machine: u16) -> PathBuf {
        let path = self.join(name);
        std::fs::write(
            &path,
            fake_bootstrap_for(&self.app_source(), version, e_machine),
        )
        .expect("write bootstrap");
        path
    }

    /// Writes an executable file (a script) to `name`; its path.
    #[cfg(unix)]
    pub fn write_executable(&self, name: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.join(name);
        std::fs::write(&path, text).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make it executable");
        path
    }

    /// The deploy record of `stage`.
    pub fn state_file(&self, stage: &str) -> PathBuf {
        self.join(".chalice-rs/deployed")
            .join(format!("{stage}.json"))
    }
}
