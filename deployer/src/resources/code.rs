//! The code a deploy ships, as the resources see it: its hashes per architecture.

use std::collections::BTreeMap;

/// One code zip's hashes (the zip itself stays with the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDigest {
    /// base64 sha256: Lambda's `CodeSha256`.
    pub sha256: String,
    pub sha256_hex: String,
    pub size: usize,
}

/// The code per architecture (`x86_64`, `arm64`); empty when not known (`plan` without a bootstrap).
pub type CodeSet = BTreeMap<String, CodeDigest>;
