//! The handler manifest every `bootstrap` embeds: the app's name and its handlers (name and kind,
//! in file order), framed so that it is found by scanning the binary's bytes. The deployer reads
//! it to check that a prebuilt binary, even one for another architecture, serves the app file.
//!
//! The frame is [`MAGIC`], two hex digits of [`VERSION`], eight hex digits of the JSON's length in
//! bytes, then the JSON: `{"app":"orders","handlers":[{"name":"on_order","kind":"queue"}]}`.
//! It holds only what the binary's dispatch depends on, so editing a function's settings (memory,
//! env...) changes neither the manifest nor the binary.

use serde::{Deserialize, Serialize};

use crate::ast::Kind;
use crate::model::Model;

/// Starts every frame.
pub const MAGIC: &[u8] = b"chalice-rs:handler-manifest:";
/// The frame and JSON layout this crate writes and reads.
pub const VERSION: u8 = 1;
/// Hex digits of the version, then of the JSON's length.
const VERSION_DIGITS: usize = 2;
const LENGTH_DIGITS: usize = 8;

/// What a bootstrap serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `app NAME`
    pub app: String,
    /// Every handler, in file order.
    pub handlers: Vec<HandlerEntry>,
}

/// One handler a bootstrap serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerEntry {
    pub name: String,
    pub kind: Kind,
}

impl Manifest {
    /// The manifest of the bootstrap built from `model`.
    pub fn of(model: &Model) -> Manifest {
        Manifest {
            app: model.app.clone(),
            handlers: model
                .handlers
                .iter()
                .map(|h| HandlerEntry {
                    name: h.name.clone(),
                    kind: h.kind(),
                })
                .collect(),
        }
    }
}

/// Why a frame that starts with [`MAGIC`] could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(
        "the handler manifest at byte {at} is cut short: {needed} more bytes expected, {left} left"
    )]
    Truncated {
        at: usize,
        needed: usize,
        left: usize,
    },
    #[error("the handler manifest at byte {at} has a malformed header {header:?}")]
    BadHeader { at: usize, header: String },
    #[error(
        "the handler manifest at byte {at} is version {version}, this build reads version {VERSION}: build the bootstrap and the deployer from the same chalice-rs"
    )]
    UnsupportedVersion { at: usize, version: u8 },
    #[error("the handler manifest at byte {at} is not valid JSON of a manifest")]
    BadJson {
        at: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// The frame holding `manifest`.
pub fn encode(manifest: &Manifest) -> Vec<u8> {
    // Cannot fail: strings and a list of them.
    let json = serde_json::to_vec(manifest).unwrap_or_else(|e| {
        unreachable!("a manifest always serialises to JSON: {e}");
    });
    let mut frame = MAGIC.to_vec();
    frame.extend_from_slice(format!("{VERSION:02x}{:08x}", json.len()).as_bytes());
    frame.extend_from_slice(&json);
    frame
}

/// The first manifest framed in `bytes` (a binary's content). `Ok(None)` when [`MAGIC`] is not
/// there; when it is but no occurrence decodes, the first occurrence's error.
pub fn find(bytes: &[u8]) -> Result<Option<Manifest>, ManifestError> {
    let mut first_error = None;
    let mut from = 0;
    while let Some(offset) = bytes[from..]
        .windows(MAGIC.len())
        .position(|window| window == MAGIC)
    {
        let at = from + offset;
        match decode_at(bytes, at) {
            Ok(manifest) => return Ok(Some(manifest)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        from = at + 1;
    }
    first_error.map_or(Ok(None), Err)
}

/// The manifest framed at `bytes[at..]`, which starts with [`MAGIC`].
fn decode_at(bytes: &[u8], at: usize) -> Result<Manifest, ManifestError> {
    let header_start = at + MAGIC.len();
    let header = take(bytes, at, header_start, VERSION_DIGITS + LENGTH_DIGITS)?;
    let (version, length) = header.split_at(VERSION_DIGITS);
    let bad_header = || ManifestError::BadHeader {
        at,
        header: String::from_utf8_lossy(header).into_owned(),
    };
    let version = hex(version).ok_or_else(bad_header)?;
    if version != u32::from(VERSION) {
        return Err(ManifestError::UnsupportedVersion {
            at,
            version: u8::try_from(version).unwrap_or(u8::MAX),
        });
    }
    let length = hex(length)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(bad_header)?;
    let json = take(bytes, at, header_start + header.len(), length)?;
    serde_json::from_slice(json).map_err(|source| ManifestError::BadJson { at, source })
}

/// `bytes[start..start + len]`, or how short it falls (for the frame at `at`).
fn take(bytes: &[u8], at: usize, start: usize, len: usize) -> Result<&[u8], ManifestError> {
    bytes
        .get(start..)
        .and_then(|rest| rest.get(..len))
        .ok_or(ManifestError::Truncated {
            at,
            needed: len,
            left: bytes.len().saturating_sub(start),
        })
}

/// A number written in lowercase or uppercase hex digits only.
fn hex(digits: &[u8]) -> Option<u32> {
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orders() -> Manifest {
        Manifest {
            app: "orders".into(),
            handlers: vec![
                HandlerEntry {
                    name: "every_hour".into(),
                    kind: Kind::Schedule,
                },
                HandlerEntry {
                    name: "on_order".into(),
                    kind: Kind::Queue,
                },
            ],
        }
    }

    /// Bytes that look like a binary's: every value, from a fixed seed.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|_| {
                // xorshift64
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn the_frame_is_magic_version_length_json() {
        let frame = encode(&orders());
        let json = r#"{"app":"orders","handlers":[{"name":"every_hour","kind":"schedule"},{"name":"on_order","kind":"queue"}]}"#;
        let expected = format!("chalice-rs:handler-manifest:01{:08x}{json}", json.len());
        assert_eq!(String::from_utf8(frame).unwrap(), expected);
    }

    #[test]
    fn round_trips_alone_and_inside_other_bytes() {
        let frame = encode(&orders());
        assert_eq!(find(&frame).unwrap(), Some(orders()));
        for seed in 1..20 {
            let mut binary = noise(10_000, seed);
            let at = (seed as usize * 487) % binary.len();
            binary.splice(at..at, frame.iter().copied());
            assert_eq!(find(&binary).unwrap(), Some(orders()), "seed {seed}");
        }
        let empty = Manifest {
            app: "empty".into(),
            handlers: vec![],
        };
        assert_eq!(find(&encode(&empty)).unwrap(), Some(empty));
    }

    #[test]
    fn no_magic_is_no_manifest() {
        assert_eq!(find(b"").unwrap(), None);
        assert_eq!(find(&noise(100_000, 7)).unwrap(), None);
        assert_eq!(find(&MAGIC[..MAGIC.len() - 1]).unwrap(), None);
    }

    #[test]
    fn the_first_occurrence_that_decodes_wins() {
        let other = Manifest {
            app: "other".into(),
            handlers: vec![],
        };
        // The bare magic (as in a binary that links this module), then two frames.
        let mut bytes = b"xx".to_vec();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(b"zz");
        bytes.extend(encode(&orders()));
        bytes.extend(encode(&other));
        assert_eq!(find(&bytes).unwrap(), Some(orders()));
        // A magic overlapping the frame's own start.
        let mut doubled = MAGIC[..5].to_vec();
        doubled.extend(encode(&other));
        assert_eq!(find(&doubled).unwrap(), Some(other));
    }

    #[test]
    fn truncated_frames_are_refused() {
        let frame = encode(&orders());
        for cut in [
            MAGIC.len(),
            MAGIC.len() + 5,
            MAGIC.len() + 10,
            frame.len() - 1,
        ] {
            let err = find(&frame[..cut]).unwrap_err();
            assert!(
                matches!(err, ManifestError::Truncated { at: 0, .. }),
                "cut at {cut}: {err:?}"
            );
        }
        let err = find(&frame[..frame.len() - 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the handler manifest at byte 0 is cut short: 104 more bytes expected, 103 left"
        );
    }

    #[test]
    fn garbled_frames_are_refused() {
        let frame = encode(&orders());
        let header = MAGIC.len();
        let garble = |at: usize, byte: u8| {
            let mut bad = b"0123".to_vec();
            bad.extend_from_slice(&frame);
            bad[4 + at] = byte;
            find(&bad).unwrap_err()
        };
        assert!(matches!(
            garble(header, b'x'),
            ManifestError::BadHeader { at: 4, .. }
        ));
        assert!(matches!(
            garble(header + 2, b'+'),
            ManifestError::BadHeader { .. }
        ));
        assert!(matches!(
            garble(header + 1, b'2'),
            ManifestError::UnsupportedVersion { version: 2, .. }
        ));
        // The JSON's first byte, a closing bracket, a kind no bootstrap has.
        assert!(matches!(
            garble(header + 10, b'['),
            ManifestError::BadJson { at: 4, .. }
        ));
        assert!(matches!(
            garble(frame.len() - 1, b' '),
            ManifestError::BadJson { .. }
        ));
        let text = String::from_utf8(frame.clone())
            .unwrap()
            .replace("queue", "qveue");
        assert!(matches!(
            find(text.as_bytes()).unwrap_err(),
            ManifestError::BadJson { .. }
        ));
        // A length pointing past the JSON's end: the bytes after it are not part of it.
        let long = String::from_utf8(frame)
            .unwrap()
            .replace("01000000", "01000001");
        assert!(find(long.as_bytes()).is_err());
    }

    #[test]
    fn a_garbled_frame_does_not_hide_a_good_one() {
        let mut bytes = encode(&orders());
        bytes.truncate(bytes.len() / 2);
        bytes.extend(encode(&orders()));
        assert_eq!(find(&bytes).unwrap(), Some(orders()));
    }

    #[test]
    fn of_a_model_lists_handlers_in_file_order() {
        let model = crate::load(
            "events.chalice",
            "app orders\nqueue on_order \"q\"\nschedule every_hour rate(1 hour)\n",
        )
        .unwrap();
        let manifest = Manifest::of(&model);
        assert_eq!(manifest.app, "orders");
        let handlers: Vec<(&str, Kind)> = manifest
            .handlers
            .iter()
            .map(|h| (h.name.as_str(), h.kind))
            .collect();
        assert_eq!(
            handlers,
            [("on_order", Kind::Queue), ("every_hour", Kind::Schedule)]
        );
    }

    #[test]
    fn settings_do_not_change_it() {
        let plain = crate::load("e", "app orders\nqueue on_order \"q\"\n").unwrap();
        let tuned = crate::load(
            "e",
            "app orders\ndefaults { memory = 1024, env { AB = \"c\" } }\nstage prod\nqueue on_order \"other-q\" { batch_size = 5, timeout = 5s }\n",
        )
        .unwrap();
        assert_eq!(encode(&Manifest::of(&plain)), encode(&Manifest::of(&tuned)));
        let renamed = crate::load("e", "app orders\nqueue on_orders \"q\"\n").unwrap();
        assert_ne!(Manifest::of(&plain), Manifest::of(&renamed));
        let rekinded = crate::load("e", "app orders\ntopic on_order \"q\"\n").unwrap();
        assert_ne!(Manifest::of(&plain), Manifest::of(&rekinded));
    }
}
