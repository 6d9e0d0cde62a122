//! What a file handed over as a `bootstrap` is: a 64-bit little-endian Linux ELF executable, and
//! for which machine, or else what it is instead (a Mach-O build, a script...).
//!
//! Only the ELF header's first 32 bytes are read: identification, `e_type`, `e_machine`, `e_entry`.

use std::fmt;

use chalice_codegen::model::Architecture;

/// `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFOSABI_NONE: u8 = 0;
const ELFOSABI_LINUX: u8 = 3;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// Bytes of the header read: up to and including `e_entry`.
const HEADER_READ: usize = 32;

/// The instruction set an ELF file's `e_machine` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// `EM_X86_64` (62).
    X86_64,
    /// `EM_AARCH64` (183).
    Aarch64,
    /// Any other `e_machine`.
    Other(u16),
}

impl Machine {
    /// The machine of an `e_machine` value.
    pub fn from_e_machine(value: u16) -> Machine {
        match value {
            EM_X86_64 => Machine::X86_64,
            EM_AARCH64 => Machine::Aarch64,
            other => Machine::Other(other),
        }
    }

    /// The machine Lambda's `architecture` runs.
    pub fn of(architecture: Architecture) -> Machine {
        match architecture {
            Architecture::X86_64 => Machine::X86_64,
            Architecture::Arm64 => Machine::Aarch64,
        }
    }

    /// The Lambda architecture that runs it, if any.
    pub fn architecture(self) -> Option<Architecture> {
        match self {
            Machine::X86_64 => Some(Architecture::X86_64),
            Machine::Aarch64 => Some(Architecture::Arm64),
            Machine::Other(_) => None,
        }
    }

    /// The machine this deployer was compiled for, when it is one Lambda runs.
    pub fn host() -> Option<Machine> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Machine::X86_64),
            "aarch64" => Some(Machine::Aarch64),
            _ => None,
        }
    }
}

impl fmt::Display for Machine {
    /// `x86_64 (EM_X86_64)`, `aarch64 (EM_AARCH64)`, `e_machine 40 (EM_ARM)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Machine::X86_64 => write!(f, "x86_64 (EM_X86_64)"),
            Machine::Aarch64 => write!(f, "aarch64 (EM_AARCH64)"),
            Machine::Other(n) => {
                let name = match n {
                    3 => " (EM_386, 32-bit x86)",
                    40 => " (EM_ARM, 32-bit Arm)",
                    243 => " (EM_RISCV)",
                    _ => "",
                };
                write!(f, "e_machine {n}{name}")
            }
        }
    }
}

/// A 64-bit little-endian ELF executable for Linux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executable {
    pub machine: Machine,
}

/// What a file is, when it is not a 64-bit little-endian Linux ELF executable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotLinuxExecutable {
    #[error("an empty file")]
    Empty,
    #[error(
        "a Mach-O binary (a macOS build): Lambda runs Linux ELF binaries; build it with \
         `--target x86_64-unknown-linux-musl` or `aarch64-unknown-linux-musl`"
    )]
    MachO,
    #[error("a script (`{first_line}`), not a compiled binary")]
    Script { first_line: String },
    #[error("a Windows (PE) executable, not a Linux one")]
    Windows,
    #[error("a zip archive, not an executable")]
    Zip,
    #[error("a truncated ELF file (shorter than its header)")]
    Truncated,
    #[error("a 32-bit ELF file; Lambda runs 64-bit binaries")]
    ThirtyTwoBit,
    #[error("a big-endian ELF file; Lambda's x86_64 and arm64 are little-endian")]
    BigEndian,
    #[error("an ELF file for another operating system (OS ABI {abi}), not Linux")]
    OtherOs { abi: u8 },
    #[error("an ELF {what}, not an executable")]
    NotExecutable { what: &'static str },
    #[error("not an executable this deployer recognises (it starts with {first_bytes})")]
    Unknown { first_bytes: String },
}

/// Reads `bytes`' ELF header: the machine of a 64-bit little-endian Linux executable, or what the
/// file is instead.
pub fn inspect(bytes: &[u8]) -> Result<Executable, NotLinuxExecutable> {
    if bytes.is_empty() {
        return Err(NotLinuxExecutable::Empty);
    }
    if !bytes.starts_with(ELF_MAGIC) {
        return Err(not_elf(bytes));
    }
    if bytes.len() < HEADER_READ {
        return Err(NotLinuxExecutable::Truncated);
    }
    if bytes[4] != ELFCLASS64 {
        return Err(NotLinuxExecutable::ThirtyTwoBit);
    }
    if bytes[5] != ELFDATA2LSB {
        return Err(NotLinuxExecutable::BigEndian);
    }
    let abi = bytes[7];
    if abi != ELFOSABI_NONE && abi != ELFOSABI_LINUX {
        return Err(NotLinuxExecutable::OtherOs { abi });
    }
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let e_type = u16_at(16);
    let e_entry = bytes[24..32]
        .iter()
        .rev()
        .fold(0u64, |n, b| n << 8 | u64::from(*b));
    match e_type {
        ET_EXEC => {}
        // Position-independent (and static-pie, as Rust's musl builds are) executables; a shared
        // library has the same type, but usually no entry point.
        ET_DYN if e_entry != 0 => {}
        ET_DYN => {
            return Err(NotLinuxExecutable::NotExecutable {
                what: "shared library",
            });
        }
        1 => {
            return Err(NotLinuxExecutable::NotExecutable {
                what: "object file",
            });
        }
        4 => return Err(NotLinuxExecutable::NotExecutable { what: "core dump" }),
        _ => return Err(NotLinuxExecutable::NotExecutable { what: "file" }),
    }
    Ok(Executable {
        machine: Machine::from_e_machine(u16_at(18)),
    })
}

/// What a file that is not ELF is, from its first bytes.
fn not_elf(bytes: &[u8]) -> NotLinuxExecutable {
    const MACH_O: [[u8; 4]; 5] = [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
        // A universal (fat) binary.
        [0xca, 0xfe, 0xba, 0xbe],
    ];
    if MACH_O.iter().any(|m| bytes.starts_with(m)) {
        return NotLinuxExecutable::MachO;
    }
    if bytes.starts_with(b"#!") {
        let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(&line[..line.len().min(80)]);
        return NotLinuxExecutable::Script {
            first_line: line.trim_end().to_owned(),
        };
    }
    if bytes.starts_with(b"MZ") {
        return NotLinuxExecutable::Windows;
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return NotLinuxExecutable::Zip;
    }
    NotLinuxExecutable::Unknown {
        first_bytes: bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ELF header: 64-bit, little-endian, System V ABI, `e_type`, `e_machine`, an entry.
    pub(crate) fn header(e_type: u16, e_machine: u16) -> Vec<u8> {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(ELF_MAGIC);
        h[4] = ELFCLASS64;
        h[5] = ELFDATA2LSB;
        h[6] = 1;
        h[16..18].copy_from_slice(&e_type.to_le_bytes());
        h[18..20].copy_from_slice(&e_machine.to_le_bytes());
        h[20..24].copy_from_slice(&1u32.to_le_bytes());
        h[24..32].copy_from_slice(&0x40_1000u64.to_le_bytes());
        h
    }

    #[test]
    fn x86_64_and_aarch64_executables() {
        assert_eq!(
            inspect(&header(ET_EXEC, EM_X86_64)),
            Ok(Executable {
                machine: Machine::X86_64
            })
        );
        // static-pie, as `cargo build --target *-unknown-linux-musl` makes them.
        let arm = inspect(&header(ET_DYN, EM_AARCH64)).unwrap();
        assert_eq!(arm.machine, Machine::Aarch64);
        assert_eq!(arm.machine.architecture(), Some(Architecture::Arm64));
        assert_eq!(Machine::of(Architecture::X86_64), Machine::X86_64);
        assert_eq!(arm.machine.to_string(), "aarch64 (EM_AARCH64)");
        let mut linux_abi = header(ET_EXEC, EM_X86_64);
        linux_abi[7] = ELFOSABI_LINUX;
        assert!(inspect(&linux_abi).is_ok());
    }

    #[test]
    fn other_machines_are_named() {
        let found = inspect(&header(ET_EXEC, 40)).unwrap().machine;
        assert_eq!(found, Machine::Other(40));
        assert_eq!(found.architecture(), None);
        assert_eq!(found.to_string(), "e_machine 40 (EM_ARM, 32-bit Arm)");
    }

    #[test]
    fn elf_files_that_are_not_linux_64_bit_le_executables() {
        let mut h = header(ET_EXEC, EM_X86_64);
        h[4] = 1;
        assert_eq!(inspect(&h), Err(NotLinuxExecutable::ThirtyTwoBit));
        let mut h = header(ET_EXEC, EM_X86_64);
        h[5] = 2;
        assert_eq!(inspect(&h), Err(NotLinuxExecutable::BigEndian));
        let mut h = header(ET_EXEC, EM_X86_64);
        h[7] = 9;
        assert_eq!(inspect(&h), Err(NotLinuxExecutable::OtherOs { abi: 9 }));
        assert_eq!(
            inspect(&header(1, EM_X86_64)),
            Err(NotLinuxExecutable::NotExecutable {
                what: "object file"
            })
        );
        let mut library = header(ET_DYN, EM_X86_64);
        library[24..32].fill(0);
        assert_eq!(
            inspect(&library),
            Err(NotLinuxExecutable::NotExecutable {
                what: "shared library"
            })
        );
        assert_eq!(
            inspect(&header(ET_EXEC, EM_X86_64)[..20]),
            Err(NotLinuxExecutable::Truncated)
        );
    }

    #[test]
    fn a_mach_o_build_is_named_with_the_fix() {
        let err = inspect(b"\xcf\xfa\xed\xfe\x0c\x00\x00\x01rest").unwrap_err();
        assert_eq!(err, NotLinuxExecutable::MachO);
        assert!(err.to_string().contains("macOS"), "{err}");
        assert!(err.to_string().contains("unknown-linux-musl"), "{err}");
        assert_eq!(
            inspect(b"\xca\xfe\xba\xbe...").unwrap_err(),
            NotLinuxExecutable::MachO
        );
    }

    #[test]
    fn scripts_and_other_files() {
        let err = inspect(b"#!/bin/sh\nexit 0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a script (`#!/bin/sh`), not a compiled binary"
        );
        assert_eq!(inspect(b"").unwrap_err(), NotLinuxExecutable::Empty);
        assert_eq!(
            inspect(b"MZ\x90\x00").unwrap_err(),
            NotLinuxExecutable::Windows
        );
        assert_eq!(
            inspect(b"PK\x03\x04....").unwrap_err(),
            NotLinuxExecutable::Zip
        );
        assert_eq!(
            inspect(b"hello").unwrap_err().to_string(),
            "not an executable this deployer recognises (it starts with 68 65 6c 6c)"
        );
    }
}
