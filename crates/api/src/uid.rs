//! Where new objects' `metadata.uid`s come from: the kernel's random UUID
//! (`/proc/sys/kernel/random/uuid`, a version-4 UUID per read), so no UUID crate is needed.
//!
//! Should that file be unreadable (a restricted sandbox), a uid is made from the wall clock, the
//! process id and a counter: not random, but unique within the machine, which is all a uid has
//! to be for podnet (one datastore per cluster).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The kernel's source of random UUIDs.
pub const KERNEL_UUID: &str = "/proc/sys/kernel/random/uuid";

/// Length of a UUID in its text form.
const UUID_LEN: usize = 36;

/// A fresh uid (see the module doc).
pub fn new_uid() -> String {
    match std::fs::read_to_string(KERNEL_UUID) {
        Ok(text) if is_uuid(text.trim()) => text.trim().to_owned(),
        _ => fallback_uid(),
    }
}

/// Whether `text` has the shape `8-4-4-4-12` of lowercase hex digits.
pub fn is_uuid(text: &str) -> bool {
    text.len() == UUID_LEN
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

fn fallback_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let hi = (nanos >> 64) as u64 ^ u64::from(std::process::id());
    let lo = nanos as u64;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        (lo >> 32) as u32,
        (lo >> 16) as u16,
        lo as u16,
        (hi as u16) ^ (count >> 48) as u16,
        count & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_uuids_and_distinct() {
        let (a, b) = (new_uid(), new_uid());
        assert!(is_uuid(&a), "{a}");
        assert_ne!(a, b);
        let (c, d) = (fallback_uid(), fallback_uid());
        assert!(is_uuid(&c), "{c}");
        assert_ne!(c, d);
    }

    #[test]
    fn shape() {
        assert!(is_uuid("0b6f7d2c-3f5e-4c1a-9a57-5d7c1f0e2b9a"));
        for bad in [
            "",
            "0b6f7d2c3f5e4c1a9a575d7c1f0e2b9a",
            "0B6F7D2C-3F5E-4C1A-9A57-5D7C1F0E2B9A",
            "0b6f7d2c-3f5e-4c1a-9a57-5d7c1f0e2b9g",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
